#include "omni/storage.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "test_util.h"

namespace omni {
namespace {

using omni::testing::TempDir;

std::unique_ptr<Storage> open_store(const std::string& path, Options o = {}) {
  o.path = path;
  auto r = Storage::open(std::move(o));
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? std::move(*r) : nullptr;
}

TEST(StorageTest, StoreLoadUpdateDelete) {
  TempDir dir;
  auto s = open_store(dir.path());
  Result<Seq> v1 = s->store_data("user:123", {{"name", "Alice"}, {"role", "admin"}});
  ASSERT_TRUE(v1.ok()) << v1.status().to_string();
  EXPECT_EQ(**s->load_data("user:123"), (Json{{"name", "Alice"}, {"role", "admin"}}));
  EXPECT_EQ(*s->get_version("user:123"), *v1);

  Result<Seq> v2 = s->store_data("user:123", {{"name", "Alice"}, {"role", "owner"}});
  ASSERT_TRUE(v2.ok());
  EXPECT_GT(*v2, *v1);
  EXPECT_EQ((**s->load_data("user:123"))["role"], "owner");

  ASSERT_TRUE(s->delete_data("user:123").ok());
  EXPECT_FALSE(s->load_data("user:123")->has_value());
  EXPECT_EQ(*s->get_version("user:123"), 0u);
  EXPECT_FALSE(s->load_data("never:written")->has_value());
}

TEST(StorageTest, RvalueDocumentsAreCachedOnWriteLvaluesOnFirstLoad) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->store_data("moved", Json{{"a", 1}}).ok());
  EXPECT_EQ(s->cache().get("moved"), (Json{{"a", 1}}));
  const Json kept = {{"b", 2}};
  ASSERT_TRUE(s->store_data("kept", kept).ok());
  EXPECT_FALSE(s->cache().get("kept"));
  EXPECT_EQ(**s->load_data("kept"), kept);
  EXPECT_EQ(s->cache().get("kept"), kept);
}

TEST(StorageTest, LoadSharedReturnsTheCachedDocumentWithoutCopying) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->store_data("k", Json{{"a", 1}}).ok());
  auto a = s->load_shared("k");
  auto b = s->load_shared("k");
  ASSERT_TRUE(a.ok() && b.ok() && *a);
  EXPECT_EQ(a->get(), b->get());  // one immutable document, shared
  EXPECT_EQ(**a, (Json{{"a", 1}}));
  auto none = s->load_shared("absent");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
  EXPECT_EQ(s->load_shared("").status().code(), StatusCode::kInvalidArgument);
}

TEST(StorageTest, LoadsFromStateWhenNotCached) {
  TempDir dir;
  Options o;
  o.cache_size = 0;  // every load goes to the state projection
  auto s = open_store(dir.path(), o);
  ASSERT_TRUE(s->store_data("k", {{"a", 1}}).ok());
  EXPECT_EQ(**s->load_data("k"), (Json{{"a", 1}}));
  EXPECT_EQ(s->get_statistics().cache.hits, 0u);
}

TEST(StorageTest, ExpectedVersionGuardsWrites) {
  TempDir dir;
  auto s = open_store(dir.path());
  Result<Seq> created = s->store_data("cfg", {{"v", 1}}, {.expected_version = 0});
  ASSERT_TRUE(created.ok());
  Result<Seq> again = s->store_data("cfg", {{"v", 9}}, {.expected_version = 0});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kConflict);
  EXPECT_NE(again.status().message().find("'cfg'"), std::string::npos);
  ASSERT_TRUE(s->store_data("cfg", {{"v", 2}}, {.expected_version = *created}).ok());
  EXPECT_EQ((**s->load_data("cfg"))["v"], 2);
  EXPECT_EQ(s->delete_data("cfg", {.expected_version = *created}).status().code(),
            StatusCode::kConflict);
  EXPECT_TRUE(s->load_data("cfg")->has_value());
}

TEST(StorageTest, BatchIsAllOrNothing) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->store_data("user:2", {{"name", "Bobby"}}).ok());
  const Seq head = s->get_statistics().head_seq;

  // One bad item (an array) refuses the whole batch.
  Result<Seq> bad = s->store_batch({{"user:1", {{"name", "Alice"}}}, {"user:3", Json::array()}});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  // One version conflict refuses the whole batch.
  Result<Seq> conflict = s->store_batch(
      {{"user:1", {{"name", "Alice"}}}, {"user:2", {{"name", "Bob"}}, Seq{0}}});
  EXPECT_EQ(conflict.status().code(), StatusCode::kConflict);
  EXPECT_FALSE(s->load_data("user:1")->has_value());
  EXPECT_EQ(s->get_statistics().head_seq, head);

  Result<Seq> ok = s->store_batch({{"user:1", {{"name", "Alice"}}}, {"user:2", {{"name", "Bob"}}}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, head + 2);
  EXPECT_EQ((**s->load_data("user:2"))["name"], "Bob");
}

// Defect: a store_batch of 10,000 keys left only 1,024 of them in the LRU view:
// each key's fill was refused because a later key of the same batch had raised its
// bucket's watermark.
TEST(StorageTest, BatchIsCachedLikeSingleWrites) {
  TempDir dir;
  Options o;
  o.cache_size = 20000;
  auto s = open_store(dir.path(), o);
  std::vector<BatchItem> items;
  for (int i = 0; i < 10000; ++i) items.push_back({"k" + std::to_string(i), {{"i", i}}, std::nullopt});
  items.push_back({"k7", {{"i", -7}}, std::nullopt});  // a key twice: its last write is cached
  ASSERT_TRUE(s->store_batch(std::move(items)).ok());
  EXPECT_EQ(s->cache().statistics().size, 10000u);
  EXPECT_EQ(s->cache().get("k0"), (Json{{"i", 0}}));
  EXPECT_EQ(s->cache().get("k9999"), (Json{{"i", 9999}}));
  EXPECT_EQ(s->cache().get("k7"), (Json{{"i", -7}}));
}

TEST(StorageTest, DataSurvivesReopen) {
  TempDir dir;
  Seq v;
  {
    auto s = open_store(dir.path());
    v = *s->store_data("k", {{"persist", true}});
    ASSERT_TRUE(s->close().ok());
    EXPECT_EQ(s->load_data("k").status().code(), StatusCode::kUnavailable);
  }
  auto s = open_store(dir.path());
  EXPECT_EQ(**s->load_data("k"), (Json{{"persist", true}}));
  EXPECT_EQ(*s->get_version("k"), v);
  EXPECT_EQ(s->get_statistics().head_seq, v);
}

TEST(StorageTest, AuditTrailRecordsEveryWrite) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->audit().configure({.include_data_snapshots = true}).ok());
  ASSERT_TRUE(s->store_data("user:1", {{"n", 1}}, {.identity = "svc-a"}).ok());
  ASSERT_TRUE(s->store_data("user:10", {{"n", 10}}).ok());
  ASSERT_TRUE(s->store_data("user:1", {{"n", 2}}, {.identity = "svc-b"}).ok());
  ASSERT_TRUE(s->delete_data("user:1", {.identity = "svc-c"}).ok());
  auto trail = s->get_audit_trail("user:1");
  ASSERT_TRUE(trail.ok());
  ASSERT_EQ(trail->size(), 3u);
  EXPECT_EQ((*trail)[0].operation, "store");
  EXPECT_EQ((*trail)[0].identity, "svc-a");
  EXPECT_EQ((*trail)[0].data, (Json{{"n", 1}}));
  EXPECT_EQ((*trail)[1].identity, "svc-b");
  EXPECT_EQ((*trail)[2].operation, "delete");
  EXPECT_FALSE((*trail)[2].data);
  EXPECT_LT((*trail)[0].seq, (*trail)[1].seq);
  EXPECT_LE((*trail)[0].timestamp, (*trail)[2].timestamp);
  EXPECT_GT((*trail)[0].timestamp, std::chrono::system_clock::now() - std::chrono::minutes(5));

  ASSERT_TRUE(s->audit().configure({.include_data_snapshots = false}).ok());
  EXPECT_FALSE((*s->get_audit_trail("user:1"))[0].data);
}

// The per-key limit shapes what a trail shows at once; the index itself is trimmed
// when the key is next written, never by a read (so the trail is a function of the
// log and the configuration, whoever read it when).
TEST(StorageTest, AuditKeepsNewestEntriesPerKey) {
  TempDir dir;
  auto s = open_store(dir.path());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(s->store_data("k", {{"i", i}}).ok());
  ASSERT_TRUE(s->audit().configure({.include_data_snapshots = true, .max_entries_per_key = 3}).ok());
  auto trail = *s->get_audit_trail("k");
  ASSERT_EQ(trail.size(), 3u);
  EXPECT_EQ(trail.front().data, (Json{{"i", 7}}));
  ASSERT_TRUE(s->audit().configure({.max_entries_per_key = 0}).ok());
  EXPECT_EQ(s->get_audit_trail("k")->size(), 10u);  // the read pruned nothing
  ASSERT_TRUE(s->audit().configure({.max_entries_per_key = 3}).ok());
  ASSERT_TRUE(s->store_data("k", {{"i", 10}}).ok());  // the write trims the key's index
  ASSERT_TRUE(s->audit().configure({.max_entries_per_key = 0}).ok());
  trail = *s->get_audit_trail("k");
  ASSERT_EQ(trail.size(), 3u);
  EXPECT_EQ(trail.front().data, (Json{{"i", 8}}));
}

TEST(StorageTest, AuditRetentionDropsOldEntries) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->store_data("k", {{"i", 1}}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  ASSERT_TRUE(s->store_data("k", {{"i", 2}}).ok());
  // The first entry is 2.5 s old, the second fresh (2 s of slack for a slow machine).
  ASSERT_TRUE(s->audit().configure({.retention = std::chrono::seconds(2)}).ok());
  EXPECT_EQ(s->get_audit_trail("k")->size(), 1u);
  // Reading pruned nothing: without the retention both entries are back.
  ASSERT_TRUE(s->audit().configure({.retention = std::chrono::seconds(0)}).ok());
  EXPECT_EQ(s->get_audit_trail("k")->size(), 2u);
  // The retention pass prunes the index for good (the log keeps the event).
  ASSERT_TRUE(s->audit().configure({.retention = std::chrono::seconds(2)}).ok());
  ASSERT_TRUE(s->audit().apply_retention().ok());
  ASSERT_TRUE(s->audit().configure({.retention = std::chrono::seconds(0)}).ok());
  auto trail = *s->get_audit_trail("k");
  ASSERT_EQ(trail.size(), 1u);
  EXPECT_EQ(trail[0].seq, 2u);
}

// A retention too long for the clock's range saturates ("nothing is that old")
// instead of overflowing into "everything is".
TEST(StorageTest, HugeAuditRetentionKeepsEverything) {
  TempDir dir;
  auto s = open_store(dir.path());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(s->store_data("k", {{"i", i}}).ok());
  for (auto r : {std::chrono::seconds::max(),
                 std::chrono::duration_cast<std::chrono::seconds>(std::chrono::hours(24 * 365 * 400))}) {
    ASSERT_TRUE(s->audit().configure({.retention = r}).ok());
    EXPECT_EQ(s->get_audit_trail("k")->size(), 3u);
    ASSERT_TRUE(s->audit().apply_retention().ok());
    ASSERT_TRUE(s->audit().configure({.retention = std::chrono::seconds(0)}).ok());
    EXPECT_EQ(s->get_audit_trail("k")->size(), 3u);
  }
  EXPECT_EQ(s->audit().configure({.retention = std::chrono::seconds(-1)}).code(),
            StatusCode::kInvalidArgument);
}

TEST(StorageTest, DataChangedCallbacksSeeOldAndNew) {
  TempDir dir;
  auto s = open_store(dir.path());
  std::vector<DataChanged> seen;
  std::mutex mu;
  std::condition_variable cv;
  int async_seen = 0;
  ASSERT_TRUE(s->notifications().add_callback("data_changed", [&](const DataChanged& c) {
    seen.push_back(c);
  }).ok());
  auto id = s->notifications().add_async_callback("data_changed", [&](const DataChanged&) {
    std::lock_guard l(mu);
    ++async_seen;
    cv.notify_all();
  });
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(s->notifications().add_callback("nope", [](const DataChanged&) {}).status().code(),
            StatusCode::kInvalidArgument);

  ASSERT_TRUE(s->store_data("k", {{"v", 1}}, {.identity = "me"}).ok());
  ASSERT_TRUE(s->store_data("k", {{"v", 2}}).ok());
  ASSERT_TRUE(s->delete_data("k").ok());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_FALSE(seen[0].old_data);
  EXPECT_EQ(seen[0].new_data, (Json{{"v", 1}}));
  EXPECT_EQ(seen[0].identity, "me");
  EXPECT_EQ(seen[1].old_data, (Json{{"v", 1}}));
  EXPECT_EQ(seen[2].old_data, (Json{{"v", 2}}));
  EXPECT_FALSE(seen[2].new_data);
  {
    std::unique_lock l(mu);
    ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(10), [&] { return async_seen == 3; }));
  }
  EXPECT_TRUE(s->notifications().remove_callback(*id));
  EXPECT_FALSE(s->notifications().remove_callback(*id));
}

TEST(StorageTest, KeyOldNewCallbackFormOfTheReferenceReadme) {
  TempDir dir;
  auto s = open_store(dir.path());
  std::vector<std::string> seen;
  ASSERT_TRUE(s->notifications().add_callback(
      "data_changed", [&](const std::string& key, const std::optional<Json>& old_data,
                          const std::optional<Json>& new_data) {
        seen.push_back(key + ":" + (old_data ? old_data->dump() : "-") + ">" +
                       (new_data ? new_data->dump() : "-"));
      }).ok());
  ASSERT_TRUE(s->store_data("k", Json{{"v", 1}}).ok());
  ASSERT_TRUE(s->delete_data("k").ok());
  EXPECT_EQ(seen, (std::vector<std::string>{R"(k:->{"v":1})", R"(k:{"v":1}>-)"}));
}

TEST(StorageTest, SlowAsyncCallbackDoesNotBlockWriters) {
  TempDir dir;
  auto s = open_store(dir.path());
  std::atomic<bool> release{false};
  std::atomic<int> calls{0};
  ASSERT_TRUE(s->notifications().add_async_callback("data_changed", [&](const DataChanged&) {
    while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ++calls;
  }).ok());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(s->store_data("k", {{"i", i}}).ok());
  EXPECT_EQ(calls.load(), 0);  // all 50 writes returned while the callback was stuck
  release = true;
  ASSERT_TRUE(s->close().ok());  // waits for the queued callbacks
  EXPECT_EQ(calls.load(), 50);
}

TEST(StorageTest, CacheConfigureEvictAndPreload) {
  TempDir dir;
  {
    auto s = open_store(dir.path());
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(s->store_data("critical:" + std::to_string(i), {{"i", i}}).ok());
      ASSERT_TRUE(s->store_data("other:" + std::to_string(i), {{"i", i}}).ok());
    }
  }
  Options o;
  o.preload_keys = {"critical:*"};
  auto s = open_store(dir.path(), o);
  EXPECT_EQ(s->cache().statistics().size, 5u);
  EXPECT_EQ(*s->cache().get("critical:3"), (Json{{"i", 3}}));
  EXPECT_FALSE(s->cache().get("other:3"));

  std::vector<std::string> evicted;
  ASSERT_TRUE(s->cache().configure({.max_size = 2, .on_evict = [&](const std::string& k, const Json&) {
                                      evicted.push_back(k);
                                    }}).ok());
  EXPECT_EQ(evicted.size(), 3u);
  EXPECT_EQ(s->cache().statistics().capacity, 2u);
  ASSERT_TRUE(s->load_data("other:1").ok());
  ASSERT_TRUE(s->load_data("other:1").ok());
  CacheStatistics st = s->get_statistics().cache;
  EXPECT_GE(st.hits, 1u);
  EXPECT_GT(st.hit_ratio, 0.0);
  EXPECT_EQ(st.evictions, 4u);

  // A manual put is visible to load_data until the key is written again.
  ASSERT_TRUE(s->cache().put("other:2", {{"manual", true}}).ok());
  EXPECT_EQ(**s->load_data("other:2"), (Json{{"manual", true}}));
  ASSERT_TRUE(s->store_data("other:2", {{"i", 22}}).ok());
  EXPECT_EQ(**s->load_data("other:2"), (Json{{"i", 22}}));
  EXPECT_EQ(s->cache().put("", {}).code(), StatusCode::kInvalidArgument);
}

TEST(StorageTest, WaitForSeesCommittedSeq) {
  TempDir dir;
  auto s = open_store(dir.path());
  Seq v = *s->store_data("k", {{"a", 1}});
  EXPECT_TRUE(s->wait_for(v, std::chrono::milliseconds(10)).ok());
  EXPECT_EQ(s->wait_for(v + 1, std::chrono::milliseconds(20)).code(), StatusCode::kTimedOut);
}

TEST(StorageTest, HealthStatisticsAndMetrics) {
  TempDir dir;
  auto s = open_store(dir.path());
  std::vector<std::string> ops;
  s->add_instrumentation_callback(
      [&](std::string_view op, std::string_view, std::chrono::nanoseconds d) {
        EXPECT_GE(d.count(), 0);
        ops.emplace_back(op);
      });
  ASSERT_TRUE(s->store_data("a", {{"x", 1}}).ok());
  ASSERT_TRUE(s->load_data("a").ok());
  EXPECT_FALSE(s->load_data("").ok());
  EXPECT_EQ(ops, (std::vector<std::string>{"store_data", "load_data", "load_data"}));

  Health h = s->check_health();
  EXPECT_EQ(h.status, HealthStatus::kHealthy);
  EXPECT_EQ(h.head_seq, 1u);
  Statistics st = s->get_statistics();
  EXPECT_EQ(st.event_count, 1u);
  EXPECT_EQ(st.cache.hits, 1u);
  Metrics m = s->get_metrics();
  EXPECT_EQ(m.operations["store_data"].count, 1u);
  EXPECT_EQ(m.operations["load_data"].errors, 1u);
  EXPECT_NEAR(m.error_rate, 1.0 / 3, 1e-9);
  EXPECT_GT(m.operations["store_data"].p50.count(), 0);
  std::string text = s->metrics_text();
  EXPECT_NE(text.find("omni_operations_total{op=\"load_data\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("omni_head_seq 1"), std::string::npos);

  ASSERT_TRUE(s->close().ok());
  EXPECT_EQ(s->check_health().status, HealthStatus::kOffline);
}

TEST(StorageTest, CloseIsBoundedByCloseTimeout) {
  TempDir dir;
  Options o;
  o.close_timeout = std::chrono::milliseconds(100);
  auto s = open_store(dir.path(), o);
  std::atomic<bool> entered{false}, release{false};
  ASSERT_TRUE(s->notifications().add_callback("data_changed", [&](const DataChanged&) {
    entered = true;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }).ok());
  std::thread writer([&] { EXPECT_TRUE(s->store_data("k", Json{{"a", 1}}).ok()); });
  while (!entered) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto start = std::chrono::steady_clock::now();
  Status first = s->close();  // the write is still in its callback
  EXPECT_EQ(first.code(), StatusCode::kTimedOut) << first.to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(s->load_data("k").status().code(), StatusCode::kUnavailable);  // refusing new calls
  release = true;
  writer.join();
  EXPECT_TRUE(s->close().ok());
}

}  // namespace
}  // namespace omni
