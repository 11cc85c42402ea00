// One hiredis context, ready for commands: connected, authenticated, the db
// selected and the apply script loaded. Not thread-safe: the pool hands each one
// to one caller at a time.
#pragma once

#include <hiredis/hiredis.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "omni/status.h"
#include "redis_endpoint.h"

namespace omni::sinks::redis {

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

inline std::string_view reply_text(const redisReply& r) { return {r.str, r.len}; }

// A command's arguments, binary-safe, in one buffer (no printf formatting).
class Argv {
 public:
  Argv() = default;
  Argv(std::initializer_list<std::string_view> args) {
    for (std::string_view a : args) add(a);
  }
  void reserve(std::size_t args, std::size_t bytes) {
    spans_.reserve(args);
    buf_.reserve(bytes);
  }
  void add(std::string_view a) {
    spans_.emplace_back(buf_.size(), a.size());
    buf_.append(a);
  }
  void add_number(std::uint64_t n) {
    char buf[24];
    const char* end = std::to_chars(buf, buf + sizeof buf, n).ptr;
    add(std::string_view(buf, static_cast<std::size_t>(end - buf)));
  }
  // Empties it, keeping the memory for the next use.
  void clear() {
    buf_.clear();
    spans_.clear();
  }
  std::size_t size() const { return spans_.size(); }
  std::size_t bytes() const { return buf_.size(); }
  std::size_t capacity() const { return buf_.capacity(); }
  std::string_view operator[](std::size_t i) const { return {buf_.data() + spans_[i].first, spans_[i].second}; }

 private:
  std::string buf_;
  std::vector<std::pair<std::size_t, std::size_t>> spans_;  // offset, length
};

// A command sent as one or more Argv pieces back to back (an EVALSHA's head and
// its records), so a large body is never copied to prepend a few arguments.
using Command = std::vector<const Argv*>;

// Commands written out in Redis's wire format (RESP), back to back: a pipeline
// of a thousand HSETs is one buffer handed to hiredis as it is, without hiredis
// formatting (and allocating) each command on its own.
class Resp {
 public:
  // Starts a command of `args` arguments (the command's name is the first).
  void command(std::size_t args) {
    header('*', args);
    ++commands_;
  }
  void arg(std::string_view a) {
    header('$', a.size());
    text_.append(a);
    text_.append("\r\n", 2);
  }
  // One argument written from two pieces (a name's prefix and its key).
  void arg(std::string_view a, std::string_view b) {
    header('$', a.size() + b.size());
    text_.append(a);
    text_.append(b);
    text_.append("\r\n", 2);
  }
  void arg(std::uint64_t n) {
    char buf[24];
    const char* end = std::to_chars(buf, buf + sizeof buf, n).ptr;
    arg(std::string_view(buf, static_cast<std::size_t>(end - buf)));
  }
  std::size_t commands() const { return commands_; }
  std::string_view text() const { return text_; }
  // Empties it, keeping the memory for the next use.
  void clear() {
    text_.clear();
    commands_ = 0;
  }

 private:
  void header(char kind, std::size_t n) {
    char buf[24];
    buf[0] = kind;
    char* end = std::to_chars(buf + 1, buf + sizeof buf - 2, n).ptr;
    *end++ = '\r';
    *end++ = '\n';
    text_.append(buf, static_cast<std::size_t>(end - buf));
  }
  std::string text_;
  std::size_t commands_ = 0;
};

struct Timeouts {
  std::chrono::milliseconds connect{1000};
  std::chrono::milliseconds command{5000};
};

class Connection {
 public:
  // Connects (connect timeout), sets the command timeout and TCP keep-alive, then
  // sends AUTH (when there is a password), SELECT (db != 0) and SCRIPT LOAD of
  // `script` in one round trip. kUnavailable saying what failed. `endpoint` and
  // `script` must outlive the connection.
  static Result<std::unique_ptr<Connection>> open(const Endpoint& endpoint, const Timeouts& timeouts,
                                                  std::string_view script);
  Connection(const Connection&) = delete;  // owns the context
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Sends the commands in one go and reads their replies, in order. An error reply
  // is a reply (the caller judges it). A transport failure (closed, timed out, an
  // answer that is not Redis) is kUnavailable naming `what`, and breaks the
  // connection: broken() from then on, and the pool closes it.
  Result<std::vector<Reply>> pipeline(const std::vector<Command>& commands, std::string_view what);
  Result<std::vector<Reply>> pipeline(const Resp& commands, std::string_view what);
  // A pipeline in parts: send() writes commands to the socket at once, so the
  // server runs them while the caller prepares the next part; receive() then
  // reads n replies (every part's, in order).
  Status send(const Resp& commands, std::string_view what);
  Result<std::vector<Reply>> receive(std::size_t n, std::string_view what);
  Result<Reply> call(const Command& command, std::string_view what);
  Result<Reply> call(const Argv& command, std::string_view what) { return call(Command{&command}, what); }

  bool broken() const { return broken_; }
  // For an answer that is Redis but not what the command answers: close it.
  void discard() { broken_ = true; }
  // The failure that broke it was the command timeout (not worth a retry).
  bool timed_out() const { return timed_out_; }
  const std::string& script_sha() const { return sha_; }
  // SCRIPT LOAD again, after a NOSCRIPT (SCRIPT FLUSH, or a failover).
  Status load_script();
  const Endpoint& endpoint() const { return endpoint_; }

 private:
  Connection(const Endpoint& endpoint, const Timeouts& timeouts, std::string_view script, redisContext* c)
      : endpoint_(endpoint), timeouts_(timeouts), script_(script), ctx_(c) {}
  Status handshake();
  Status transport_failure(std::string_view what);
  Status take_sha(const redisReply& r);

  const Endpoint& endpoint_;
  const Timeouts timeouts_;
  const std::string_view script_;
  redisContext* ctx_;
  std::string sha_;
  std::vector<const char*> argv_;  // pipeline()'s scratch, kept to spare reallocations
  std::vector<std::size_t> lens_;
  bool broken_ = false;
  bool timed_out_ = false;
};

}  // namespace omni::sinks::redis
