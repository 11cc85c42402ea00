// The store replicating into a real redis-server (tests/redis_server.h): round
// trip read back with redis-cli, failover between two Redis, kill -9 and FLUSHALL
// of Redis mid-stream, kill -9 of the engine under write-behind, poison events,
// coalescing, a wrong password.
#include <gtest/gtest.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <sstream>
#include <thread>

#include "omni/redis_backend.h"
#include "omni/storage.h"
#include "redis_server.h"
#include "test_util.h"

namespace omni {
namespace {

using namespace std::chrono_literals;
using testing::RedisServer;
using testing::TempDir;

Options fast_options(const std::string& path) {
  Options o;
  o.path = path;
  o.replication.initial_backoff = 10ms;
  o.replication.max_backoff = 200ms;
  o.replication.max_attempts = 3;
  o.replication.health_interval = 50ms;
  o.strategy_options.write_timeout = 5000ms;
  if (std::getenv("OMNI_TEST_LOG")) {  // the engine's log on stderr, for debugging
    o.logger = std::make_shared<spdlog::logger>("omni", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    o.logger->set_level(spdlog::level::debug);
  }
  return o;
}

std::unique_ptr<Storage> open_store(const Options& o) {
  auto s = Storage::open(o);
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  return std::move(*s);
}

std::unique_ptr<RedisBackend> redis_for(const RedisServer& r, bool count_applies = false) {
  RedisOptions ro;
  ro.url = r.url();
  ro.connect_timeout = 300ms;
  ro.command_timeout = 2000ms;
  ro.count_applies = count_applies;
  auto b = RedisBackend::create(ro);
  EXPECT_TRUE(b.ok()) << b.status().to_string();
  return std::move(*b);
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// Every key of a Redis in a canonical form (sorted hash fields, zset members
// with scores, strings), to compare two servers.
std::map<std::string, std::string> snapshot(const RedisServer& r) {
  std::map<std::string, std::string> out;
  for (const std::string& k : lines(r.cli({"--scan"}))) {
    const std::string type = lines(r.cli({"TYPE", k})).at(0);
    std::vector<std::string> v;
    if (type == "hash") {
      v = lines(r.cli({"HGETALL", k}));
      std::vector<std::string> pairs;
      for (std::size_t i = 0; i + 1 < v.size(); i += 2) pairs.push_back(v[i] + "=" + v[i + 1]);
      v = pairs;
    } else if (type == "zset") {
      v = lines(r.cli({"ZRANGE", k, "0", "-1", "WITHSCORES"}));
    } else if (type == "set") {
      v = lines(r.cli({"SMEMBERS", k}));
    } else {
      v = lines(r.cli({"GET", k}));
    }
    std::sort(v.begin(), v.end());
    std::string joined = type + ":";
    for (const std::string& x : v) joined += x + "\n";
    out[k] = joined;
  }
  return out;
}

#define START(server)                                       \
  RedisServer server;                                       \
  ASSERT_TRUE(server.start()) << server.error();

TEST(RedisSinkTest, RoundTripIsVisibleThroughTheBackendAndRedisCli) {
  START(redis);
  TempDir dir;
  auto s = open_store(fast_options(dir.path()));
  ASSERT_TRUE(s->add_backend("redis", redis_for(redis), 1).ok());
  ASSERT_TRUE(s->store_data("user:1", Json{{"name", "Alice"}, {"age", 30}}).ok());
  ASSERT_TRUE(s->store_relationship("user:1", "member_of", "group:admin").ok());
  ASSERT_TRUE(s->store_version("doc:1", "v1", Json{{"x", 1}}).ok());
  Result<Seq> last = s->cache_policy_decision("user:1", "read", "doc:1", true);
  ASSERT_TRUE(last.ok());
  // write_through: already applied when the calls returned.
  EXPECT_EQ(redis.cli({"HGET", "omni:user:1", "name"}), "\"Alice\"\n");
  EXPECT_EQ(redis.cli({"HGET", "omni:user:1", "age"}), "30\n");
  EXPECT_EQ(redis.cli({"GET", "omni:sink:applied"}), std::to_string(*last) + "\n");
  EXPECT_NE(redis.cli({"--scan", "--pattern", "omni:rel:*"}).find("member_of"), std::string::npos);
  EXPECT_NE(redis.cli({"--scan", "--pattern", "omni:ver:*"}).find("doc:1"), std::string::npos);
  EXPECT_NE(redis.cli({"--scan", "--pattern", "omni:policy:*"}), "");
  // Through the backend interface too.
  auto b = redis_for(redis);
  Result<std::optional<Json>> back = b->load_data("user:1");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, Json({{"name", "Alice"}, {"age", 30}}));
  // A delete is a tombstone that load_data reads as absent.
  ASSERT_TRUE(s->delete_data("user:1").ok());
  EXPECT_EQ(redis.cli({"HGET", "omni:user:1", "_deleted"}), "1\n");
  EXPECT_FALSE(b->load_data("user:1")->has_value());
}

TEST(RedisSinkTest, FailoverToTheSecondaryAndThePrimaryCatchesUp) {
  START(primary);
  START(secondary);
  TempDir dir;
  auto s = open_store(fast_options(dir.path()));
  ASSERT_TRUE(s->add_backend("primary", redis_for(primary), 1).ok());
  ASSERT_TRUE(s->add_backend("secondary", redis_for(secondary), 2).ok());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(s->store_data("k" + std::to_string(i), Json{{"i", i}}).ok());
  primary.kill();
  int failed = 0;
  Result<Seq> last = Status::internal("unset");
  for (int i = 100; i < 300; ++i) {
    // Until the worker notices, a write may time out waiting for the primary;
    // it is committed all the same.
    last = s->store_data("k" + std::to_string(i), Json{{"i", i}});
    if (!last.ok()) {
      EXPECT_EQ(last.status().code(), StatusCode::kTimedOut) << last.status().to_string();
      ++failed;
    }
  }
  EXPECT_LT(failed, 3);
  const Seq head = s->get_statistics().head_seq;
  ASSERT_TRUE(s->wait_for_backend("secondary", head, 10s).ok());
  EXPECT_EQ(secondary.cli({"HGET", "omni:k299", "i"}), "299\n");
  ASSERT_TRUE(primary.restart()) << primary.error();
  ASSERT_TRUE(s->wait_for_backend("primary", head, 20s).ok());
  EXPECT_EQ(snapshot(primary), snapshot(secondary));
  EXPECT_EQ(snapshot(primary).size(), 301u);  // 300 documents and the watermark
}

TEST(RedisSinkTest, RedisKilledMidStreamConvergesWithNothingLostOrAppliedTwice) {
  RedisServer redis({.aof = true});
  ASSERT_TRUE(redis.start()) << redis.error();
  TempDir dir;
  auto s = open_store(fast_options(dir.path()));
  ASSERT_TRUE(s->set_sync_strategy(SyncStrategy::write_behind, {.interval = 5ms, .batch_size = 1000}).ok());
  ASSERT_TRUE(s->add_backend("redis", redis_for(redis, /*count_applies=*/true), 1).ok());
  constexpr int kEvents = 50000;
  std::thread killer([&] {
    while (s->get_statistics().head_seq < kEvents / 2) std::this_thread::sleep_for(1ms);
    redis.kill();
    std::this_thread::sleep_for(200ms);
    ASSERT_TRUE(redis.restart()) << redis.error();
  });
  for (int i = 0; i < kEvents; ++i) ASSERT_TRUE(s->store_data("k" + std::to_string(i), Json{{"i", i}}).ok());
  killer.join();
  ASSERT_TRUE(s->wait_for_backend("redis", kEvents, 60s).ok());
  EXPECT_EQ(redis.cli({"GET", "omni:sink:applied"}), std::to_string(kEvents) + "\n");
  EXPECT_EQ(redis.cli({"HLEN", "omni:applies"}), std::to_string(kEvents) + "\n");  // none lost
  // Each key was written once, so each applied exactly once: nothing twice.
  std::vector<std::string> counts = lines(redis.cli({"HGETALL", "omni:applies"}));
  ASSERT_EQ(counts.size(), 2u * kEvents);
  int twice = 0;
  for (std::size_t i = 1; i < counts.size(); i += 2) twice += counts[i] != "1";
  EXPECT_EQ(twice, 0);
  EXPECT_EQ(redis.cli({"HGET", "omni:k49999", "i"}), "49999\n");
}

TEST(RedisSinkTest, FlushallMidStreamReseedsAndConverges) {
  START(redis);
  TempDir dir;
  auto s = open_store(fast_options(dir.path()));
  ASSERT_TRUE(s->set_sync_strategy(SyncStrategy::write_behind, {.interval = 5ms, .batch_size = 500}).ok());
  ASSERT_TRUE(s->add_backend("redis", redis_for(redis), 1).ok());
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(s->store_data("k" + std::to_string(i % 2000), Json{{"i", i}}).ok());
    if (i == 2500) {
      ASSERT_TRUE(redis.flushall());
    }
  }
  ASSERT_TRUE(s->wait_for_backend("redis", 5000, 30s).ok());
  for (int k = 0; k < 2000; k += 97) {
    const int newest = k < 1000 ? 4000 + k : 2000 + k;  // the last i < 5000 with i % 2000 == k
    EXPECT_EQ(redis.cli({"HGET", "omni:k" + std::to_string(k), "i"}), std::to_string(newest) + "\n") << k;
  }
  EXPECT_EQ(lines(redis.cli({"--scan", "--pattern", "omni:k*"})).size(), 2000u);
  EXPECT_GE(s->get_statistics().backends[0].reseeds, 1u);
}

TEST(RedisSinkTest, EngineKilledUnderWriteBehindResumesAndRedisConverges) {
  START(redis);
  TempDir dir;
  const Options o = fast_options(dir.path());
  constexpr int kEvents = 2000;
  const pid_t child = fork();
  if (child == 0) {
    // Write-behind with a flush interval far away, then die before any flush.
    auto s = Storage::open(o);
    if (!s.ok()) _exit(2);
    if (!(*s)->set_sync_strategy(SyncStrategy::write_behind, {.interval = 3600s, .batch_size = 1000000}).ok()) _exit(3);
    if (!(*s)->add_backend("redis", redis_for(redis), 1).ok()) _exit(4);
    for (int i = 0; i < kEvents; ++i) {
      if (!(*s)->store_data("k" + std::to_string(i), Json{{"i", i}}).ok()) _exit(5);
    }
    raise(SIGKILL);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  EXPECT_EQ(redis.cli({"HGET", "omni:k1999", "i"}), "\n");  // not flushed before the kill
  auto s = open_store(o);
  ASSERT_EQ(s->get_statistics().head_seq, Seq{kEvents});
  ASSERT_TRUE(s->add_backend("redis", redis_for(redis), 1).ok());
  ASSERT_TRUE(s->wait_for_backend("redis", kEvents, 30s).ok());
  for (int i = 0; i < kEvents; i += 111) {
    EXPECT_EQ(redis.cli({"HGET", "omni:k" + std::to_string(i), "i"}), std::to_string(i) + "\n") << i;
  }
  EXPECT_EQ(redis.cli({"HGET", "omni:k1999", "i"}), "1999\n");
}

TEST(RedisSinkTest, APoisonEventIsDeadLetteredAndLaterEventsFlow) {
  START(redis);
  TempDir dir;
  auto s = open_store(fast_options(dir.path()));
  ASSERT_TRUE(s->set_sync_strategy(SyncStrategy::write_behind, {.interval = 5ms, .batch_size = 100}).ok());
  ASSERT_TRUE(s->add_backend("redis", redis_for(redis), 1).ok());
  ASSERT_EQ(redis.cli({"SET", "omni:blocked", "someone else's string"}), "OK\n");  // WRONGTYPE for a hash
  ASSERT_TRUE(s->store_data("before", Json{{"v", 1}}).ok());
  Result<Seq> bad = s->store_data("blocked", Json{{"v", 2}});
  ASSERT_TRUE(bad.ok());
  Result<Seq> last = Status::internal("unset");
  for (int i = 0; i < 50; ++i) last = s->store_data("after" + std::to_string(i), Json{{"v", i}});
  ASSERT_TRUE(s->wait_for_backend("redis", *last, 20s).ok());
  EXPECT_EQ(redis.cli({"HGET", "omni:after49", "v"}), "49\n");
  Result<std::vector<DeadLetter>> dl = s->dead_letters().list("redis");
  ASSERT_TRUE(dl.ok());
  ASSERT_EQ(dl->size(), 1u);
  EXPECT_EQ((*dl)[0].seq, *bad);
  EXPECT_EQ((*dl)[0].key, "blocked");
  EXPECT_EQ((*dl)[0].error_class, "Backend");
  EXPECT_NE((*dl)[0].last_error.find("WRONGTYPE"), std::string::npos) << (*dl)[0].last_error;
  EXPECT_TRUE(s->get_statistics().backends[0].healthy);  // one bad key is not an unhealthy backend
  EXPECT_EQ(s->dead_letters().retry("redis", *bad).code(), StatusCode::kBackend);
  ASSERT_EQ(redis.cli({"DEL", "omni:blocked"}), "1\n");
  ASSERT_TRUE(s->dead_letters().retry("redis", *bad).ok());
  EXPECT_EQ(redis.cli({"HGET", "omni:blocked", "v"}), "2\n");
  EXPECT_TRUE(s->dead_letters().list()->empty());
  // The retry did not move the watermark back.
  EXPECT_EQ(redis.cli({"GET", "omni:sink:applied"}), std::to_string(*last) + "\n");
}

TEST(RedisSinkTest, WriteBehindCoalescesAHotKeyIntoFewRedisWrites) {
  START(redis);
  TempDir dir;
  auto s = open_store(fast_options(dir.path()));
  ASSERT_TRUE(s->set_sync_strategy(SyncStrategy::write_behind, {.interval = 100ms, .batch_size = 100000}).ok());
  ASSERT_TRUE(s->add_backend("redis", redis_for(redis, /*count_applies=*/true), 1).ok());
  Result<Seq> last = Status::internal("unset");
  for (int i = 0; i < 2000; ++i) last = s->store_data("hot", Json{{"i", i}});
  ASSERT_TRUE(s->wait_for_backend("redis", *last, 20s).ok());
  EXPECT_EQ(redis.cli({"HGET", "omni:hot", "i"}), "1999\n");
  const int applies = std::stoi(redis.cli({"HGET", "omni:applies", "hot"}));
  EXPECT_LT(applies, 100) << "2,000 events of one key became " << applies << " Redis writes";
}

TEST(RedisSinkTest, WrongPasswordIsUnhealthyNothingDeadLetteredAndRecoversWhenFixed) {
  RedisServer redis({.password = "right-secret"});
  ASSERT_TRUE(redis.start()) << redis.error();
  TempDir dir;
  auto s = open_store(fast_options(dir.path()));
  RedisOptions ro;
  ro.url = "redis://:wrong-secret@127.0.0.1:" + std::to_string(redis.port());
  ro.connect_timeout = 300ms;
  auto b = RedisBackend::create(ro);
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(s->add_backend("redis", std::move(*b), 1).ok());
  // write_through with its only backend unhealthy: refused, nothing written.
  Result<Seq> r = s->store_data("k", Json{{"v", 1}});
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message().find("wrong-secret"), std::string::npos);
  Health h = s->check_health();
  ASSERT_EQ(h.backends.size(), 1u);
  EXPECT_EQ(h.backends[0].status, "unhealthy");
  EXPECT_NE(h.backends[0].last_error.find("auth"), std::string::npos) << h.backends[0].last_error;
  EXPECT_EQ(h.backends[0].last_error.find("wrong-secret"), std::string::npos);
  EXPECT_EQ(s->metrics_text().find("wrong-secret"), std::string::npos);
  // Offline: writes go on locally.
  s->enable_offline_mode();
  ASSERT_TRUE(s->store_data("k", Json{{"v", 1}}).ok());
  s->disable_offline_mode();
  // Fixed on the server side: the worker's retries get through and drain.
  ASSERT_EQ(redis.cli({"CONFIG", "SET", "requirepass", "wrong-secret"}), "OK\n");
  redis.set_password("wrong-secret");
  ASSERT_TRUE(s->wait_for_backend("redis", 1, 20s).ok());
  EXPECT_EQ(redis.cli({"HGET", "omni:k", "v"}), "1\n");
  EXPECT_TRUE(s->dead_letters().list()->empty());
}

}  // namespace
}  // namespace omni
