// `omni inspect`: the store's head (and the anchor to verify against), counts,
// checkpoints and cursors; one key's document, version, trail, edges and versions;
// as text and as JSON.
#include <gtest/gtest.h>

#include "omni/log/cursor_store.h"
#include "omni/projections/projection_set.h"
#include "omni/tools/inspect.h"
#include "tools_redis_util.h"

namespace omni {
namespace {

using testing::TempDir;
using testing::run_omni;

Json inspect_json(const std::vector<std::string>& args) {
  std::vector<std::string> a = {"inspect", "--json"};
  a.insert(a.end(), args.begin(), args.end());
  const auto r = run_omni(a);
  EXPECT_EQ(r.code, 0) << r.err;
  return r.code == 0 ? Json::parse(r.out) : Json();
}

TEST(InspectTest, StoreSummaryInTextAndJson) {
  TempDir dir;
  const std::string db = dir.sub("db");
  const Seq head = testing::make_mixed_store(db);
  {
    log::EventLogOptions o;
    o.path = db;
    o.extra_column_families = projections::column_families();
    auto lg = std::move(*log::EventLog::open(o));
    ASSERT_TRUE(log::CursorStore(*lg).put("redis", 5).ok());
    ASSERT_TRUE(lg->close(std::chrono::steady_clock::now() + std::chrono::seconds(5)).ok());
  }
  const Json j = inspect_json({"--db", db});
  EXPECT_EQ(j["head"]["seq"].get<Seq>(), head);
  const std::string hash = j["head"]["hash"];
  EXPECT_EQ(j["head"]["anchor"], hash + "@" + std::to_string(head));
  EXPECT_EQ(j["event_count"].get<Seq>(), head);
  EXPECT_GT(j["disk_bytes"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(j["head_file"]["seq"].get<Seq>(), head);
  EXPECT_EQ(j["head_file"]["hash"], hash);
  EXPECT_FALSE(j["wal"]["damaged"].get<bool>());
  EXPECT_EQ(j["generation"].get<Seq>(), 0u);
  EXPECT_EQ(j["checkpoints"]["shared"].get<Seq>(), head);  // close records the head
  for (const char* p : {"state", "key_index", "relationships", "versions", "policy"}) {
    EXPECT_EQ(j["checkpoints"]["projections"][p].get<Seq>(), head) << p;
  }
  EXPECT_EQ(j["sinks"], Json::array());  // no backend ever fed it
  ASSERT_EQ(j["cursors"].size(), 1u);
  EXPECT_EQ(j["cursors"][0], Json({{"name", "redis"}, {"seq", 5}, {"lag", head - 5}}));
  EXPECT_NE(std::find(j["column_families"].begin(), j["column_families"].end(), "events"),
            j["column_families"].end());

  const auto text = run_omni({"inspect", "--db", db});
  EXPECT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("anchor: " + hash + "@" + std::to_string(head)), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("event_count: " + std::to_string(head)), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("name=redis  seq=5  lag=" + std::to_string(head - 5)), std::string::npos) << text.out;
  // The anchor it prints is what audit verify takes.
  EXPECT_EQ(run_omni({"audit", "verify", "--db", db, "--anchor", j["head"]["anchor"]}).code, 0);
}

TEST(InspectTest, KeyShowsDocumentVersionTrailRelationshipsAndVersions) {
  TempDir dir;
  const std::string db = dir.sub("db");
  testing::make_mixed_store(db);
  Json doc;
  Seq version = 0;
  std::vector<AuditEntry> trail;
  {
    auto s = std::move(*Storage::open({.path = db}));
    doc = **s->load_data("user:1");
    version = *s->get_version("user:1");
    trail = *s->get_audit_trail("user:1");
    ASSERT_TRUE(s->close().ok());
  }
  const Json k = inspect_json({"--db", db, "user:1", "--limit", "2"})["key"];
  EXPECT_EQ(k["name"], "user:1");
  EXPECT_TRUE(k["exists"].get<bool>());
  EXPECT_EQ(k["version"].get<Seq>(), version);
  EXPECT_EQ(k["document"], doc);
  EXPECT_EQ(k["audit"]["events"].get<std::size_t>(), trail.size());
  EXPECT_EQ(k["audit"]["first"]["seq"].get<Seq>(), trail.front().seq);
  EXPECT_EQ(k["audit"]["last"]["seq"].get<Seq>(), trail.back().seq);
  EXPECT_EQ(k["audit"]["operations"]["store"].get<int>(), 3);
  EXPECT_EQ(k["audit"]["operations"]["relationship_added"].get<int>(), 1);
  ASSERT_EQ(k["audit"]["recent"].size(), 2u);  // --limit
  EXPECT_EQ(k["audit"]["recent"][1]["seq"].get<Seq>(), trail.back().seq);
  ASSERT_EQ(k["relationships"].size(), 1u);
  EXPECT_EQ(k["relationships"][0]["object"], "group:admin");
  EXPECT_EQ(k["relationships"][0]["predicate"], "member_of");
  EXPECT_FALSE(k["relationships_truncated"].get<bool>());
  EXPECT_TRUE(k["versions"].empty());

  const Json c = inspect_json({"--db", db, "config"})["key"];
  EXPECT_FALSE(c["exists"].get<bool>());
  EXPECT_TRUE(c["document"].is_null());
  ASSERT_EQ(c["versions"].size(), 2u);
  EXPECT_EQ(c["versions"][0]["label"], "v1");
  EXPECT_EQ(c["versions"][1]["label"], "v2");

  const auto deleted = inspect_json({"--db", db, "user:2"})["key"];  // deleted, then stored again
  EXPECT_TRUE(deleted["exists"].get<bool>());
  EXPECT_EQ(deleted["audit"]["operations"]["delete"].get<int>(), 1);
  EXPECT_EQ(deleted["audit"]["operations"]["relationship_removed"].get<int>(), 1);
  EXPECT_TRUE(deleted["relationships"].empty());
  const auto absent = inspect_json({"--db", db, "nobody"})["key"];
  EXPECT_FALSE(absent["exists"].get<bool>());
  EXPECT_EQ(absent["version"].get<Seq>(), 0u);
  EXPECT_EQ(absent["audit"]["events"].get<int>(), 0);

  const auto text = run_omni({"inspect", "--db", db, "user:1"});
  EXPECT_EQ(text.code, 0);
  EXPECT_NE(text.out.find("document: " + doc.dump()), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("subject=user:1  predicate=member_of  object=group:admin"), std::string::npos)
      << text.out;
}

TEST(InspectTest, MissingStoreAndBadArguments) {
  TempDir dir;
  EXPECT_EQ(run_omni({"inspect", "--db", dir.sub("none")}).code, 66);
  EXPECT_EQ(run_omni({"inspect"}).code, 64);
  const std::string db = dir.sub("db");
  testing::make_mixed_store(db);
  EXPECT_EQ(run_omni({"inspect", "--db", db, "--limit", "0"}).code, 64);
  EXPECT_EQ(run_omni({"inspect", "--db", db, "a", "b"}).code, 64);
  EXPECT_EQ(run_omni({"inspect", "--db", db, "\xC0\x80"}).code, 64);
}

TEST(InspectTest, SinksShowTheirCursorLagAndDeadLetterCount) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  TempDir dir;
  const std::string db = dir.sub("db");
  const testing::Poisoned p = testing::make_dead_letters(db, redis);  // Redis keeps its own watermark
  {
    // A backend whose position the store keeps (one without a watermark of its own).
    log::EventLogOptions o;
    o.path = db;
    o.extra_column_families = projections::column_families();
    o.extra_column_families.push_back("sink_cursors");
    auto lg = std::move(*log::EventLog::open(o));
    ASSERT_TRUE(log::CursorStore(*lg, "sink_cursors").put("mem", 3).ok());
    ASSERT_TRUE(lg->close(std::chrono::steady_clock::now() + std::chrono::seconds(5)).ok());
  }
  const Json j = inspect_json({"--db", db});
  EXPECT_EQ(j["sinks"], Json::parse(R"([{"name":"mem","cursor":3,"lag":)" + std::to_string(p.last - 3) +
                                    R"(,"position":"store","dead_letters":0},
      {"name":"redis","cursor":null,"lag":null,"position":"backend","dead_letters":2}])"));
  const auto text = run_omni({"inspect", "--db", db});
  EXPECT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("name=mem  cursor=3  lag=" + std::to_string(p.last - 3) + "  position=store  dead_letters=0"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("name=redis  cursor=null  lag=null  position=backend  dead_letters=2"), std::string::npos)
      << text.out;
}

}  // namespace
}  // namespace omni
