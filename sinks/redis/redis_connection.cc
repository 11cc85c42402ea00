#include "redis_connection.h"

#include <hiredis/sds.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>

#include "redis_errors.h"

namespace omni::sinks::redis {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

// hiredis 0.14 writes with write(2): a peer that closed raises SIGPIPE, which would
// kill the process. Block it on this thread while we write, and swallow one that
// our write raised (libpq does the same), so a library never touches the process's
// signal dispositions.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  SigpipeBlock(const SigpipeBlock&) = delete;  // restores the mask once
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;
  ~SigpipeBlock() {
    if (!was_pending_) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec zero{0, 0};
        while (sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_, old_;
  bool was_pending_ = false;
};

bool is_status(const redisReply& r, std::string_view text) {
  return r.type == REDIS_REPLY_STATUS && reply_text(r) == text;
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::open(const Endpoint& e, const Timeouts& t,
                                                     std::string_view script) {
  const timeval connect_tv = to_timeval(t.connect);
  redisContext* c = e.unix_socket.empty() ? redisConnectWithTimeout(e.host.c_str(), e.port, connect_tv)
                                          : redisConnectUnixWithTimeout(e.unix_socket.c_str(), connect_tv);
  if (c == nullptr) return Status::unavailable(e.describe() + ": cannot connect (out of memory)");
  std::unique_ptr<Connection> conn(new Connection(e, t, script, c));
  if (c->err) {
    return Status::unavailable(e.describe() + ": cannot connect (" + std::string(c->errstr) + ")");
  }
  if (redisSetTimeout(c, to_timeval(t.command)) != REDIS_OK) {
    return Status::unavailable(e.describe() + ": cannot set the command timeout (" + std::string(c->errstr) + ")");
  }
  // Keep-alive notices a peer that vanished without a FIN (TCP only).
  if (e.unix_socket.empty() && redisEnableKeepAlive(c) != REDIS_OK) {
    return Status::unavailable(e.describe() + ": cannot enable keep-alive (" + std::string(c->errstr) + ")");
  }
  OMNI_RETURN_IF_ERROR(conn->handshake());
  return conn;
}

Connection::~Connection() { redisFree(ctx_); }

Status Connection::handshake() {
  Argv auth{"AUTH", endpoint_.password};
  Argv select{"SELECT", std::to_string(endpoint_.db)};
  Argv load{"SCRIPT", "LOAD", script_};
  std::vector<const Argv*> cmds;
  if (!endpoint_.password.empty()) cmds.push_back(&auth);
  if (endpoint_.db != 0) cmds.push_back(&select);
  cmds.push_back(&load);
  std::vector<Command> commands;
  for (const Argv* a : cmds) commands.push_back({a});
  OMNI_ASSIGN_OR_RETURN(std::vector<Reply> replies, pipeline(commands, "connecting"));
  const std::string where = endpoint_.describe();
  auto fail = [&](std::string why) {
    broken_ = true;
    return Status::unavailable(where + ": " + why);
  };
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    const redisReply& r = *replies[i];
    if (r.type != REDIS_REPLY_ERROR) continue;
    const std::string_view text = reply_text(r);
    const std::string_view code = error_code(text);
    // Only the code of a refused AUTH: the rest is the server's text, and the
    // password must not reach a message by any path.
    if (cmds[i] == &auth) {
      if (text.find("without any password configured") != std::string_view::npos) {
        return fail("authentication failed (a password is set, the server has none)");
      }
      return fail("authentication failed (" + printable(code) + ")");
    }
    if (code == "NOAUTH") return fail("authentication failed (NOAUTH: the server requires a password)");
    if (code == "LOADING") return fail("the server is loading its dataset (LOADING)");
    if (cmds[i] == &select) return fail("SELECT " + std::to_string(endpoint_.db) + " refused (" + printable(text) + ")");
    return fail("SCRIPT LOAD refused (" + redact(printable(text), endpoint_.password) + ")");
  }
  if (cmds.front() == &auth && !is_status(*replies.front(), "OK")) {
    return fail("protocol error: AUTH answered something other than OK (is this Redis?)");
  }
  if (cmds.size() > 1 && cmds[cmds.size() - 2] == &select && !is_status(*replies[cmds.size() - 2], "OK")) {
    return fail("protocol error: SELECT answered something other than OK (is this Redis?)");
  }
  return take_sha(*replies.back());
}

Status Connection::take_sha(const redisReply& r) {
  if (r.type != REDIS_REPLY_STRING || r.len != 40) {
    broken_ = true;
    return Status::unavailable(endpoint_.describe() +
                               ": protocol error: SCRIPT LOAD answered something that is not a SHA1 "
                               "(is this Redis?)");
  }
  sha_.assign(r.str, r.len);
  return Status();
}

Status Connection::load_script() {
  OMNI_ASSIGN_OR_RETURN(Reply r, call(Argv{"SCRIPT", "LOAD", script_}, "loading the script"));
  if (r->type == REDIS_REPLY_ERROR) {
    return reply_error(endpoint_.describe(), "SCRIPT LOAD", redact(std::string(reply_text(*r)), endpoint_.password));
  }
  return take_sha(*r);
}

Result<std::vector<Reply>> Connection::receive(std::size_t n, std::string_view what) {
  // hiredis writes what pipeline() left in its output buffer before it reads;
  // reading alone raises no SIGPIPE, and blocking it costs four system calls.
  std::optional<SigpipeBlock> no_sigpipe;
  if (sdslen(ctx_->obuf) > 0) no_sigpipe.emplace();
  std::vector<Reply> replies;
  replies.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    void* r = nullptr;
    if (redisGetReply(ctx_, &r) != REDIS_OK || r == nullptr) return transport_failure(what);
    replies.emplace_back(static_cast<redisReply*>(r));
  }
  return replies;
}

Result<std::vector<Reply>> Connection::pipeline(const std::vector<Command>& commands,
                                                std::string_view what) {
  if (broken_) return Status::unavailable(endpoint_.describe() + ": the connection failed before");
  for (const Command& cmd : commands) {
    argv_.clear();
    lens_.clear();
    for (const Argv* part : cmd) {
      for (std::size_t i = 0; i < part->size(); ++i) {
        argv_.push_back((*part)[i].data());
        lens_.push_back((*part)[i].size());
      }
    }
    // Formats into the context's output buffer; nothing is written yet.
    if (redisAppendCommandArgv(ctx_, static_cast<int>(argv_.size()), argv_.data(), lens_.data()) != REDIS_OK) {
      return transport_failure(what);
    }
  }
  return receive(commands.size(), what);
}

Status Connection::send(const Resp& commands, std::string_view what) {
  if (broken_) return Status::unavailable(endpoint_.describe() + ": the connection failed before");
  if (sdslen(ctx_->obuf) > 0) {  // what pipeline() left, first
    SigpipeBlock no_sigpipe;
    for (int done = 0; !done;) {
      if (redisBufferWrite(ctx_, &done) != REDIS_OK) return transport_failure(what);
    }
  }
  // Straight to the socket: hiredis would copy the commands (a few hundred KB)
  // into its output buffer first, and after a partial write move what is left
  // to its front. MSG_NOSIGNAL: a peer that closed is EPIPE, not SIGPIPE.
  const std::string_view text = commands.text();
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = ::send(ctx_->fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      // As hiredis records a failed write, so transport_failure() reads it alike.
      const int err = errno;
      ctx_->err = REDIS_ERR_IO;
      std::snprintf(ctx_->errstr, sizeof ctx_->errstr, "%s", std::strerror(err));
      errno = err;
      return transport_failure(what);
    }
    done += static_cast<std::size_t>(n);
  }
  return Status();
}

Result<std::vector<Reply>> Connection::pipeline(const Resp& commands, std::string_view what) {
  OMNI_RETURN_IF_ERROR(send(commands, what));
  return receive(commands.commands(), what);
}

Result<Reply> Connection::call(const Command& command, std::string_view what) {
  OMNI_ASSIGN_OR_RETURN(std::vector<Reply> r, pipeline({command}, what));
  return std::move(r.front());
}

Status Connection::transport_failure(std::string_view what) {
  const int err = errno;  // hiredis leaves the failed syscall's errno
  broken_ = true;
  const std::string where = endpoint_.describe() + ": ";
  const std::string during = " while " + std::string(what);
  switch (ctx_->err) {
    case REDIS_ERR_IO:
      if (err == EAGAIN || err == EWOULDBLOCK) {
        timed_out_ = true;
        return Status::unavailable(where + "no answer within command_timeout (" +
                                   std::to_string(timeouts_.command.count()) + " ms)" + during);
      }
      return Status::unavailable(where + "connection failed (" + std::string(ctx_->errstr) + ")" + during);
    case REDIS_ERR_EOF:
      return Status::unavailable(where + "the server closed the connection" + during);
    case REDIS_ERR_PROTOCOL:
      return Status::unavailable(where + "protocol error, the answer is not Redis (" +
                                 printable(ctx_->errstr) + ")" + during);
    case REDIS_ERR_OOM:
      return Status::unavailable(where + "out of memory in hiredis" + during);
    default:
      return Status::unavailable(where + "connection failed (" + printable(ctx_->errstr) + ")" + during);
  }
}

}  // namespace omni::sinks::redis
