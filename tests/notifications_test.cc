// data_changed delivery: commit order across writers, removal, callbacks that
// throw, and a previous document that cannot be read back.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "omni/log/event.h"
#include "omni/storage.h"
#include "test_util.h"

namespace omni {
namespace {

using namespace std::chrono_literals;
using omni::testing::TempDir;

// Waits (bounded) until pred holds.
template <typename Pred>
bool eventually(Pred pred, std::chrono::seconds limit = 30s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Defect: with 8 writers x 500 stores about 5 % of async callbacks arrived after
// a higher seq; storage.h promises commit order.
TEST(NotificationsTest, AsyncCallbacksArriveInCommitOrder) {
  TempDir dir;
  auto s = std::move(*Storage::open({.path = dir.path(), .executor_threads = 4}));
  std::mutex mu;
  std::vector<Seq> seen;
  ASSERT_TRUE(s->notifications()
                  .add_async_callback("data_changed",
                                      [&](const DataChanged& c) {
                                        std::lock_guard l(mu);
                                        seen.push_back(c.seq);
                                      })
                  .ok());
  constexpr int kWriters = 8, kStores = 500;
  std::vector<std::thread> ts;
  for (int t = 0; t < kWriters; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kStores; ++i) {
        if (i % 50 == 0) {  // batches take one slot for several seqs
          ASSERT_TRUE(s->store_batch({{"b" + std::to_string(t), {{"i", i}}}, {"c", {{"i", i}}}}).ok());
        } else {
          ASSERT_TRUE(s->store_data("k" + std::to_string(t), {{"i", i}}).ok());
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  const std::size_t expected = kWriters * kStores + kWriters * (kStores / 50);
  ASSERT_TRUE(eventually([&] {
    std::lock_guard l(mu);
    return seen.size() == expected;
  }));
  std::lock_guard l(mu);
  std::size_t out_of_order = 0;
  for (std::size_t i = 1; i < seen.size(); ++i) out_of_order += seen[i] <= seen[i - 1];
  EXPECT_EQ(out_of_order, 0u) << "of " << seen.size() << " callbacks";
  EXPECT_EQ(seen.front(), 1u);
  EXPECT_EQ(seen.back(), static_cast<Seq>(expected));
}

// Defect: remove_callback returned true but deliveries already queued for it
// still ran.
TEST(NotificationsTest, RemovedCallbackIsNotCalledFromTheQueue) {
  TempDir dir;
  auto s = std::move(*Storage::open({.path = dir.path()}));
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> calls{0};
  std::promise<void> first_started;
  auto id = s->notifications().add_async_callback("data_changed", [&](const DataChanged&) {
    if (calls.fetch_add(1) == 0) {
      first_started.set_value();
      released.wait();  // holds the strand: later deliveries queue behind it
    }
  });
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(s->store_data("k", {{"i", 0}}).ok());
  first_started.get_future().wait();
  for (int i = 1; i <= 20; ++i) ASSERT_TRUE(s->store_data("k", {{"i", i}}).ok());
  EXPECT_TRUE(s->notifications().remove_callback(*id));
  EXPECT_FALSE(s->notifications().remove_callback(*id));
  release.set_value();
  // A later callback runs after the queued deliveries: once it ran, they did too.
  std::promise<void> marker;
  ASSERT_TRUE(s->notifications().add_async_callback("data_changed", [&](const DataChanged& c) {
    if (c.key == "marker") marker.set_value();
  }).ok());
  ASSERT_TRUE(s->store_data("marker", {{"m", 1}}).ok());
  ASSERT_EQ(marker.get_future().wait_for(30s), std::future_status::ready);
  EXPECT_EQ(calls.load(), 1);  // only the delivery already running when it was removed
}

// Defect: callbacks were caught only for std::exception: anything else escaped
// store_data (sync) or called std::terminate on a pool thread (async).
TEST(NotificationsTest, CallbacksThrowingAnythingAreContained) {
  TempDir dir;
  auto s = std::move(*Storage::open({.path = dir.path()}));
  ASSERT_TRUE(s->notifications().add_callback("data_changed", [](const DataChanged&) { throw 42; }).ok());
  ASSERT_TRUE(s->notifications()
                  .add_callback("data_changed", [](const DataChanged&) { throw std::runtime_error("sync"); })
                  .ok());
  ASSERT_TRUE(s->notifications().add_async_callback("data_changed", [](const DataChanged&) { throw "async"; }).ok());
  std::atomic<int> later{0};
  ASSERT_TRUE(s->notifications().add_async_callback("data_changed", [&](const DataChanged&) { ++later; }).ok());
  s->add_instrumentation_callback([](std::string_view, std::string_view, std::chrono::nanoseconds) { throw 7; });
  for (int i = 0; i < 10; ++i) {
    Result<Seq> r = s->store_data("k", {{"i", i}});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
  }
  EXPECT_TRUE(eventually([&] { return later.load() == 10; }));  // the pool survived every throw
  EXPECT_TRUE(s->load_data("k").ok());
}

// Defect: a previous document that did not parse became a discarded JSON value in
// old_data, silently. Now old_data is empty, old_data_error says why, and health
// reports the damage.
TEST(NotificationsTest, UnreadablePreviousDocumentIsReportedNotSwallowed) {
  TempDir dir;
  {
    auto s = std::move(*Storage::open({.path = dir.path()}));
    ASSERT_TRUE(s->store_data("k", {{"a", 1}}).ok());
    // Not the newest event: open checks the newest one against the head anchor.
    ASSERT_TRUE(s->store_data("other", {{"b", 1}}).ok());
  }
  {
    // Re-encode event 1 with a payload that is not JSON: it still verifies as a
    // FlatBuffer (the codec does not parse payloads), as damage inside it would.
    std::string bytes;
    omni::testing::with_raw_db(dir.path(), [&](rocksdb::DB* db, const auto& cf) {
      ASSERT_TRUE(db->Get({}, cf("events"), log::EventLog::seq_key(1), &bytes).ok());
    });
    log::Event e = *log::decode_event(bytes, 1);
    std::string damaged;
    log::encode_event({e.seq, e.timestamp_ns, e.type, e.identity, e.key, "{\"a\":1", &e.prev_hash}, &damaged);
    omni::testing::overwrite_event(dir.path(), 1, damaged);
  }
  auto s = std::move(*Storage::open({.path = dir.path()}));
  std::optional<DataChanged> got;
  ASSERT_TRUE(s->notifications().add_callback("data_changed", [&](const DataChanged& c) { got = c; }).ok());
  Result<Seq> w = s->store_data("k", {{"a", 2}});
  ASSERT_TRUE(w.ok()) << w.status().to_string();  // the new value is stored
  ASSERT_TRUE(got);
  EXPECT_FALSE(got->old_data);
  ASSERT_TRUE(got->old_data_error);
  EXPECT_NE(got->old_data_error->find("version 1"), std::string::npos) << *got->old_data_error;
  EXPECT_EQ(got->new_data, (Json{{"a", 2}}));
  Health h = s->check_health();
  EXPECT_EQ(h.status, HealthStatus::kDegraded);
  EXPECT_NE(h.detail.find("not valid JSON"), std::string::npos) << h.detail;
  EXPECT_EQ(**s->load_data("k"), (Json{{"a", 2}}));
}

}  // namespace
}  // namespace omni
