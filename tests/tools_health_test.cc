// omni health: per backend status, watermark, lag and error against the local
// head; the exit status tells healthy (0) / degraded (1) / down (69); a bad
// configuration is a usage error; no credential in any output.
#include <gtest/gtest.h>

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "omni/tools/health.h"
#include "tools_redis_util.h"

namespace omni::testing {
namespace {

using Json = nlohmann::json;

constexpr const char* kCanary = "canary-4d1f-pw";

void expect_no_canary(const CliRun& r) {
  EXPECT_EQ(r.out.find(kCanary), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find(kCanary), std::string::npos) << r.err;
}

TEST(ToolsHealthTest, ACaughtUpBackendIsHealthyAWipedOneDegradedAndAnUnreachableOneDown) {
  RedisServer redis({.password = kCanary});
  ASSERT_TRUE(redis.start()) << redis.error();
  ::setenv("OMNI_TEST_REDIS_PW", kCanary, 1);
  TempDir dir;
  const std::string db = dir.sub("db");
  make_mixed_store(db);
  const Seq head = feed_store(db, redis);
  const std::string good = write_config(dir, {{"redis", redis_entry(redis.url(), "OMNI_TEST_REDIS_PW")}});

  CliRun r = run_omni({"health", "--db", db, "--config", good, "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["status"], "healthy");
  EXPECT_EQ(j["head_seq"], head);
  ASSERT_EQ(j["backends"].size(), 1u);
  EXPECT_EQ(j["backends"][0]["name"], "redis");
  EXPECT_EQ(j["backends"][0]["status"], "healthy");
  EXPECT_EQ(j["backends"][0]["watermark"], head);
  EXPECT_EQ(j["backends"][0]["lag"], 0);
  expect_no_canary(r);
  r = run_omni({"health", "--db", db, "--config", good});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("redis (redis): healthy, watermark " + std::to_string(head) + ", lag 0"), std::string::npos)
      << r.out;

  // The watermark behind the head: lag, and lagging past --max-lag.
  ASSERT_EQ(redis.cli({"SET", "omni:sink:applied", std::to_string(head - 3)}), "OK\n");
  j = Json::parse(run_omni({"health", "--db", db, "--config", good, "--json"}).out);
  EXPECT_EQ(j["backends"][0]["lag"], 3);
  EXPECT_EQ(j["status"], "healthy");
  r = run_omni({"health", "--db", db, "--config", good, "--max-lag", "2", "--json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(Json::parse(r.out)["backends"][0]["status"], "lagging");

  ASSERT_TRUE(redis.flushall());
  r = run_omni({"health", "--db", db, "--config", good, "--json"});
  EXPECT_EQ(r.code, 1);
  j = Json::parse(r.out);
  EXPECT_EQ(j["status"], "degraded");
  EXPECT_EQ(j["backends"][0]["status"], "no_watermark");
  EXPECT_TRUE(j["backends"][0]["watermark"].is_null());

  // One reachable, one not: degraded; only the unreachable one: down (69).
  const std::string dead_url = "redis://127.0.0.1:" + std::to_string(dead_port());
  const std::string both = write_config(
      dir, {{"redis", redis_entry(redis.url(), "OMNI_TEST_REDIS_PW")}, {"gone", redis_entry(dead_url)}}, "both.json");
  ASSERT_TRUE(redis.cli({"SET", "omni:sink:applied", std::to_string(head)}) == "OK\n");
  r = run_omni({"health", "--db", db, "--config", both, "--json"});
  EXPECT_EQ(r.code, 1) << r.out;
  j = Json::parse(r.out);
  EXPECT_EQ(j["status"], "degraded");
  EXPECT_EQ(j["backends"][0]["name"], "gone");  // by name
  EXPECT_EQ(j["backends"][0]["status"], "down");
  EXPECT_EQ(j["backends"][0]["error"].get<std::string>().rfind("Unavailable: ", 0), 0u) << j;
  EXPECT_EQ(j["backends"][1]["status"], "healthy");
  const std::string dead = write_config(dir, {{"gone", redis_entry(dead_url)}}, "dead.json");
  r = run_omni({"health", "--db", db, "--config", dead});
  EXPECT_EQ(r.code, 69);
  EXPECT_NE(r.out.find("down: head seq"), std::string::npos) << r.out;
  ::unsetenv("OMNI_TEST_REDIS_PW");
}

TEST(ToolsHealthTest, AWrongOrMissingPasswordIsDownAndNoCredentialIsEverPrinted) {
  RedisServer redis({.password = "the-right-one"});
  ASSERT_TRUE(redis.start()) << redis.error();
  TempDir dir;
  const std::string db = dir.sub("db");
  make_mixed_store(db, 2);
  ::setenv("OMNI_TEST_REDIS_PW", kCanary, 1);  // wrong
  const std::string cfg = write_config(dir, {{"redis", redis_entry(redis.url(), "OMNI_TEST_REDIS_PW")}});
  for (bool json : {false, true}) {
    std::vector<std::string> args{"health", "--db", db, "--config", cfg, "--progress=json"};
    if (json) args.push_back("--json");
    CliRun r = run_omni(args);
    EXPECT_EQ(r.code, 69);
    EXPECT_NE(r.out.find("authentication failed"), std::string::npos) << r.out;
    expect_no_canary(r);
  }
  ::unsetenv("OMNI_TEST_REDIS_PW");
  CliRun r = run_omni({"health", "--db", db, "--config", cfg, "--json"});
  EXPECT_EQ(r.code, 69);
  EXPECT_NE(Json::parse(r.out)["backends"][0]["error"].get<std::string>().find("OMNI_TEST_REDIS_PW"),
            std::string::npos)
      << r.out;
}

TEST(ToolsHealthTest, BadConfigurationIsAUsageErrorNamingTheFieldAndNoStoreIs66) {
  TempDir dir;
  const std::string db = dir.sub("db");
  make_mixed_store(db, 1);
  const std::string literal = dir.sub("literal.json");
  std::ofstream(literal) << R"({"backends": {"redis": {"type": "redis", "password": ")" << kCanary << R"("}}})";
  CliRun r = run_omni({"health", "--db", db, "--config", literal});
  EXPECT_EQ(r.code, 64);
  EXPECT_NE(r.err.find("backends.redis.password"), std::string::npos) << r.err;
  expect_no_canary(r);

  const std::string typo = write_config(dir, {{"redis", {{"type", "redis"}, {"prot", 6379}}}}, "typo.json");
  r = run_omni({"health", "--db", db, "--config", typo});
  EXPECT_EQ(r.code, 64);
  EXPECT_NE(r.err.find("unknown field backends.redis.prot"), std::string::npos) << r.err;
  const std::string none = write_config(dir, Json::object(), "none.json");
  EXPECT_EQ(run_omni({"health", "--db", db, "--config", none}).code, 64);
  EXPECT_EQ(run_omni({"health", "--db", db, "--config", dir.sub("missing.json")}).code, 66);
  EXPECT_EQ(run_omni({"health", "--db", db}).code, 64);  // --config is required
  const std::string ok = write_config(dir, {{"redis", redis_entry("redis://127.0.0.1:1")}}, "ok.json");
  EXPECT_EQ(run_omni({"health", "--db", dir.sub("nostore"), "--config", ok}).code, 66);
  r = run_omni({"health", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("1   degraded"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace omni::testing
