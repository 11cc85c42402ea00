// omni replay sink: re-seeding a real Redis from the log gives what a Redis fed
// live holds (documents, tombstones, relationships, versions, decisions, the
// watermark); twice gives the same; --from-seq, --dry-run, errors.
#include <gtest/gtest.h>

#include <iostream>

#include <nlohmann/json.hpp>

#include "omni/tools/replay_sink.h"
#include "tools_redis_util.h"

namespace omni::testing {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

// Every kind of event, written while `live` is a backend (so it is fed in log
// order). Returns the keys written.
std::vector<std::string> write_live(const std::string& db, const RedisServer& live, int extra) {
  auto s = std::move(*Storage::open({.path = db}));
  EXPECT_TRUE(s->add_backend("redis", redis_backend(live), 1).ok());
  std::vector<std::string> keys;
  for (int i = 0; i < 5; ++i) {
    keys.push_back("user:" + std::to_string(i));
    EXPECT_TRUE(s->store_data(keys.back(), {{"name", "user " + std::to_string(i)}, {"i", i}}).ok());
  }
  EXPECT_TRUE(s->store_data("user:1", {{"name", "renamed"}, {"_id", 7}, {"tags", {"a", "b"}}}).ok());
  EXPECT_TRUE(s->store_relationship("user:1", "member_of", "group:admin").ok());
  EXPECT_TRUE(s->store_relationship("user:2", "member_of", "group:admin").ok());
  EXPECT_TRUE(s->store_relationship("user:3", "member_of", "group:ops").ok());
  EXPECT_TRUE(s->store_version("config", "v1", {{"replicas", 3}}).ok());
  EXPECT_TRUE(s->store_version("config", "v2", {{"replicas", 5}}).ok());
  EXPECT_TRUE(s->cache_policy_decision("user:1", "read", "doc:1", true, {.depends_on = {"group:admin"}}).ok());
  EXPECT_TRUE(s->delete_data("user:2").ok());  // a tombstone, and its relationship removed
  EXPECT_TRUE(s->remove_relationship("user:3", "member_of", "group:ops").ok());
  for (int i = 0; i < extra; ++i) {
    keys.push_back("item:" + std::to_string(i % 97));
    EXPECT_TRUE(s->store_data(keys.back(), {{"n", i}}).ok());
  }
  const Seq head = s->get_statistics().head_seq;
  EXPECT_TRUE(s->wait_for_backend("redis", head, 20s).ok());
  EXPECT_TRUE(s->close().ok());
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

TEST(ToolsReplaySinkTest, ReseedingAWipedRedisRestoresExactlyWhatTheLiveFeedHeldAndTwiceChangesNothing) {
  RedisServer live, target;
  ASSERT_TRUE(live.start()) << live.error();
  ASSERT_TRUE(target.start()) << target.error();
  TempDir dir;
  const std::string db = dir.sub("db");
  const std::vector<std::string> keys = write_live(db, live, 400);
  const std::string expected = redis_dump(live);
  ASSERT_NE(expected.find("omni:sink:applied"), std::string::npos) << expected;
  ASSERT_NE(expected.find("omni:rel:6:user:1:member_of zset: group:admin@"), std::string::npos) << expected;
  ASSERT_NE(expected.find("omni:user:2 hash: _deleted=1"), std::string::npos) << expected;
  ASSERT_NE(expected.find("omni:ver:config zset: v1@"), std::string::npos) << expected;
  ASSERT_NE(expected.find("omni:policy:"), std::string::npos) << expected;
  const std::string cfg = write_config(dir, {{"target", redis_entry(target.url())}, {"live", redis_entry(live.url())}});

  CliRun r = run_omni({"replay", "sink", "--db", db, "--config", cfg, "--backend", "target", "--batch-events", "64",
                       "--json", "--progress=json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out);
  auto head_store = std::move(*Storage::open({.path = db}));
  const Seq head = head_store->get_statistics().head_seq;
  EXPECT_EQ(j["head_seq"], head);
  EXPECT_EQ(j["events"], head);
  EXPECT_GE(j["batches"].get<int>(), static_cast<int>(head / 64));
  EXPECT_TRUE(j["watermark_set"].get<bool>());
  EXPECT_NE(r.err.find(R"("task":"replay sink")"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(R"("final":true)"), std::string::npos) << r.err;
  EXPECT_EQ(redis_dump(target), expected);
  EXPECT_EQ(target.cli({"GET", "omni:sink:applied"}), std::to_string(head) + "\n");

  // What the store holds, read back through the backend.
  auto backend = redis_backend(target);
  for (const std::string& k : keys) {
    Result<std::optional<Json>> want = head_store->load_data(k);
    Result<std::optional<Json>> got = backend->load_data(k);
    ASSERT_TRUE(want.ok() && got.ok()) << k;
    EXPECT_EQ(*got, *want) << k;
  }
  EXPECT_FALSE(backend->load_data("user:2")->has_value());
  EXPECT_EQ(*head_store->get_related("user:1", "member_of"), std::vector<std::string>{"group:admin"});
  EXPECT_EQ(target.cli({"ZRANGE", "omni:rel:6:user:1:member_of", "0", "-1"}), "group:admin\n");
  EXPECT_EQ(target.cli({"EXISTS", "omni:rel:6:user:2:member_of"}), "0\n");  // removed by the delete
  EXPECT_EQ(target.cli({"EXISTS", "omni:rel:6:user:3:member_of"}), "0\n");
  EXPECT_EQ(target.cli({"ZRANGE", "omni:ver:config", "0", "-1"}), "v1\nv2\n");
  EXPECT_TRUE(head_store->close().ok());

  // Twice: identical. Then the live one, wiped (the incident), comes back the same.
  r = run_omni({"replay", "sink", "--db", db, "--config", cfg, "--backend", "target", "--progress=none"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("into 'target'"), std::string::npos) << r.out;
  EXPECT_EQ(redis_dump(target), expected);
  ASSERT_TRUE(live.flushall());
  r = run_omni({"replay", "sink", "--db", db, "--config", cfg, "--backend", "live", "--progress=none"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(redis_dump(live), expected);

  // A watermark already past the head is not lowered.
  ASSERT_EQ(target.cli({"SET", "omni:sink:applied", std::to_string(head + 10)}), "OK\n");
  ASSERT_EQ(run_omni({"replay", "sink", "--db", db, "--config", cfg, "--backend", "target"}).code, 0);
  EXPECT_EQ(target.cli({"GET", "omni:sink:applied"}), std::to_string(head + 10) + "\n");
}

TEST(ToolsReplaySinkTest, FromSeqSendsOnlyTheTailAndDryRunCountsWithoutConnecting) {
  RedisServer live, target;
  ASSERT_TRUE(live.start()) << live.error();
  ASSERT_TRUE(target.start()) << target.error();
  TempDir dir;
  const std::string db = dir.sub("db");
  write_live(db, live, 40);
  const std::string cfg = write_config(dir, {{"target", redis_entry(target.url())}});
  CliRun all = run_omni({"replay", "sink", "--db", db, "--config", cfg, "--backend", "target", "--json"});
  ASSERT_EQ(all.code, 0) << all.err;
  const Json full = Json::parse(all.out);
  const Seq head = full["head_seq"];
  ASSERT_TRUE(target.flushall());

  // The dry run counts the same, and needs no server: the config's url is dead.
  const std::string dead =
      write_config(dir, {{"target", redis_entry("redis://127.0.0.1:" + std::to_string(dead_port()))}}, "dead.json");
  CliRun dry = run_omni({"replay", "sink", "--db", db, "--config", dead, "--backend", "target", "--dry-run", "--json"});
  ASSERT_EQ(dry.code, 0) << dry.err;
  Json d = Json::parse(dry.out);
  EXPECT_TRUE(d["dry_run"].get<bool>());
  for (const char* f : {"events", "changes", "bytes", "batches", "head_seq"}) EXPECT_EQ(d[f], full[f]) << f;
  EXPECT_GT(d["bytes"].get<std::uint64_t>(), 0u);
  EXPECT_FALSE(d["watermark_set"].get<bool>());
  dry = run_omni({"replay", "sink", "--db", db, "--config", dead, "--backend", "target", "--dry-run"});
  EXPECT_NE(dry.out.find("dry run: would send " + full["changes"].dump() + " changes"), std::string::npos) << dry.out;
  EXPECT_EQ(target.cli({"DBSIZE"}), "0\n");

  // From the last 10 events: only the keys they wrote.
  const Seq from = head - 9;
  CliRun tail = run_omni({"replay", "sink", "--db", db, "--config", cfg, "--backend", "target", "--from-seq",
                          std::to_string(from), "--json"});
  ASSERT_EQ(tail.code, 0) << tail.err;
  EXPECT_EQ(Json::parse(tail.out)["events"], 10);
  EXPECT_EQ(target.cli({"EXISTS", "omni:user:0"}), "0\n");  // written before `from`
  EXPECT_EQ(target.cli({"HGET", "omni:item:39", "n"}), "39\n");
  EXPECT_EQ(target.cli({"GET", "omni:sink:applied"}), std::to_string(head) + "\n");
  // Past the head: nothing sent, the watermark still the head.
  CliRun past = run_omni({"replay", "sink", "--db", db, "--config", cfg, "--backend", "target", "--from-seq",
                          std::to_string(head + 5), "--json"});
  ASSERT_EQ(past.code, 0) << past.err;
  EXPECT_EQ(Json::parse(past.out)["changes"], 0);

  // Errors: an unknown backend (usage), an unreachable one (69), no store (66).
  CliRun r = run_omni({"replay", "sink", "--db", db, "--config", cfg, "--backend", "nope"});
  EXPECT_EQ(r.code, 64);
  EXPECT_NE(r.err.find("no backend named 'nope'"), std::string::npos) << r.err;
  EXPECT_EQ(run_omni({"replay", "sink", "--db", db, "--config", dead, "--backend", "target"}).code, 69);
  EXPECT_EQ(run_omni({"replay", "sink", "--db", dir.sub("none"), "--config", cfg, "--backend", "target"}).code, 66);
  EXPECT_EQ(run_omni({"replay", "sink", "--db", db, "--config", cfg, "--backend", "target", "--from-seq", "0"}).code,
            64);
  EXPECT_EQ(run_omni({"replay", "sink", "--db", db, "--config", cfg}).code, 64);  // --backend required
}

TEST(ToolsReplaySinkTest, TheLibraryCallReseedsThroughAnyBackend) {
  RedisServer live;
  ASSERT_TRUE(live.start()) << live.error();
  TempDir dir;
  const std::string db = dir.sub("db");
  write_live(db, live, 10);
  const std::string expected = redis_dump(live);
  ASSERT_TRUE(live.flushall());
  auto b = redis_backend(live);
  auto progress = tools::Progress::none(std::cerr);
  Result<tools::ReplaySinkReport> r = tools::replay_sink({.db = db, .batch_events = 7}, b.get(), progress);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE(r->watermark_set);
  EXPECT_EQ(redis_dump(live), expected);
}

}  // namespace
}  // namespace omni::testing
