// omni::RedisBackend: replicates the log into Redis (hiredis).
//
// Layout under key_prefix (P), readable with redis-cli:
//   P<key>                      hash: top-level field -> JSON value, plus the
//                               reserved field "_seq" (the event that wrote it)
//   P<key> after a delete       hash {"_seq": seq, "_deleted": "1"} (a tombstone,
//                               so an older replayed store is still refused)
//   Prel:<subject>:<predicate>  sorted set of objects (score: seq)
//   Prrev:<object>:<predicate>  sorted set of subjects (score: seq)
//   Pver:<key>                  sorted set of labels (score: seq)
//   Pverdoc:<key>:<label>       the version's JSON; expires after version_ttl
//   Ppolicy:<principal>:<action>:<resource>   "1"/"0", expiring with the decision
//   Psink:applied               the watermark: every event up to it is applied
// Every batch is applied by one Lua script (loaded once, EVALSHA) that skips an
// event whose seq is not newer than the key's stored one and sets the watermark,
// atomically.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "omni/backend.h"

namespace omni {

struct RedisOptions {
  // redis://[:password@]host:port[/db] or unix:///path/to/redis.sock. When set it
  // replaces host, port, db, password and unix_socket; malformed is
  // kInvalidArgument at create().
  std::string url;
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_socket;  // set: connect here instead of host:port
  int db = 0;               // SELECT db (0..15 on a default server)
  std::string password;     // AUTH; never logged, never in an error or statistic
  std::string key_prefix = "omni:";
  std::size_t max_connections = 4;  // the pool: 1..256 contexts
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{5000};
  std::chrono::seconds version_ttl{0};  // 0: versions never expire
};

class RedisBackend : public Backend {
 public:
  // kInvalidArgument for a malformed url or an option out of range. Does not
  // connect: an unreachable server is the backend's health, not an error here.
  static Result<std::unique_ptr<RedisBackend>> create(RedisOptions options);
  ~RedisBackend() override;

  Status store_data(std::string_view key, const Json& doc, Seq seq) override;
  Result<std::optional<Json>> load_data(std::string_view key) override;
  Status delete_data(std::string_view key, Seq seq) override;
  Status health_check() override;
  Status apply(const ChangeBatch& batch) override;
  bool keeps_watermark() const override { return true; }
  Result<std::optional<Seq>> watermark() override;

  struct Impl;

 private:
  explicit RedisBackend(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace omni
