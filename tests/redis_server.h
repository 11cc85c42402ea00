// omni::testing::RedisServer: a real redis-server (Debian's) for tests and
// benchmarks, started as a child process on a free loopback port and a unix
// socket, in a scratch directory of its own.
//
//   RedisServer redis({.aof = true, .password = "s3cret"});
//   ASSERT_TRUE(redis.start()) << redis.error();
//   RedisOptions o{.url = redis.url()};        // or .unix_socket = redis.socket()
//   redis.cli({"HGETALL", "omni:user:1"});      // redis-cli's output, as text
//   redis.kill();  ASSERT_TRUE(redis.restart()) << redis.error();  // same port and dir
//
// - The port: the kernel picks a free one (bind to port 0); if redis-server still
//   finds it taken (another process won the race) it exits, and start() tries
//   another, up to 5 times.
// - Persistence: none by default (--save '', no AOF), so a restart comes back
//   empty; with aof, appendfsync everysec, and data survive kill() and restart()
//   (at most the last second of writes may be lost).
// - start() and restart() return once PING answers (PONG, or NOAUTH when a
//   password is set); false with error() when it does not within 20 s.
// - stop() is SIGTERM (a clean shutdown), kill() SIGKILL (a crash); both wait for
//   the process (waitpid). The destructor stops it and removes the directory.
// - No gtest in here: benchmarks use it too. Depends on POSIX only.
// [Threading] One thread at a time; cli() may run concurrently with anything that
// talks to the server.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace omni::testing {

class RedisServer {
 public:
  struct Options {
    bool aof = false;                     // appendonly yes, appendfsync everysec
    std::string password;                 // --requirepass when set
    std::vector<std::string> extra_args;  // more redis-server flags ("--maxmemory", "1mb")
  };

  RedisServer() : RedisServer(Options{}) {}
  explicit RedisServer(Options options) : options_(std::move(options)) {
    char tmpl[] = "/tmp/omni-redis-XXXXXX";  // short: a unix socket path is at most 107 bytes
    if (mkdtemp(tmpl) != nullptr) dir_ = tmpl;
  }
  RedisServer(const RedisServer&) = delete;  // owns a child process and a directory
  RedisServer& operator=(const RedisServer&) = delete;
  ~RedisServer() {
    stop();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  // Starts on a fresh free port. False (see error()) when it does not come up.
  [[nodiscard]] bool start() {
    if (dir_.empty()) return fail("mkdtemp failed");
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = free_port();
      if (port_ == 0) return fail("no free loopback port");
      if (launch()) return true;
    }
    return false;
  }
  // Starts again on the same port, socket and directory (after stop() or kill()).
  [[nodiscard]] bool restart() {
    stop();
    return launch();
  }
  void stop() { end(SIGTERM); }
  void kill() { end(SIGKILL); }
  bool running() const { return pid_ > 0; }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& socket() const { return socket_; }
  const std::string& dir() const { return dir_; }
  const std::string& password() const { return options_.password; }
  // What cli() authenticates with from now on (after a CONFIG SET requirepass),
  // and what a restart() requires.
  void set_password(std::string password) { options_.password = std::move(password); }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  const std::string& error() const { return error_; }

  // Runs redis-cli against the unix socket (authenticating when a password is
  // set) with `args`, and returns what it printed on stdout (stderr dropped). Not
  // a tty, so replies come raw: one line per element, nothing quoted.
  std::string cli(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{"redis-cli", "-s", socket_};
    if (!options_.password.empty()) {
      argv.insert(argv.end(), {"-a", options_.password, "--no-auth-warning"});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return run_capture(argv);
  }
  // FLUSHALL through redis-cli; true when it answered OK.
  bool flushall() const { return cli({"FLUSHALL"}) == "OK\n"; }

  // Runs argv (searched in PATH), returns its stdout.
  static std::string run_capture(const std::vector<std::string>& argv) {
    int out[2];
    if (pipe(out) != 0) return {};
    const pid_t pid = fork();
    if (pid == 0) {
      dup2(out[1], STDOUT_FILENO);
      const int null = open("/dev/null", O_WRONLY);
      dup2(null, STDERR_FILENO);
      close(out[0]);
      close(out[1]);
      exec(argv);
    }
    close(out[1]);
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = read(out[0], buf, sizeof buf)) != 0;) {
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      text.append(buf, static_cast<std::size_t>(n));
    }
    close(out[0]);
    int st = 0;
    if (pid > 0) waitpid(pid, &st, 0);
    return text;
  }

 private:
  bool fail(std::string why) {
    error_ = std::move(why);
    return false;
  }

  [[noreturn]] static void exec(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }

  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    int port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port = ntohs(a.sin_port);
    }
    close(fd);
    return port;
  }

  // Forks redis-server and waits for it to answer; false when it exits first
  // (e.g. the port was taken) or stays silent.
  bool launch() {
    socket_ = dir_ + "/redis.sock";
    std::vector<std::string> args{"redis-server", "--bind", "127.0.0.1", "--port", std::to_string(port_),
                                  "--unixsocket", socket_, "--unixsocketperm", "700", "--dir", dir_,
                                  "--save", "", "--daemonize", "no", "--logfile", dir_ + "/redis.log",
                                  "--appendonly", options_.aof ? "yes" : "no"};
    if (options_.aof) args.insert(args.end(), {"--appendfsync", "everysec"});
    if (!options_.password.empty()) args.insert(args.end(), {"--requirepass", options_.password});
    args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
    const pid_t pid = fork();
    if (pid < 0) return fail("fork failed");
    if (pid == 0) {
      const int null = open("/dev/null", O_RDWR);
      dup2(null, STDIN_FILENO);
      dup2(null, STDOUT_FILENO);
      dup2(null, STDERR_FILENO);
      exec(args);
    }
    pid_ = pid;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return fail("redis-server exited at start (see " + dir_ + "/redis.log)");
      }
      if (answers_ping()) {
        error_.clear();
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    end(SIGKILL);
    return fail("redis-server did not answer PING within 20 s");
  }

  // PING over the unix socket; PONG or NOAUTH (a password is set) means ready,
  // LOADING (replaying the AOF) means not yet.
  bool answers_ping() const {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, socket_.c_str(), sizeof a.sun_path - 1);
    bool ok = false;
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      timeval tv{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      const char ping[] = "PING\r\n";
      if (write(fd, ping, sizeof ping - 1) == static_cast<ssize_t>(sizeof ping - 1)) {
        char buf[64] = {};
        const ssize_t n = read(fd, buf, sizeof buf - 1);
        const std::string reply = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
        ok = reply.rfind("+PONG", 0) == 0 || reply.rfind("-NOAUTH", 0) == 0;
      }
    }
    close(fd);
    return ok;
  }

  void end(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int st = 0;
    while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

  Options options_;
  std::string dir_;
  std::string socket_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::string error_;
};

}  // namespace omni::testing
