// close() and everything that can race with it: admission of every call and
// facade, async operations after close, close from the store's own threads and
// callbacks, concurrent closes, saturating timeouts.
#include <utility>  // before Asio (Boost 1.74 + g++ 12)

#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>

#include "omni/storage.h"
#include "test_util.h"

namespace omni {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using omni::testing::TempDir;

// Runs fn on a thread and fails (ending the process: a deadlocked thread cannot be
// joined) when it does not return within `limit`. A deadlock must fail, not hang.
void within(std::chrono::seconds limit, const char* what, std::function<void()> fn) {
  auto f = std::async(std::launch::async, std::move(fn));
  if (f.wait_for(limit) != std::future_status::ready) {
    std::fprintf(stderr, "DEADLOCK: %s did not finish within %lld s\n", what,
                 static_cast<long long>(limit.count()));
    std::_Exit(3);
  }
  f.get();
}

std::unique_ptr<Storage> open_store(const std::string& path, Options o = {}) {
  o.path = path;
  auto s = Storage::open(std::move(o));
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  return std::move(*s);
}

// Defect: the future of an async call made after close() never became ready (it
// was posted to the stopped pool) and the pending count stayed raised.
TEST(LifecycleTest, AsyncCallAfterCloseCompletesWithUnavailable) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->close().ok());
  within(10s, "async calls after close", [&] {
    auto f = s->async_store_data("k", {{"a", 1}}, {}, asio::use_future);
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    try {
      f.get();
      ADD_FAILURE() << "a store after close succeeded";
    } catch (const boost::system::system_error& e) {
      EXPECT_EQ(e.code(), make_error_code(StatusCode::kUnavailable));
    }
    std::promise<boost::system::error_code> p;
    s->async_load_data("k", [&](boost::system::error_code ec, std::optional<Json>) { p.set_value(ec); });
    auto ec = p.get_future();
    ASSERT_EQ(ec.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(ec.get(), make_error_code(StatusCode::kUnavailable));
  });
}

// Defect: cache().configure({.preload_keys}) after close() crashed (SIGSEGV) and
// cache().put returned OK; statistics silently reported head 0.
TEST(LifecycleTest, EveryFacadeRefusesAfterClose) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->store_data("critical:1", {{"a", 1}}).ok());
  ASSERT_TRUE(s->store_data("critical:2", {{"a", 2}}).ok());
  ASSERT_TRUE(s->close().ok());
  EXPECT_EQ(s->cache().configure({.preload_keys = {"critical:*"}}).code(), StatusCode::kUnavailable);
  EXPECT_EQ(s->cache().put("k", {{"a", 1}}).code(), StatusCode::kUnavailable);
  EXPECT_FALSE(s->cache().get("critical:1"));
  EXPECT_FALSE(s->cache().invalidate("critical:1"));
  EXPECT_EQ(s->audit().configure({.include_data_snapshots = true}).code(), StatusCode::kUnavailable);
  EXPECT_EQ(s->audit().apply_retention().code(), StatusCode::kUnavailable);
  EXPECT_EQ(s->notifications().add_callback("data_changed", [](const DataChanged&) {}).status().code(),
            StatusCode::kUnavailable);
  EXPECT_FALSE(s->notifications().remove_callback(1));
  EXPECT_EQ(s->store_data("k", {{"a", 1}}).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(s->load_data("critical:1").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(s->get_audit_trail("critical:1").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(s->wait_for(1, 10ms).code(), StatusCode::kUnavailable);
  EXPECT_EQ(s->check_health().status, HealthStatus::kOffline);
  Statistics st = s->get_statistics();
  EXPECT_TRUE(st.closed);
  EXPECT_EQ(st.head_seq, 2u);  // as of close, not 0
  EXPECT_EQ(st.event_count, 2u);
}

// Defect: cache().put read the log while close() reset it (a data race; TSan).
TEST(LifecycleTest, EveryCallRacingCloseReturnsOkOrUnavailable) {
  for (int round = 0; round < 5; ++round) {
    TempDir dir;
    auto s = open_store(dir.path(), {.executor_threads = 2});
    ASSERT_TRUE(s->store_data("a", {{"x", 1}}).ok());
    std::atomic<bool> go{false};
    std::vector<std::thread> ts;
    std::vector<std::future<Seq>> futures;
    std::mutex fm;
    auto ok_or_closed = [](const Status& st) {
      return st.ok() || st.code() == StatusCode::kUnavailable || st.code() == StatusCode::kTimedOut;
    };
    for (int t = 0; t < 6; ++t) {
      ts.emplace_back([&, t] {
        while (!go) std::this_thread::yield();
        for (int i = 0; i < 300; ++i) {
          const std::string k = "k" + std::to_string((t * 31 + i) % 17);
          switch ((t + i) % 10) {
            case 0: EXPECT_TRUE(ok_or_closed(s->store_data(k, {{"i", i}}).status())); break;
            case 1: EXPECT_TRUE(ok_or_closed(s->load_data(k).status())); break;
            case 2: EXPECT_TRUE(ok_or_closed(s->delete_data(k).status())); break;
            case 3: EXPECT_TRUE(ok_or_closed(s->store_batch({{k, {{"b", i}}}, {"a", {{"b", i}}}}).status())); break;
            case 4: EXPECT_TRUE(ok_or_closed(s->get_audit_trail(k).status())); break;
            case 5: EXPECT_TRUE(ok_or_closed(s->cache().put(k, {{"p", i}}))); break;
            case 6: EXPECT_TRUE(ok_or_closed(s->cache().configure({.preload_keys = {"k1*"}}))); break;
            case 7: (void)s->get_statistics(); (void)s->check_health(); (void)s->cache().get(k); break;
            case 8: EXPECT_TRUE(ok_or_closed(s->wait_for(1, 1ms))); break;
            case 9: {
              std::lock_guard l(fm);
              futures.push_back(s->async_store_data(k, {{"x", i}}, {}, asio::use_future));
              break;
            }
          }
        }
      });
    }
    go = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(round * 3));
    within(30s, "close racing every call", [&] { EXPECT_TRUE(s->close().ok()); });
    for (auto& t : ts) t.join();
    within(30s, "async calls racing close", [&] {
      for (auto& f : futures) {
        ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
        try {
          f.get();
        } catch (const boost::system::system_error& e) {
          EXPECT_EQ(e.code(), make_error_code(StatusCode::kUnavailable));
        }
      }
    });
  }
}

// Defect: two threads calling close() at once both joined the pool and hung in
// pthread_join (3 of 3 runs).
TEST(LifecycleTest, ConcurrentClosesAllReturn) {
  for (int round = 0; round < 5; ++round) {
    TempDir dir;
    auto s = open_store(dir.path());
    ASSERT_TRUE(s->store_data("k", {{"a", 1}}).ok());
    within(30s, "concurrent closes", [&] {
      std::vector<std::thread> ts;
      std::atomic<int> ok{0};
      for (int t = 0; t < 4; ++t) ts.emplace_back([&] { ok += s->close().ok(); });
      for (auto& t : ts) t.join();
      EXPECT_EQ(ok.load(), 4);
    });
  }
}

// Defect: close() from an async callback waited for its own delivery, then joined
// its own thread: a deadlock.
TEST(LifecycleTest, CloseFromAnAsyncCallbackCompletesAfterItReturns) {
  TempDir dir;
  auto s = open_store(dir.path());
  std::promise<Status> closed_in_callback;
  ASSERT_TRUE(s->notifications()
                  .add_async_callback("data_changed",
                                      [&](const DataChanged&) { closed_in_callback.set_value(s->close()); })
                  .ok());
  within(30s, "close from an async callback", [&] {
    ASSERT_TRUE(s->store_data("k", {{"a", 1}}).ok());
    EXPECT_TRUE(closed_in_callback.get_future().get().ok());
    // The close finishes on its own thread once the callback returned; a close()
    // from here waits for it.
    EXPECT_TRUE(s->close().ok());
    EXPECT_EQ(s->check_health().status, HealthStatus::kOffline);
    EXPECT_TRUE(s->get_statistics().closed);
  });
  auto again = Storage::open({.path = dir.path()});  // the database was really closed
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(**(*again)->load_data("k"), (Json{{"a", 1}}));
}

TEST(LifecycleTest, CloseFromASyncCallbackLetsTheWriteReturn) {
  TempDir dir;
  auto s = open_store(dir.path());
  Status in_callback = Status::timed_out("not called");
  ASSERT_TRUE(
      s->notifications().add_callback("data_changed", [&](const DataChanged&) { in_callback = s->close(); }).ok());
  within(30s, "close from a sync callback", [&] {
    Result<Seq> w = s->store_data("k", {{"a", 1}});
    EXPECT_TRUE(w.ok()) << w.status().to_string();  // committed before the callback ran
    EXPECT_TRUE(in_callback.ok());
    EXPECT_EQ(s->store_data("k2", {{"a", 1}}).status().code(), StatusCode::kUnavailable);
    EXPECT_TRUE(s->close().ok());
  });
  s.reset();
  auto again = std::move(*Storage::open({.path = dir.path()}));
  EXPECT_EQ(**again->load_data("k"), (Json{{"a", 1}}));
}

TEST(LifecycleTest, CloseFromAHandlerOnTheEnginesExecutor) {
  TempDir dir;
  auto s = open_store(dir.path());
  std::promise<Status> p;
  within(30s, "close from a completion handler", [&] {
    s->async_store_data("k", {{"a", 1}}, {}, [&](boost::system::error_code ec, Seq) {
      EXPECT_FALSE(ec);
      p.set_value(s->close());  // runs on the engine's executor
    });
    EXPECT_TRUE(p.get_future().get().ok());
    EXPECT_TRUE(s->close().ok());
  });
}

// Destroying the store inside its own callback hands the close to a thread of its
// own; the directory is released once it finished.
TEST(LifecycleTest, DestroyedInsideItsOwnCallbackClosesOnItsOwnThread) {
  TempDir dir;
  auto s = open_store(dir.path());
  std::promise<void> destroyed;
  ASSERT_TRUE(s->notifications()
                  .add_async_callback("data_changed",
                                      [&](const DataChanged&) {
                                        s.reset();
                                        destroyed.set_value();
                                      })
                  .ok());
  ASSERT_TRUE(s->store_data("k", {{"a", 1}}).ok());
  within(30s, "destroy inside a callback", [&] {
    destroyed.get_future().get();
    Result<std::unique_ptr<Storage>> again = Status::io_error("not tried");
    for (int i = 0; i < 200; ++i) {  // the detached close releases the path soon
      again = Storage::open({.path = dir.path()});
      if (again.ok()) break;
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(again.ok()) << again.status().to_string();
    EXPECT_EQ(**(*again)->load_data("k"), (Json{{"a", 1}}));
  });
}

// Defect: wait_for(seq, milliseconds::max()) returned kTimedOut at once ("within
// -1 ms") and close_timeout = milliseconds::max() timed out after 0 s.
TEST(LifecycleTest, HugeTimeoutsSaturate) {
  TempDir dir;
  auto s = open_store(dir.path(), {.close_timeout = std::chrono::milliseconds::max()});
  const Seq v = *s->store_data("k", {{"a", 1}});
  EXPECT_TRUE(s->wait_for(v, std::chrono::milliseconds::max()).ok());
  within(30s, "wait_for(max) ended by a write, then by close", [&] {
    auto later = std::async(std::launch::async, [&] { return s->wait_for(v + 1, std::chrono::milliseconds::max()); });
    std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(s->store_data("k", {{"a", 2}}).ok());
    EXPECT_TRUE(later.get().ok());
    auto never = std::async(std::launch::async, [&] { return s->wait_for(v + 100, std::chrono::milliseconds::max()); });
    std::this_thread::sleep_for(50ms);
    EXPECT_TRUE(s->close().ok());  // ends the wait instead of waiting for it
    EXPECT_EQ(never.get().code(), StatusCode::kUnavailable);
  });
}

}  // namespace
}  // namespace omni
