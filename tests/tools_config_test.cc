// The configuration file (--config): backends by name with their options, and
// credentials only by reference, never echoed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "omni/tools/config.h"
#include "test_util.h"

namespace omni::tools {
namespace {

TEST(ToolConfigTest, BackendsAreReadAndSecretsResolvedByReference) {
  omni::testing::TempDir dir;
  const std::string secret_file = dir.sub("secret");
  std::ofstream(secret_file) << "canary-file-pw\n";
  ::setenv("OMNI_TEST_CANARY", "canary-env-pw", 1);
  auto cfg = parse_config(R"({"backends": {
      "redis": {"type": "redis", "url": "redis://127.0.0.1:6379/0", "password_env": "OMNI_TEST_CANARY",
                "key_prefix": "app:", "max_connections": 2, "priority": 1, "command_timeout_ms": 250},
      "cache": {"type": "redis", "host": "10.0.0.2", "port": 6380, "db": 3, "password_file": ")" +
                          secret_file + R"("}}})");
  ASSERT_TRUE(cfg.ok()) << cfg.status().to_string();
  ASSERT_EQ(cfg->backends.size(), 2u);
  const BackendConfig* redis = cfg->find("redis");
  ASSERT_NE(redis, nullptr);
  EXPECT_EQ(redis->type, "redis");
  EXPECT_EQ(redis->priority, 1);
  EXPECT_EQ(redis->redis.url, "redis://127.0.0.1:6379/0");
  EXPECT_EQ(redis->redis.key_prefix, "app:");
  EXPECT_EQ(redis->redis.max_connections, 2u);
  EXPECT_EQ(redis->redis.command_timeout, std::chrono::milliseconds(250));
  EXPECT_TRUE(redis->redis.password.empty());
  const BackendConfig* cache = cfg->find("cache");
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ(cache->priority, 100);
  EXPECT_EQ(cache->redis.host, "10.0.0.2");
  EXPECT_EQ(cache->redis.port, 6380);
  EXPECT_EQ(cache->redis.db, 3);
  EXPECT_EQ(*resolve_secret(redis->secret), "canary-env-pw");
  EXPECT_EQ(*resolve_secret(cache->secret), "canary-file-pw");
  EXPECT_EQ(redis->secret.describe(), "environment variable OMNI_TEST_CANARY");
  EXPECT_TRUE(make_backend(*redis).ok());
  EXPECT_TRUE(make_backend(*cache).ok());
  EXPECT_EQ(cfg->find("nope"), nullptr);
  auto missing = cfg->require("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cache, redis"), std::string::npos) << missing.status().message();

  ::unsetenv("OMNI_TEST_CANARY");
  auto unset = resolve_secret(redis->secret);
  ASSERT_FALSE(unset.ok());
  EXPECT_EQ(unset.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unset.status().message().find("OMNI_TEST_CANARY"), std::string::npos);
  EXPECT_EQ(make_backend(*redis).status().code(), StatusCode::kInvalidArgument);
  std::filesystem::remove(secret_file);
  auto gone = make_backend(*cache);
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  for (const auto& s : {unset.status(), gone.status()}) {
    EXPECT_EQ(s.message().find("canary"), std::string::npos) << s.message();
  }
}

TEST(ToolConfigTest, LiteralCredentialsAndBadFieldsAreRefusedNamingTheFieldNotTheValue) {
  struct Case {
    const char* text;
    const char* names;  // what the message must mention
  };
  for (const Case& c : {
           Case{R"({"backends": {"r": {"type": "redis", "password": "canary-pw"}}})", "backends.r.password"},
           Case{R"({"backends": {"r": {"type": "redis", "auth": {"token": "canary-pw"}}}})", "backends.r.auth.token"},
           Case{R"({"backends": {"r": {"type": "redis", "url": "redis://:canary-pw@h:1"}}})", "backends.r.url"},
           Case{R"({"backends": {"r": {"type": "redis", "password_env": "A", "password_file": "/x"}}})",
                "backends.r"},
           Case{R"({"backends": {"r": {"url": "redis://h"}}})", "backends.r.type"},
           Case{R"({"backends": {"r": {"type": "memcached"}}})", "backends.r.type"},
           Case{R"({"backends": {"r": {"type": "redis", "colour": "blue"}}})", "backends.r.colour"},
           Case{R"({"backends": {"r": {"type": "redis", "port": 70000}}})", "backends.r.port"},
           Case{R"({"backends": {"r": {"type": "redis", "max_connections": "4"}}})", "backends.r.max_connections"},
           Case{R"({"backends": {"r": {"type": "redis", "password_env": ""}}})", "backends.r.password_env"},
           Case{R"({"backends": {"r": {"type": "redis", "url": "http://h"}}})", "backends.r"},
           Case{R"({"backends": [{"name": "r", "type": "redis"}]})", "backends"},
           Case{R"({"sinks": {}})", "sinks"},
           Case{R"(not json)", "JSON"},
       }) {
    auto cfg = parse_config(c.text);
    ASSERT_FALSE(cfg.ok()) << c.text;
    EXPECT_EQ(cfg.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(cfg.status().message().find(c.names), std::string::npos) << cfg.status().message();
    EXPECT_EQ(cfg.status().message().find("canary"), std::string::npos) << cfg.status().message();
  }
  EXPECT_EQ(load_config("/nonexistent/omni.json").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace omni::tools
