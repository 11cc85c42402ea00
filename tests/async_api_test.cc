#include <utility>  // before Asio (Boost 1.74 + g++ 12)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include "omni/storage.h"
#include "test_util.h"

namespace omni {
namespace {

namespace asio = boost::asio;

// g++ 12 mishandles temporaries built inside co_await expressions (string literals
// in coroutine lambdas do not compile; a `{}` WriteOptions is freed twice), so the
// arguments here are named variables.
asio::awaitable<void> store_load_delete(Storage& s, bool* done) {
  const std::string key = "k", empty;
  const Json doc = {{"a", 1}};
  const WriteOptions wo;
  Seq v = co_await s.async_store_data(key, doc, wo, asio::use_awaitable);
  EXPECT_EQ(v, 1u);
  std::optional<Json> got = co_await s.async_load_data(key, asio::use_awaitable);
  EXPECT_EQ(got, doc);
  co_await s.async_delete_data(key, wo, asio::use_awaitable);
  got = co_await s.async_load_data(key, asio::use_awaitable);
  EXPECT_FALSE(got);
  // Errors surface as system_error carrying the omni status code.
  try {
    co_await s.async_store_data(empty, doc, wo, asio::use_awaitable);
    ADD_FAILURE() << "an empty key was accepted";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), make_error_code(StatusCode::kInvalidArgument));
    EXPECT_EQ(&e.code().category(), &error_category());
  }
  *done = true;
}

TEST(AsyncApiTest, UseAwaitableStoresLoadsAndDeletes) {
  omni::testing::TempDir dir;
  auto s = std::move(*Storage::open({.path = dir.path()}));
  asio::io_context io;
  bool done = false;
  asio::co_spawn(io, store_load_delete(*s, &done), asio::detached);
  io.run();
  EXPECT_TRUE(done);
}

// The head-advanced signal: no thread blocks while waiting; a write completes it,
// close ends it with kUnavailable, and after close it completes at once.
TEST(AsyncApiTest, AsyncWaitForCompletesWhenTheHeadArrives) {
  omni::testing::TempDir dir;
  auto s = std::move(*Storage::open({.path = dir.path()}));
  std::future<void> now = s->async_wait_for(0, asio::use_future);
  ASSERT_EQ(now.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  now.get();
  std::future<void> later = s->async_wait_for(2, asio::use_future);
  ASSERT_TRUE(s->store_data("a", {{"x", 1}}).ok());
  EXPECT_EQ(later.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  ASSERT_TRUE(s->store_data("b", {{"x", 2}}).ok());
  ASSERT_EQ(later.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  later.get();
  std::promise<boost::system::error_code> never;
  s->async_wait_for(100, [&](boost::system::error_code ec) { never.set_value(ec); });
  ASSERT_TRUE(s->close().ok());
  auto ec = never.get_future();
  ASSERT_EQ(ec.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(ec.get(), make_error_code(StatusCode::kUnavailable));
  std::future<void> closed = s->async_wait_for(1, asio::use_future);
  ASSERT_EQ(closed.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_THROW(closed.get(), boost::system::system_error);
}

TEST(AsyncApiTest, UseFutureCompletes) {
  omni::testing::TempDir dir;
  auto s = std::move(*Storage::open({.path = dir.path()}));
  std::future<Seq> f = s->async_store_data("k", {{"a", 2}}, {}, asio::use_future);
  EXPECT_EQ(f.get(), 1u);
  std::future<std::optional<Json>> g = s->async_load_data("k", asio::use_future);
  EXPECT_EQ(g.get(), (Json{{"a", 2}}));
  std::future<Seq> c = s->async_store_data("k", {{"a", 3}}, {.expected_version = 0}, asio::use_future);
  try {
    c.get();
    ADD_FAILURE() << "conflict not reported";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), make_error_code(StatusCode::kConflict));
  }
}

TEST(AsyncApiTest, CloseCompletesQueuedOperations) {
  omni::testing::TempDir dir;
  auto s = std::move(*Storage::open({.path = dir.path()}));
  std::vector<std::future<Seq>> fs;
  for (int i = 0; i < 200; ++i) {
    fs.push_back(s->async_store_data("k" + std::to_string(i), {{"i", i}}, {}, asio::use_future));
  }
  ASSERT_TRUE(s->close().ok());
  int stored = 0, refused = 0;
  for (auto& f : fs) {
    try {
      f.get();  // every handler ran: no broken promise
      ++stored;
    } catch (const boost::system::system_error& e) {
      EXPECT_EQ(e.code(), make_error_code(StatusCode::kUnavailable));
      ++refused;
    }
  }
  EXPECT_EQ(stored + refused, 200);
}

TEST(AsyncApiTest, CallbackTokenGetsErrorCodeAndValue) {
  omni::testing::TempDir dir;
  auto s = std::move(*Storage::open({.path = dir.path()}));
  std::promise<std::pair<boost::system::error_code, Seq>> p;
  s->async_store_data("k", {{"a", 1}}, {}, [&](boost::system::error_code ec, Seq v) {
    p.set_value({ec, v});
  });
  auto [ec, v] = p.get_future().get();
  EXPECT_FALSE(ec);
  EXPECT_EQ(v, 1u);
}

}  // namespace
}  // namespace omni
