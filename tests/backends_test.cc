// The store's backends through a user-written backend (tests/memory_backend.h):
// replication of every event type, positions, re-seeding, poison events, health,
// strategies, failover, offline mode, read fallback. Redis: redis_sink_test.cc.
#include <gtest/gtest.h>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "memory_backend.h"
#include "omni/storage.h"
#include "test_util.h"

namespace omni {
namespace {

using namespace std::chrono_literals;
using test::MemoryBackend;
using testing::TempDir;

Options fast_options(const std::string& path) {
  Options o;
  o.path = path;
  o.replication.initial_backoff = 5ms;
  o.replication.max_backoff = 50ms;
  o.replication.max_attempts = 3;
  o.replication.health_interval = 20ms;
  o.strategy_options.write_timeout = 2000ms;
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

// Adds a MemoryBackend and returns a pointer to it (the store owns it).
MemoryBackend* add_memory(Storage& s, const std::string& name, int priority, bool watermark = false) {
  auto b = std::make_unique<MemoryBackend>(watermark);
  MemoryBackend* raw = b.get();
  Status st = s.add_backend(name, std::move(b), priority);
  EXPECT_TRUE(st.ok()) << st.to_string();
  return raw;
}

TEST(BackendsTest, EveryEventTypeIsReplicated) {
  TempDir dir;
  auto s = open_store(fast_options(dir.path()));
  MemoryBackend* m = add_memory(*s, "mem", 1);
  ASSERT_TRUE(s->store_data("user:1", Json{{"name", "Alice"}}).ok());
  ASSERT_TRUE(s->store_data("user:2", Json{{"name", "Bob"}}).ok());
  ASSERT_TRUE(s->delete_data("user:2").ok());
  ASSERT_TRUE(s->store_relationship("user:1", "member_of", "group:a").ok());
  ASSERT_TRUE(s->store_version("doc", "v1", Json{{"x", 1}}).ok());
  Result<Seq> last = s->cache_policy_decision("user:1", "read", "doc", true);
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE(s->wait_for_backend("mem", *last, 5s).ok());
  MemoryBackend::State st = m->state();
  EXPECT_EQ(m->doc("user:1"), Json({{"name", "Alice"}}).dump());
  EXPECT_FALSE(m->doc("user:2"));
  EXPECT_EQ(st.edges.size(), 1u);
  EXPECT_EQ(st.versions.at({"doc", "v1"}), Json({{"x", 1}}).dump());
  EXPECT_TRUE(st.decisions.at({"user:1", "read", "doc"}));
  Statistics stats = s->get_statistics();
  ASSERT_EQ(stats.backends.size(), 1u);
  EXPECT_EQ(stats.backends[0].name, "mem");
  EXPECT_EQ(stats.backends[0].cursor, *last);
  EXPECT_EQ(stats.backends[0].lag, 0u);
  EXPECT_TRUE(stats.backends[0].healthy);
  EXPECT_GE(stats.backends[0].applied_events, 6u);
  const std::string text = s->metrics_text();
  EXPECT_NE(text.find("omni_backend_cursor{backend=\"mem\"} " + std::to_string(*last) + "\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("omni_backend_healthy{backend=\"mem\"} 1\n"), std::string::npos);
}

TEST(BackendsTest, BadNamesAndDuplicatesAreRefused) {
  TempDir dir;
  auto s = open_store(fast_options(dir.path()));
  add_memory(*s, "mem", 1);
  EXPECT_EQ(s->add_backend("mem", std::make_unique<MemoryBackend>(), 2).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->add_backend("", std::make_unique<MemoryBackend>(), 2).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->add_backend("a b", std::make_unique<MemoryBackend>(), 2).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->add_backend(std::string("a\0b", 3), std::make_unique<MemoryBackend>(), 2).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(s->add_backend("x", nullptr, 2).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->remove_backend("nope").code(), StatusCode::kNotFound);
  EXPECT_EQ(s->wait_for_backend("nope", 0, 1ms).code(), StatusCode::kNotFound);
  EXPECT_EQ(s->wait_for_backend("mem", 999, 1ms).code(), StatusCode::kInvalidArgument);
  StrategyOptions bad;
  bad.batch_size = 0;
  EXPECT_EQ(s->set_sync_strategy(SyncStrategy::write_behind, bad).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->set_sync_strategy("custom", CustomStrategyFn{}).code(), StatusCode::kInvalidArgument);
}

TEST(BackendsTest, WriteThroughReturnsOnceTheBackendApplied) {
  TempDir dir;
  auto s = open_store(fast_options(dir.path()));
  MemoryBackend* m = add_memory(*s, "mem", 1);
  for (int i = 0; i < 50; ++i) {
    Result<Seq> r = s->store_data("k" + std::to_string(i), Json{{"i", i}});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    // No wait_for_backend: write-through already waited.
    EXPECT_EQ(m->doc("k" + std::to_string(i)), Json({{"i", i}}).dump());
  }
}

TEST(BackendsTest, CursorPersistsAndAReAddedBackendResumes) {
  TempDir dir;
  Options o = fast_options(dir.path());
  auto s = open_store(o);
  MemoryBackend* m = add_memory(*s, "mem", 1);
  ASSERT_TRUE(s->store_data("a", Json{{"v", 1}}).ok());
  ASSERT_TRUE(s->close().ok());
  s = open_store(o);
  // The same object comes back (a user's target that kept its data): nothing is sent again.
  auto again = std::make_unique<MemoryBackend>();
  MemoryBackend* m2 = again.get();
  ASSERT_TRUE(s->add_backend("mem", std::move(again), 1).ok());
  Result<Seq> b = s->store_data("b", Json{{"v", 2}});
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(s->wait_for_backend("mem", *b, 5s).ok());
  EXPECT_TRUE(m2->doc("b"));
  EXPECT_FALSE(m2->doc("a"));  // applied before the reopen: not re-sent from the store's cursor
  EXPECT_EQ(s->get_statistics().backends[0].reseeds, 0u);
  (void)m;
}

TEST(BackendsTest, ANewBackendOnAnExistingStoreIsSeededFromTheState) {
  TempDir dir;
  auto s = open_store(fast_options(dir.path()));
  for (int i = 0; i < 2500; ++i) ASSERT_TRUE(s->store_data("k" + std::to_string(i % 1000), Json{{"i", i}}).ok());
  ASSERT_TRUE(s->delete_data("k5").ok());
  ASSERT_TRUE(s->store_relationship("k1", "likes", "k2").ok());
  ASSERT_TRUE(s->store_version("k3", "v1", Json{{"ver", 1}}).ok());
  ASSERT_TRUE(s->cache_policy_decision("alice", "read", "k4", false).ok());
  MemoryBackend* m = add_memory(*s, "late", 1, /*watermark=*/true);
  const Seq head = s->get_statistics().head_seq;
  ASSERT_TRUE(s->wait_for_backend("late", head, 10s).ok());
  MemoryBackend::State st = m->state();
  EXPECT_EQ(s->get_statistics().backends[0].reseeds, 1u);
  // The current state, not 2,500 stores: each key once, with its newest document.
  EXPECT_EQ(st.store_writes, 999u);
  EXPECT_EQ(m->doc("k999"), Json({{"i", 1999}}).dump());
  EXPECT_EQ(m->doc("k499"), Json({{"i", 2499}}).dump());
  EXPECT_FALSE(m->doc("k5"));
  EXPECT_EQ(st.edges.size(), 1u);
  EXPECT_EQ(st.versions.size(), 1u);
  EXPECT_EQ(st.decisions.size(), 1u);
  EXPECT_EQ(st.watermark, head);
}

TEST(BackendsTest, AWipedTargetIsReseededAndConverges) {
  TempDir dir;
  auto s = open_store(fast_options(dir.path()));
  MemoryBackend* m = add_memory(*s, "mem", 1, /*watermark=*/true);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(s->store_data("k" + std::to_string(i), Json{{"i", i}}).ok());
  m->wipe();  // FLUSHALL: the watermark is gone, noticed by the next apply
  Result<Seq> last = Status::internal("unset");
  for (int i = 100; i < 200; ++i) {
    last = s->store_data("k" + std::to_string(i), Json{{"i", i}});
    if (!last.ok()) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(last.ok()) << last.status().to_string();
  ASSERT_TRUE(s->wait_for_backend("mem", *last, 10s).ok());
  for (int i = 0; i < 200; ++i) EXPECT_EQ(m->doc("k" + std::to_string(i)), Json({{"i", i}}).dump()) << i;
  EXPECT_GE(s->get_statistics().backends[0].reseeds, 1u);
}

TEST(BackendsTest, APoisonEventIsDeadLetteredWhileOthersFlow) {
  TempDir dir;
  Options o = fast_options(dir.path());
  auto s = open_store(o);
  MemoryBackend* m = add_memory(*s, "mem", 1);
  ASSERT_TRUE(s->set_sync_strategy(SyncStrategy::write_behind, {.interval = 10ms, .batch_size = 100}).ok());
  m->poison("bad");
  ASSERT_TRUE(s->store_data("good:1", Json{{"v", 1}}).ok());
  Result<Seq> bad = s->store_data("bad", Json{{"v", "x"}});
  ASSERT_TRUE(bad.ok());
  Result<Seq> last = s->store_data("good:2", Json{{"v", 2}});
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE(s->wait_for_backend("mem", *last, 10s).ok());
  EXPECT_TRUE(m->doc("good:1"));
  EXPECT_TRUE(m->doc("good:2"));
  EXPECT_FALSE(m->doc("bad"));
  Result<std::vector<DeadLetter>> dl = s->dead_letters().list();
  ASSERT_TRUE(dl.ok());
  ASSERT_EQ(dl->size(), 1u);
  EXPECT_EQ((*dl)[0].backend, "mem");
  EXPECT_EQ((*dl)[0].seq, *bad);
  EXPECT_EQ((*dl)[0].key, "bad");
  EXPECT_EQ((*dl)[0].operation, "store");
  EXPECT_EQ((*dl)[0].error_class, "Backend");
  EXPECT_EQ((*dl)[0].attempts, o.replication.max_attempts);
  EXPECT_EQ((*dl)[0].last_error.find("\"x\""), std::string::npos);  // no payload in it
  EXPECT_EQ(s->get_statistics().backends[0].dead_letters, 1u);
  // Retry while still refused: recorded, kept.
  EXPECT_EQ(s->dead_letters().retry("mem", *bad).code(), StatusCode::kBackend);
  EXPECT_EQ((*s->dead_letters().list("mem"))[0].attempts, o.replication.max_attempts + 1);
  m->heal("bad");
  ASSERT_TRUE(s->dead_letters().retry("mem", *bad).ok());
  EXPECT_EQ(m->doc("bad"), Json({{"v", "x"}}).dump());
  EXPECT_TRUE(s->dead_letters().list()->empty());
  EXPECT_EQ(s->dead_letters().retry("mem", *bad).code(), StatusCode::kNotFound);
  // Drop.
  m->poison("bad2");
  Result<Seq> bad2 = s->store_data("bad2", Json{{"v", 3}});
  ASSERT_TRUE(bad2.ok());
  Result<Seq> after = s->store_data("good:3", Json{{"v", 3}});
  ASSERT_TRUE(s->wait_for_backend("mem", *after, 10s).ok());
  ASSERT_EQ(s->dead_letters().list()->size(), 1u);
  EXPECT_TRUE(s->dead_letters().drop("mem", *bad2).ok());
  EXPECT_TRUE(s->dead_letters().list()->empty());
  EXPECT_EQ(s->dead_letters().drop("mem", *bad2).code(), StatusCode::kNotFound);
  // Dead letters are durable.
  m->poison("bad3");
  Result<Seq> bad3 = s->store_data("bad3", Json{{"v", 4}});
  Result<Seq> after3 = s->store_data("good:4", Json{{"v", 4}});
  ASSERT_TRUE(s->wait_for_backend("mem", *after3, 10s).ok());
  ASSERT_TRUE(s->close().ok());
  s = open_store(o);
  Result<std::vector<DeadLetter>> kept = s->dead_letters().list("mem");
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ(kept->size(), 1u);
  EXPECT_EQ((*kept)[0].seq, *bad3);
}

TEST(BackendsTest, AllBackendsDownIsUnavailableAndNothingIsWritten) {
  TempDir dir;
  auto s = open_store(fast_options(dir.path()));
  MemoryBackend* m = add_memory(*s, "mem", 1);
  ASSERT_TRUE(s->store_data("a", Json{{"v", 1}}).ok());
  m->down(true);
  // The worker learns it from its health probe.
  for (int i = 0; i < 200 && s->get_statistics().backends[0].healthy; ++i) std::this_thread::sleep_for(5ms);
  const Seq head = s->get_statistics().head_seq;
  Result<Seq> r = s->store_data("b", Json{{"v", 2}});
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("mem"), std::string::npos);
  EXPECT_EQ(s->get_statistics().head_seq, head);
  EXPECT_FALSE(s->load_data("b")->has_value());
  Health h = s->check_health();
  EXPECT_EQ(h.status, HealthStatus::kDegraded);
  ASSERT_EQ(h.backends.size(), 1u);
  EXPECT_EQ(h.backends[0].status, "unhealthy");
  EXPECT_NE(h.backends[0].last_error.find("down"), std::string::npos);
  // Offline mode: local writes succeed, the worker waits; then it drains.
  s->enable_offline_mode();
  EXPECT_TRUE(s->is_offline());
  EXPECT_EQ(s->check_health().status, HealthStatus::kOffline);
  Result<Seq> off = Status::internal("unset");
  for (int i = 0; i < 20; ++i) {
    off = s->store_data("off" + std::to_string(i), Json{{"i", i}});
    ASSERT_TRUE(off.ok()) << off.status().to_string();
  }
  EXPECT_FALSE(m->doc("off0"));
  m->down(false);
  s->disable_offline_mode();
  ASSERT_TRUE(s->wait_for_backend("mem", *off, 10s).ok());
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(m->doc("off" + std::to_string(i)));
  EXPECT_EQ(s->check_health().status, HealthStatus::kHealthy);
}

TEST(BackendsTest, WriteThroughTimesOutWithTheSeqWhenTheBackendStalls) {
  // A backend that accepts health checks but whose applies fail transiently:
  // admitted (it looks healthy), then not applied in time.
  class Flaky : public MemoryBackend {
   public:
    Status apply(const ChangeBatch& b) override {
      if (fail.load()) return Status::io_error("disk full on the target");
      return MemoryBackend::apply(b);
    }
    Status health_check() override { return Status(); }
    std::atomic<bool> fail{false};
  };
  TempDir dir;
  Options o = fast_options(dir.path());
  o.strategy_options.write_timeout = 200ms;
  o.replication.health_interval = 0ms;
  auto s = open_store(o);
  auto f = std::make_unique<Flaky>();
  Flaky* raw = f.get();
  ASSERT_TRUE(s->add_backend("flaky", std::move(f), 1).ok());
  ASSERT_TRUE(s->store_data("a", Json{{"v", 1}}).ok());
  raw->fail = true;
  Result<Seq> r = s->store_data("b", Json{{"v", 2}});
  ASSERT_EQ(r.status().code(), StatusCode::kTimedOut) << r.status().to_string();
  EXPECT_NE(r.status().message().find("committed as seq 2"), std::string::npos) << r.status().message();
  EXPECT_EQ(*s->load_data("b"), Json({{"v", 2}}));  // committed locally
  raw->fail = false;
  ASSERT_TRUE(s->wait_for_backend("flaky", 2, 10s).ok());
  EXPECT_TRUE(raw->doc("b"));
  EXPECT_GT(s->get_statistics().backends[0].retries, 0u);
}

TEST(BackendsTest, FailoverAcknowledgesThroughTheNextHealthyBackend) {
  TempDir dir;
  auto s = open_store(fast_options(dir.path()));
  MemoryBackend* primary = add_memory(*s, "primary", 1);
  MemoryBackend* secondary = add_memory(*s, "secondary", 2);
  ASSERT_TRUE(s->store_data("a", Json{{"v", 1}}).ok());
  primary->down(true);
  for (int i = 0; i < 200 && s->get_statistics().backends[0].healthy; ++i) std::this_thread::sleep_for(5ms);
  Result<Seq> last = Status::internal("unset");
  for (int i = 0; i < 30; ++i) {
    last = s->store_data("k" + std::to_string(i), Json{{"i", i}});
    ASSERT_TRUE(last.ok()) << last.status().to_string();
    EXPECT_TRUE(secondary->doc("k" + std::to_string(i)));  // acknowledged through it
  }
  EXPECT_FALSE(primary->doc("k0"));
  primary->down(false);
  ASSERT_TRUE(s->wait_for_backend("primary", *last, 10s).ok());
  EXPECT_EQ(primary->state().docs, secondary->state().docs);
}

TEST(BackendsTest, WriteBehindCoalescesRepeatedWritesOfAKey) {
  TempDir dir;
  auto s = open_store(fast_options(dir.path()));
  ASSERT_TRUE(s->set_sync_strategy(SyncStrategy::write_behind, {.interval = 200ms, .batch_size = 100000}).ok());
  MemoryBackend* m = add_memory(*s, "mem", 1);
  Result<Seq> last = Status::internal("unset");
  for (int i = 0; i < 1000; ++i) {
    last = s->store_data("hot", Json{{"i", i}});
    ASSERT_TRUE(last.ok());
  }
  ASSERT_TRUE(s->wait_for_backend("mem", *last, 10s).ok());
  EXPECT_EQ(m->doc("hot"), Json({{"i", 999}}).dump());
  // 1,000 events, a handful of flushes: far fewer writes than events.
  EXPECT_LT(m->state().store_writes, 50u) << m->state().store_writes;
}

TEST(BackendsTest, WriteBehindReturnsWithoutWaitingForTheBackend) {
  TempDir dir;
  auto s = open_store(fast_options(dir.path()));
  ASSERT_TRUE(s->set_sync_strategy(SyncStrategy::write_behind, {.interval = 60000ms, .batch_size = 1000000}).ok());
  MemoryBackend* m = add_memory(*s, "mem", 1);
  m->down(true);  // even a backend that is down does not stop writes under write-behind
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(s->store_data("k" + std::to_string(i), Json{{"i", i}}).ok());
  EXPECT_FALSE(m->doc("k0"));
  m->down(false);
}

TEST(BackendsTest, CloseFlushesPendingWriteBehindWork) {
  TempDir dir;
  Options o = fast_options(dir.path());
  auto s = open_store(o);
  ASSERT_TRUE(s->set_sync_strategy(SyncStrategy::write_behind, {.interval = 60000ms, .batch_size = 1000000}).ok());
  auto b = std::make_shared<MemoryBackend>();
  // The store owns its backend; keep a view of the state through a forwarding backend.
  struct Forward : Backend {
    std::shared_ptr<MemoryBackend> m;
    Status store_data(std::string_view k, const Json& d, Seq s) override { return m->store_data(k, d, s); }
    Result<std::optional<Json>> load_data(std::string_view k) override { return m->load_data(k); }
    Status delete_data(std::string_view k, Seq s) override { return m->delete_data(k, s); }
    Status health_check() override { return m->health_check(); }
    Status apply(const ChangeBatch& c) override { return m->apply(c); }
  };
  auto f = std::make_unique<Forward>();
  f->m = b;
  ASSERT_TRUE(s->add_backend("mem", std::move(f), 1).ok());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(s->store_data("k" + std::to_string(i), Json{{"i", i}}).ok());
  EXPECT_FALSE(b->doc("k99"));  // the interval is a minute away
  ASSERT_TRUE(s->close().ok());
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(b->doc("k" + std::to_string(i))) << i;
}

// Writers that never let the worker catch up still get one flush per interval,
// not a flush per step of the few events written during the step before.
TEST(BackendsTest, WriteBehindFlushesOncePerIntervalUnderASteadyStream) {
  TempDir dir;
  Options o = fast_options(dir.path());
  o.replication.max_batch_events = 1000000;  // a flush is one batch
  o.replication.max_batch_bytes = std::size_t{1} << 30;
  auto s = open_store(o);
  constexpr auto kInterval = 50ms;
  ASSERT_TRUE(s->set_sync_strategy(SyncStrategy::write_behind, {.interval = kInterval, .batch_size = 1000000}).ok());
  add_memory(*s, "mem", 1);
  const auto start = std::chrono::steady_clock::now();
  Result<Seq> last = Status::internal("unset");
  for (int i = 0; std::chrono::steady_clock::now() - start < 400ms; ++i) {
    last = s->store_data("k" + std::to_string(i % 5000), Json{{"i", i}});
    ASSERT_TRUE(last.ok());
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(s->wait_for_backend("mem", *last, 10s).ok());
  // One flush per interval that began while writing, and the last one.
  const std::uint64_t most = static_cast<std::uint64_t>(elapsed / kInterval) + 2;
  const std::uint64_t batches = s->get_statistics().backends[0].batches;
  EXPECT_LE(batches, most) << "for " << *last << " events";
}

// A flush of more pending events than one batch holds goes on, batch after
// batch, without waiting for another interval in between.
TEST(BackendsTest, WriteBehindFlushOfManyBatchesIsNotDelayedBetweenThem) {
  TempDir dir;
  Options o = fast_options(dir.path());
  o.replication.max_batch_events = 100;
  auto s = open_store(o);
  ASSERT_TRUE(s->set_sync_strategy(SyncStrategy::write_behind, {.interval = 60000ms, .batch_size = 1000}).ok());
  MemoryBackend* m = add_memory(*s, "mem", 1);
  Result<Seq> last = Status::internal("unset");
  for (int i = 0; i < 1000; ++i) {
    last = s->store_data("k" + std::to_string(i), Json{{"i", i}});
    ASSERT_TRUE(last.ok());
  }
  ASSERT_TRUE(s->wait_for_backend("mem", *last, 10s).ok());  // not a minute
  EXPECT_TRUE(m->doc("k999"));
  EXPECT_GE(s->get_statistics().backends[0].batches, 10u);
}

TEST(BackendsTest, WriteAroundDoesNotFillTheView) {
  TempDir dir;
  auto s = open_store(fast_options(dir.path()));
  add_memory(*s, "mem", 1);
  ASSERT_TRUE(s->set_sync_strategy(SyncStrategy::write_around).ok());
  ASSERT_TRUE(s->store_data("k", Json{{"v", 1}}).ok());
  EXPECT_FALSE(s->cache().get("k"));
  EXPECT_EQ(*s->load_data("k"), Json({{"v", 1}}));  // read from the state
  ASSERT_TRUE(s->set_sync_strategy(SyncStrategy::write_through).ok());
  ASSERT_TRUE(s->store_data("k2", Json{{"v", 2}}).ok());
  EXPECT_TRUE(s->cache().get("k2"));
}

TEST(BackendsTest, CustomStrategyRedisNowRegistryQueued) {
  TempDir dir;
  Options o = fast_options(dir.path());
  o.strategy_options.write_timeout = 300ms;
  auto s = open_store(o);
  MemoryBackend* redis = add_memory(*s, "redis", 1);
  MemoryBackend* registry = add_memory(*s, "registry", 2);
  // The reference README's example: Redis immediately, registry queued for backup.
  ASSERT_TRUE(s->set_sync_strategy("custom", [](SyncPlan& plan, const WriteInfo& w) {
                  plan.apply_now("redis");
                  plan.queue_backup("registry", w.key, w.doc);
                }).ok());
  registry->down(true);  // the backup being down does not hold writes up
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(s->store_data("k" + std::to_string(i), Json{{"i", i}}).ok());
    EXPECT_TRUE(redis->doc("k" + std::to_string(i)));
  }
  EXPECT_FALSE(registry->doc("k0"));
  registry->down(false);
  ASSERT_TRUE(s->wait_for_backend("registry", s->get_statistics().head_seq, 10s).ok());
  EXPECT_EQ(redis->state().docs, registry->state().docs);
  // Naming a backend that does not exist refuses the write before it is written.
  ASSERT_TRUE(s->set_sync_strategy("typo", [](SyncPlan& plan, const WriteInfo&) { plan.apply_now("redsi"); }).ok());
  const Seq head = s->get_statistics().head_seq;
  EXPECT_EQ(s->store_data("x", Json{{"v", 1}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->get_statistics().head_seq, head);
}

TEST(BackendsTest, ReadFallbackAsksBackendsOnlyForKeysTheLogNeverHad) {
  TempDir dir;
  auto s = open_store(fast_options(dir.path()));
  auto failing = std::make_unique<MemoryBackend>();
  failing->down(true);
  ASSERT_TRUE(s->add_backend("first", std::move(failing), 1).ok());
  auto legacy = std::make_unique<MemoryBackend>();
  ASSERT_TRUE(legacy->store_data("legacy:1", Json{{"from", "backend"}}, 7).ok());
  ASSERT_TRUE(legacy->store_data("gone", Json{{"stale", true}}, 7).ok());
  ASSERT_TRUE(s->add_backend("second", std::move(legacy), 2).ok());
  ASSERT_TRUE(s->set_sync_strategy(SyncStrategy::write_behind, {.interval = 60000ms, .batch_size = 1000000}).ok());
  // Fails over past "first" (down) to "second".
  Result<std::optional<Json>> r = s->load_data("legacy:1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Json({{"from", "backend"}}));
  EXPECT_TRUE(s->cache().get("legacy:1"));  // filled into the view
  // A key the log knows (deleted here) is absent, whatever a lagging backend holds.
  ASSERT_TRUE(s->store_data("gone", Json{{"v", 1}}).ok());
  ASSERT_TRUE(s->delete_data("gone").ok());
  EXPECT_FALSE(s->load_data("gone")->has_value());
  EXPECT_FALSE(s->load_data("nowhere")->has_value());
}

// A slow target that keeps a watermark, fails now and then (transient), and
// records the batches it acknowledged.
class FlakyOrderedBackend : public MemoryBackend {
 public:
  FlakyOrderedBackend() : MemoryBackend(/*keeps_watermark=*/true) {}
  Status apply(const ChangeBatch& b) override {
    std::this_thread::sleep_for(200us);  // the worker reads ahead meanwhile
    if (!b.reseed && b.through > 0 && ++calls_ % 7 == 0) return Status::unavailable("flaky: try again");
    Status s = MemoryBackend::apply(b);
    if (s.ok() && !b.reseed && b.through > 0 && !b.changes.empty()) {
      std::lock_guard l(mu_);
      acked_.push_back({b.changes.front().seq, b.through});
    }
    return s;
  }
  std::vector<std::pair<Seq, Seq>> acked() const {
    std::lock_guard l(mu_);
    return acked_;
  }

 private:
  std::atomic<int> calls_{0};
  mutable std::mutex mu_;
  std::vector<std::pair<Seq, Seq>> acked_;  // (first change's seq, through) per acknowledged batch
};

TEST(BackendsTest, ADrainReadingAheadKeepsLogOrderThroughFailures) {
  TempDir dir;
  Options o = fast_options(dir.path());
  o.replication.max_batch_events = 50;  // a backlog of many batches, each read ahead of its apply
  o.replication.initial_backoff = 1ms;
  o.replication.max_backoff = 2ms;
  auto s = open_store(o);
  auto b = std::make_unique<FlakyOrderedBackend>();
  FlakyOrderedBackend* m = b.get();
  ASSERT_TRUE(s->add_backend("mem", std::move(b), 1).ok());
  // One event applied first, so the target has a watermark and the backlog is
  // replayed from the log (not re-seeded from the state).
  ASSERT_TRUE(s->wait_for_backend("mem", s->store_data("first", Json{{"i", -1}}).value(), 10s).ok());
  s->enable_offline_mode();
  Seq last = 0;
  for (int i = 0; i < 3000; ++i) {
    last = s->store_data("k" + std::to_string(i % 300), Json{{"i", i}}).value();
  }
  s->disable_offline_mode();
  ASSERT_TRUE(s->wait_for_backend("mem", last, 30s).ok());
  for (int k = 0; k < 300; ++k) EXPECT_EQ(m->doc("k" + std::to_string(k)), Json({{"i", 2700 + k}}).dump()) << k;
  // Every acknowledged batch starts right after the one before: nothing skipped,
  // nothing out of order, whatever failed in between.
  const auto acked = m->acked();
  ASSERT_FALSE(acked.empty());
  for (std::size_t i = 1; i < acked.size(); ++i) {
    EXPECT_EQ(acked[i].first, acked[i - 1].second + 1) << i;
  }
  EXPECT_EQ(acked.back().second, last);
  EXPECT_GT(s->get_statistics().backends[0].retries, 0u);
  // Closing while a backlog drains (a read ahead may be in flight) is clean.
  s->enable_offline_mode();
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(s->store_data("k" + std::to_string(i % 300), Json{{"j", i}}).ok());
  s->disable_offline_mode();
  std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(s->close().ok());
}

}  // namespace
}  // namespace omni
