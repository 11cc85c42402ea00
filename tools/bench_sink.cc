#include "omni/tools/bench_sink.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>
#include <vector>

#include "omni/redis_backend.h"
#include "omni/storage.h"

namespace omni::tools {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// A redis-server child on a unix socket in `dir` (--port 0: no TCP port, so no
// race for one), without persistence; stopped (SIGTERM, waited for) on
// destruction. tests/redis_server.h does the same for the tests, but it is test
// code (and binds a TCP port); the tool needs only this much.
class ScratchRedis {
 public:
  ScratchRedis() = default;
  ScratchRedis(const ScratchRedis&) = delete;  // owns a child process
  ScratchRedis& operator=(const ScratchRedis&) = delete;
  ~ScratchRedis() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st = 0;
      while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
      }
    }
  }

  Status start(const std::string& exe, const fs::path& dir) {
    socket_ = (dir / "redis.sock").string();
    std::vector<std::string> args{exe,       "--port",   "0",  "--unixsocket", socket_, "--unixsocketperm",
                                  "700",     "--dir",    dir.string(), "--save", "", "--appendonly", "no",
                                  "--daemonize", "no", "--logfile", (dir / "redis.log").string()};
    const pid_t pid = fork();
    if (pid < 0) return Status::unavailable("cannot fork redis-server");
    if (pid == 0) {
      const int null = open("/dev/null", O_RDWR);
      dup2(null, STDIN_FILENO);
      dup2(null, STDOUT_FILENO);
      dup2(null, STDERR_FILENO);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp(argv[0], argv.data());
      _exit(127);
    }
    pid_ = pid;
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (Clock::now() < deadline) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return Status::unavailable("redis-server ('" + exe + "') exited at start: is it installed? (see " +
                                   (dir / "redis.log").string() + ")");
      }
      if (redisContext* c = redisConnectUnix(socket_.c_str()); c != nullptr) {
        const bool up = c->err == 0 && [&] {
          auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
          const bool pong = r != nullptr && r->type == REDIS_REPLY_STATUS;
          if (r) freeReplyObject(r);
          return pong;
        }();
        redisFree(c);
        if (up) return Status();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return Status::unavailable("redis-server did not answer PING within 20 s");
  }
  const std::string& socket() const { return socket_; }

 private:
  pid_t pid_ = -1;
  std::string socket_;
};

std::string key_of(std::uint64_t i) { return "bench:" + std::to_string(i); }

// The raw baseline: HSET P<key> _seq <seq> v <json>, pipelined `kPipeline` deep.
Result<BenchFigure> raw_hset(const std::string& socket, std::uint64_t events, const std::string& value_json,
                             Progress& progress) {
  constexpr std::uint64_t kPipeline = 1000;
  redisContext* c = redisConnectUnix(socket.c_str());
  if (c == nullptr || c->err) {
    if (c) redisFree(c);
    return Status::unavailable("cannot connect to the scratch redis-server");
  }
  BenchFigure f{.name = "raw hiredis HSET", .ops = events};
  progress.start("bench sink: raw HSET", events);
  const auto t0 = Clock::now();
  Status failed;
  for (std::uint64_t i = 0; i < events && failed.ok();) {
    const std::uint64_t n = std::min(kPipeline, events - i);
    for (std::uint64_t j = 0; j < n; ++j) {
      const std::string key = "raw:" + key_of(i + j);
      const std::string seq = std::to_string(i + j + 1);
      const char* argv[] = {"HSET", key.c_str(), "_seq", seq.c_str(), "v", value_json.c_str()};
      const std::size_t lens[] = {4, key.size(), 4, seq.size(), 1, value_json.size()};
      redisAppendCommandArgv(c, 6, argv, lens);
    }
    for (std::uint64_t j = 0; j < n; ++j) {
      void* reply = nullptr;
      if (redisGetReply(c, &reply) != REDIS_OK || reply == nullptr ||
          static_cast<redisReply*>(reply)->type == REDIS_REPLY_ERROR) {
        failed = Status::unavailable("a pipelined HSET failed");
      }
      if (reply) freeReplyObject(reply);
      if (!failed.ok()) break;
    }
    i += n;
    progress.update(i);
  }
  f.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  progress.finish(events);
  redisFree(c);
  OMNI_RETURN_IF_ERROR(failed);
  return f;
}

}  // namespace

Result<BenchReport> run_bench_sink(const BenchSinkOptions& o, Progress& progress) {
  if (o.events == 0) return Status::invalid_argument("--events must be at least 1");
  std::random_device rd;
  const fs::path dir = (o.dir.empty() ? fs::temp_directory_path() : fs::path(o.dir)) /
                       ("omni-bench-sink-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
  std::error_code ec;
  fs::create_directories(dir / "redis", ec);
  if (ec) return Status::io_error("cannot create the scratch directory '" + dir.string() + "': " + ec.message());
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code e;
      fs::remove_all(p, e);
    }
  } cleanup{dir};

  BenchReport report;
  {
    ScratchRedis redis;
    OMNI_RETURN_IF_ERROR(redis.start(o.redis_server, dir / "redis"));
    RedisOptions ro;
    ro.unix_socket = redis.socket();
    OMNI_ASSIGN_OR_RETURN(std::unique_ptr<RedisBackend> backend, RedisBackend::create(ro));
    OMNI_ASSIGN_OR_RETURN(std::unique_ptr<Storage> store, Storage::open({.path = (dir / "store").string()}));
    OMNI_RETURN_IF_ERROR(store->set_sync_strategy(SyncStrategy::write_behind));
    store->enable_offline_mode();  // the worker waits: the log fills first (not timed)
    OMNI_RETURN_IF_ERROR(store->add_backend("redis", std::move(backend), 1));
    const Json doc = {{"v", std::string(o.value_bytes, 'x')}};
    progress.start("bench sink: fill the log", o.events);
    Seq last = 0;
    for (std::uint64_t i = 0; i < o.events; ++i) {
      OMNI_ASSIGN_OR_RETURN(last, store->store_data(key_of(i), doc));
      progress.update(i + 1);
    }
    progress.finish(o.events);

    progress.start("bench sink: drain", 0);
    const auto t0 = Clock::now();
    store->disable_offline_mode();
    OMNI_RETURN_IF_ERROR(store->wait_for_backend("redis", last, std::chrono::minutes(30)));
    report.omni = {.name = "log -> Redis drain", .ops = o.events,
                   .seconds = std::chrono::duration<double>(Clock::now() - t0).count()};
    progress.finish(o.events);
    OMNI_RETURN_IF_ERROR(store->close());

    OMNI_ASSIGN_OR_RETURN(report.raw, raw_hset(redis.socket(), o.events, doc["v"].dump(), progress));
  }
  return report;
}

std::string to_text(const BenchReport& r, const BenchSinkOptions& o) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "omni bench sink: %llu documents, %zu-byte values, a scratch redis-server on a unix socket\n"
                "  %-18s %12.0f events/s  (%.3f s)\n"
                "  %-18s %12.0f events/s  (%.3f s, pipelined 1,000 deep)\n"
                "  ratio              %12.2f  (omni drain / raw HSET)\n",
                static_cast<unsigned long long>(o.events), o.value_bytes, r.omni.name.c_str(), r.omni.per_second(),
                r.omni.seconds, r.raw.name.c_str(), r.raw.per_second(), r.raw.seconds, r.ratio());
  return buf;
}

}  // namespace omni::tools
