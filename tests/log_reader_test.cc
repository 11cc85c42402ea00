// What sinks and tools read the log through: read_from (a bounded, consistent
// prefix), notify_when (the head-advanced signal) and the cursor store.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "omni/log/cursor_store.h"
#include "omni/log/event_log.h"
#include "test_util.h"

namespace omni::log {
namespace {

using omni::testing::TempDir;

std::unique_ptr<EventLog> open_log(const std::string& path) {
  auto r = EventLog::open({.path = path});
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? std::move(*r) : nullptr;
}

Seq append(EventLog& log, const std::string& key, std::size_t payload_bytes = 10) {
  AppendRequest req;
  req.events.push_back({EventType::DataStored, key, std::string(payload_bytes, 'x')});
  Status s = log.append(&req);
  EXPECT_TRUE(s.ok()) << s.to_string();
  return req.first_seq;
}

TEST(LogReaderTest, ReadFromReturnsConsecutiveEventsWithinTheLimits) {
  TempDir dir;
  auto log = open_log(dir.path());
  for (int i = 1; i <= 10; ++i) append(*log, "k" + std::to_string(i));
  Result<EventBatch> b = log->read_from(3, {.max_events = 4});
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  ASSERT_EQ(b->events.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(b->events[i].seq, 3 + i);
  EXPECT_EQ(b->events[0].key, "k3");
  EXPECT_EQ(b->next, 7u);
  EXPECT_EQ(b->head, 10u);
  b = log->read_from(b->next);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->events.size(), 4u);  // 7..10
  EXPECT_EQ(b->next, 11u);
  b = log->read_from(11);  // caught up
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->events.empty());
  EXPECT_EQ(b->next, 11u);
  EXPECT_EQ(log->read_from(0).status().code(), StatusCode::kInvalidArgument);
}

TEST(LogReaderTest, ScanRangeVisitsEachEventOnceInOrderAndReusesTheEvent) {
  TempDir dir;
  auto log = open_log(dir.path());
  // Payloads that shrink and grow: a reused Event must not keep a longer old value.
  for (int i = 1; i <= 50; ++i) append(*log, "k" + std::to_string(i), i % 2 == 0 ? 300 : 3);
  std::vector<Seq> seen;
  Status s = log->scan_range(5, 40, [&](const Event& e) -> Status {
    seen.push_back(e.seq);
    EXPECT_EQ(e.key, "k" + std::to_string(e.seq));
    EXPECT_EQ(e.payload.size(), e.seq % 2 == 0 ? 300u : 3u);
    return Status();
  });
  ASSERT_TRUE(s.ok()) << s.to_string();
  ASSERT_EQ(seen.size(), 36u);
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], 5 + i);
  // fn's error stops the scan and is returned as it is.
  int calls = 0;
  s = log->scan_range(1, 50, [&](const Event&) -> Status {
    return ++calls == 3 ? Status::conflict("stop here") : Status();
  });
  EXPECT_EQ(s.code(), StatusCode::kConflict);
  EXPECT_EQ(calls, 3);
  // Past the head is events missing, named by seq.
  s = log->scan_range(45, 60, [](const Event&) { return Status(); });
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find("seq 51"), std::string::npos) << s.message();
  EXPECT_EQ(log->scan_range(0, 3, [](const Event&) { return Status(); }).code(), StatusCode::kInvalidArgument);
}

TEST(LogReaderTest, ByteLimitStillReturnsOneEvent) {
  TempDir dir;
  auto log = open_log(dir.path());
  append(*log, "big", 10000);
  append(*log, "small");
  Result<EventBatch> b = log->read_from(1, {.max_bytes = 100});
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->events.size(), 1u);  // over the limit alone, but never nothing
  EXPECT_EQ(b->events[0].payload.size(), 10000u);
  b = log->read_from(1, {.max_bytes = 1 << 20});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->events.size(), 2u);
}

// Readers racing writers see a gap-free prefix that ends at the head they read.
TEST(LogReaderTest, ConcurrentReadsSeeAConsistentPrefix) {
  TempDir dir;
  auto log = open_log(dir.path());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; i < 20000 && !stop; ++i) append(*log, "w");
  });
  Seq next = 1;
  int reads = 0;
  while (next <= 3000 || reads < 10) {
    Result<EventBatch> b = log->read_from(next, {.max_events = 256});
    ASSERT_TRUE(b.ok()) << b.status().to_string();
    for (const Event& e : b->events) ASSERT_EQ(e.seq, next++);
    ASSERT_LE(next - 1, b->head);
    ++reads;
  }
  stop = true;
  writer.join();
}

TEST(LogReaderTest, MissingEventIsCorruptionNamingItsSeq) {
  TempDir dir;
  {
    auto log = open_log(dir.path());
    for (int i = 0; i < 5; ++i) append(*log, "k");
  }
  omni::testing::with_raw_db(dir.path(), [](rocksdb::DB* db, const auto& cf) {
    ASSERT_TRUE(db->Delete({}, cf("events"), EventLog::seq_key(3)).ok());  // behind the log's back
  });
  auto log = open_log(dir.path());
  Result<EventBatch> b = log->read_from(1);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kCorruption);
  EXPECT_NE(b.status().message().find("seq 3"), std::string::npos) << b.status().to_string();
}

TEST(LogReaderTest, NotifyWhenFiresOnceTheHeadPassesTheSeq) {
  TempDir dir;
  auto log = open_log(dir.path());
  append(*log, "a");
  std::vector<std::pair<Seq, StatusCode>> fired;
  std::mutex mu;
  auto record = [&](Seq want) {
    return [&, want](Status s) {
      std::lock_guard l(mu);
      fired.emplace_back(want, s.code());
    };
  };
  log->notify_when(1, record(1));  // already there: at once
  log->notify_when(3, record(3));
  log->notify_when(2, record(2));
  log->notify_when(9, record(9));
  {
    std::lock_guard l(mu);
    ASSERT_EQ(fired.size(), 1u);
  }
  append(*log, "b");  // head 2
  append(*log, "c");  // head 3
  {
    std::lock_guard l(mu);
    ASSERT_EQ(fired.size(), 3u);
    EXPECT_EQ(fired[1], (std::pair<Seq, StatusCode>{2, StatusCode::kOk}));
    EXPECT_EQ(fired[2], (std::pair<Seq, StatusCode>{3, StatusCode::kOk}));
  }
  log->interrupt_waiters();  // closing: the last one is told
  std::lock_guard l(mu);
  ASSERT_EQ(fired.size(), 4u);
  EXPECT_EQ(fired[3], (std::pair<Seq, StatusCode>{9, StatusCode::kUnavailable}));
}

TEST(CursorStoreTest, CursorsPersistAndNeverMoveBack) {
  TempDir dir;
  {
    auto log = open_log(dir.path());
    for (int i = 0; i < 10; ++i) append(*log, "k");
    CursorStore cursors(*log);
    EXPECT_EQ(*cursors.get("redis"), 0u);
    ASSERT_TRUE(cursors.put("redis", 4).ok());
    ASSERT_TRUE(cursors.put("registry", 9, /*sync=*/true).ok());
    EXPECT_EQ(cursors.put("redis", 3).code(), StatusCode::kInvalidArgument);  // back
    EXPECT_EQ(cursors.put("redis", 11).code(), StatusCode::kInvalidArgument);  // past the head
    EXPECT_EQ(cursors.put("", 1).code(), StatusCode::kInvalidArgument);
    ASSERT_TRUE(cursors.put("redis", 7).ok());
    ASSERT_TRUE(log->close(std::chrono::steady_clock::now() + std::chrono::seconds(5)).ok());
  }
  auto log = open_log(dir.path());
  CursorStore cursors(*log);
  EXPECT_EQ(*cursors.get("redis"), 7u);
  EXPECT_EQ(*cursors.all(), (std::map<std::string, Seq>{{"redis", 7}, {"registry", 9}}));
  ASSERT_TRUE(cursors.erase("registry").ok());
  EXPECT_EQ(*cursors.get("registry"), 0u);
}

}  // namespace
}  // namespace omni::log
