// omni dead-letters list | retry | drop, on dead letters made for real (a key of
// the wrong type in a real Redis), after the store was closed; and the refusal
// while another process (here: a Storage) holds the store.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "omni/tools/dead_letters.h"
#include "tools_redis_util.h"

namespace omni::testing {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

TEST(ToolsDeadLettersTest, ListRetryAndDropRealDeadLettersOfAClosedStore) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  TempDir dir;
  const std::string db = dir.sub("db");
  const Poisoned p = make_dead_letters(db, redis);
  const std::string cfg = write_config(dir, {{"redis", redis_entry(redis.url())}});

  // list: the library call, the text and the JSON.
  Result<std::vector<DeadLetter>> all = tools::list_dead_letters({.db = db});
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].seq, p.blocked);
  EXPECT_EQ((*all)[0].key, "blocked");
  EXPECT_EQ((*all)[0].error_class, "Backend");
  EXPECT_NE((*all)[0].last_error.find("WRONGTYPE"), std::string::npos) << (*all)[0].last_error;
  EXPECT_EQ((*all)[1].seq, p.blocked2);
  CliRun r = run_omni({"dead-letters", "list", "--db", db, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out)["dead_letters"];
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["sink"], "redis");
  EXPECT_EQ(j[0]["seq"], p.blocked);
  EXPECT_EQ(j[0]["operation"], "store");
  EXPECT_EQ(j[0]["attempts"], 2);
  r = run_omni({"dead-letters", "list", "--db", db, "--sink", "redis", "--seq", std::to_string(p.blocked2)});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(lines_of(r.out).size(), 1u) << r.out;
  EXPECT_EQ(r.out.rfind("redis seq " + std::to_string(p.blocked2) + " store 'blocked2': Backend, 2 attempt(s)", 0),
            0u)
      << r.out;
  EXPECT_EQ(run_omni({"dead-letters", "list", "--db", db, "--sink", "other"}).out, "no dead letters\n");

  // retry while the key still blocks: fails (69), stays, one more attempt.
  r = run_omni({"dead-letters", "retry", "--db", db, "--config", cfg, "--sink", "redis", "--seq",
                std::to_string(p.blocked)});
  EXPECT_EQ(r.code, 69) << r.out << r.err;
  EXPECT_NE(r.out.find("failed: Backend"), std::string::npos) << r.out;
  all = tools::list_dead_letters({.db = db, .sink = "redis", .seq = p.blocked});
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].attempts, 3u);

  // Unblocked: the retry applies it and removes it; the watermark stays.
  const std::string watermark = redis.cli({"GET", "omni:sink:applied"});
  ASSERT_EQ(watermark, std::to_string(p.last) + "\n");
  ASSERT_EQ(redis.cli({"DEL", "omni:blocked"}), "1\n");
  Result<std::vector<tools::DeadLetterOutcome>> retried =
      tools::retry_dead_letters({.db = db, .sink = "redis", .seq = p.blocked}, redis_backend(redis));
  ASSERT_TRUE(retried.ok()) << retried.status().to_string();
  ASSERT_EQ(retried->size(), 1u);
  EXPECT_TRUE((*retried)[0].status.ok()) << (*retried)[0].status.to_string();
  EXPECT_EQ(redis.cli({"HGET", "omni:blocked", "v"}), "2\n");
  EXPECT_EQ(redis.cli({"GET", "omni:sink:applied"}), watermark);
  EXPECT_EQ(redis.cli({"EXISTS", "omni:blocked2"}), "1\n");
  EXPECT_EQ(redis.cli({"TYPE", "omni:blocked2"}), "string\n");  // the worker stayed paused
  all = tools::list_dead_letters({.db = db});
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].seq, p.blocked2);

  // drop: through the CLI, then nothing left to drop (66).
  r = run_omni({"dead-letters", "drop", "--db", db, "--sink", "redis", "--seq", std::to_string(p.blocked2), "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["results"][0]["ok"], true);
  EXPECT_TRUE(tools::list_dead_letters({.db = db})->empty());
  EXPECT_EQ(run_omni({"dead-letters", "drop", "--db", db, "--sink", "redis"}).code, 66);
  EXPECT_EQ(tools::drop_dead_letters({.db = db, .sink = "redis"}).status().code(), StatusCode::kNotFound);
}

TEST(ToolsDeadLettersTest, RetryAndDropRefuseAStoreHeldElsewhereListStillWorks) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  TempDir dir;
  const std::string db = dir.sub("db");
  const Poisoned p = make_dead_letters(db, redis);
  const std::string cfg = write_config(dir, {{"redis", redis_entry(redis.url())}});
  auto service = std::move(*Storage::open({.path = db}));
  CliRun r = run_omni({"dead-letters", "list", "--db", db});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines_of(r.out).size(), 2u);
  for (const bool retry : {true, false}) {
    std::vector<std::string> args{"dead-letters", retry ? "retry" : "drop", "--db", db, "--sink", "redis"};
    if (retry) args.insert(args.end(), {"--config", cfg});
    r = run_omni(args);
    EXPECT_EQ(r.code, 75);
    EXPECT_NE(r.err.find("the store is open in another process; run this through the service or stop it"),
              std::string::npos)
        << r.err;
  }
  EXPECT_EQ(service->dead_letters().list()->size(), 2u);
  ASSERT_TRUE(service->close().ok());

  // Usage: retry needs --config and a backend it names; both need --sink.
  EXPECT_EQ(run_omni({"dead-letters", "retry", "--db", db, "--sink", "redis"}).code, 64);
  r = run_omni({"dead-letters", "retry", "--db", db, "--sink", "other", "--config", cfg});
  EXPECT_EQ(r.code, 64);
  EXPECT_NE(r.err.find("no backend named 'other'"), std::string::npos) << r.err;
  EXPECT_EQ(run_omni({"dead-letters", "drop", "--db", db}).code, 64);
  EXPECT_EQ(run_omni({"dead-letters", "list", "--db", dir.sub("none")}).code, 66);
  EXPECT_EQ(tools::list_dead_letters({.db = db})->size(), 2u);
  (void)p;
}

}  // namespace
}  // namespace omni::testing
