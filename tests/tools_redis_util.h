// Helpers for the `omni` tests that talk to a real redis-server: configuration
// files naming it, and a store fed into it.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "omni/redis_backend.h"
#include "omni/storage.h"
#include "redis_server.h"
#include "tools_test_util.h"

namespace omni::testing {

// A free loopback port nothing listens on (bound, then released).
inline int dead_port() {
  RedisServer probe;
  return probe.start() ? (probe.stop(), probe.port()) : 1;
}

// {"type": "redis", "url": <redis>, "password_env": env (if any), "connect_timeout_ms": 300}
inline nlohmann::json redis_entry(const std::string& url, const std::string& password_env = "") {
  nlohmann::json j = {{"type", "redis"}, {"url", url}, {"connect_timeout_ms", 300}, {"command_timeout_ms", 2000}};
  if (!password_env.empty()) j["password_env"] = password_env;
  return j;
}

inline std::string write_config(const TempDir& dir, const nlohmann::json& backends,
                                const std::string& name = "omni.json") {
  const std::string path = dir.sub(name);
  std::ofstream(path) << nlohmann::json{{"backends", backends}}.dump(2);
  return path;
}

inline std::unique_ptr<RedisBackend> redis_backend(const RedisServer& r) {
  RedisOptions ro;
  // A url replaces every connection field, the password too.
  ro.url = r.password().empty() ? r.url() : "redis://:" + r.password() + "@127.0.0.1:" + std::to_string(r.port());
  ro.connect_timeout = std::chrono::milliseconds(300);
  auto b = RedisBackend::create(ro);
  EXPECT_TRUE(b.ok()) << b.status().to_string();
  return std::move(*b);
}

// Opens the (closed) store at `db`, adds `r` as backend `name` and waits until it
// applied everything, then closes the store. Returns the head.
inline Seq feed_store(const std::string& db, const RedisServer& r, const std::string& name = "redis") {
  auto s = std::move(*Storage::open({.path = db}));
  EXPECT_TRUE(s->add_backend(name, redis_backend(r), 1).ok());
  const Seq head = s->get_statistics().head_seq;
  EXPECT_TRUE(s->wait_for_backend(name, head, std::chrono::seconds(20)).ok());
  EXPECT_TRUE(s->close().ok());
  return head;
}

struct Poisoned {
  Seq blocked = 0, blocked2 = 0, last = 0;
};

// Two events Redis refuses for good (WRONGTYPE: their keys hold strings someone
// else wrote), dead-lettered by the sink worker, which moves on. The store is
// closed on return.
inline Poisoned make_dead_letters(const std::string& db, const RedisServer& redis) {
  Options o;
  o.path = db;
  o.replication.initial_backoff = std::chrono::milliseconds(10);
  o.replication.max_backoff = std::chrono::milliseconds(100);
  o.replication.max_attempts = 2;
  auto s = std::move(*Storage::open(o));
  EXPECT_TRUE(s->set_sync_strategy(SyncStrategy::write_behind, {.interval = std::chrono::milliseconds(5), .batch_size = 100}).ok());
  EXPECT_TRUE(s->add_backend("redis", redis_backend(redis), 1).ok());
  EXPECT_EQ(redis.cli({"SET", "omni:blocked", "someone else's"}), "OK\n");
  EXPECT_EQ(redis.cli({"SET", "omni:blocked2", "someone else's"}), "OK\n");
  Poisoned p;
  EXPECT_TRUE(s->store_data("before", Json{{"v", 1}}).ok());
  p.blocked = *s->store_data("blocked", Json{{"v", 2}});
  p.blocked2 = *s->store_data("blocked2", Json{{"v", 3}});
  for (int i = 0; i < 5; ++i) p.last = *s->store_data("after" + std::to_string(i), Json{{"v", i}});
  EXPECT_TRUE(s->wait_for_backend("redis", p.last, std::chrono::seconds(20)).ok());
  EXPECT_EQ(s->dead_letters().list()->size(), 2u);
  EXPECT_TRUE(s->close().ok());
  return p;
}

// Everything a Redis holds, as sorted text: one line per key with its type and
// contents (hash fields, set members, sorted-set members with scores, strings),
// TTLs left out. Two dumps are equal when the two Redis hold the same data. One
// script call (a redis-cli per key would take a minute for a few hundred keys).
inline std::string redis_dump(const RedisServer& r) {
  static constexpr const char* kScript = R"lua(
local out = {}
for _, k in ipairs(redis.call('KEYS', '*')) do
  local t = redis.call('TYPE', k).ok
  local items = {}
  if t == 'hash' then
    local h = redis.call('HGETALL', k)
    for i = 1, #h, 2 do items[#items + 1] = h[i] .. '=' .. h[i + 1] end
  elseif t == 'zset' then
    local z = redis.call('ZRANGE', k, 0, -1, 'WITHSCORES')
    for i = 1, #z, 2 do items[#items + 1] = z[i] .. '@' .. z[i + 1] end
  elseif t == 'set' then
    items = redis.call('SMEMBERS', k)
  else
    items = {redis.call('GET', k)}
  end
  table.sort(items)
  out[#out + 1] = k .. ' ' .. t .. ': ' .. table.concat(items, ' ')
end
table.sort(out)
return out
)lua";
  return r.cli({"EVAL", kScript, "0"});
}

}  // namespace omni::testing
