// The configuration file the backend subcommands will read (no command takes
// --config yet): backends by name, and credentials only by reference.
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
  auto cfg = parse_config(R"({"backends": [
      {"name": "redis", "type": "redis", "priority": 1, "options": {"host": "127.0.0.1", "port": 6379},
       "password_env": "OMNI_TEST_CANARY"},
      {"name": "reg", "type": "registry", "password_file": ")" + secret_file + R"("}]})");
  ASSERT_TRUE(cfg.ok()) << cfg.status().to_string();
  ASSERT_EQ(cfg->backends.size(), 2u);
  const BackendConfig* redis = cfg->find("redis");
  ASSERT_NE(redis, nullptr);
  EXPECT_EQ(redis->options["port"], 6379);
  EXPECT_EQ(*resolve_secret(redis->secret), "canary-env-pw");
  EXPECT_EQ(*resolve_secret(cfg->find("reg")->secret), "canary-file-pw");
  EXPECT_EQ(redis->secret.describe(), "environment variable OMNI_TEST_CANARY");
  EXPECT_EQ(cfg->find("nope"), nullptr);
  ::unsetenv("OMNI_TEST_CANARY");
  auto unset = resolve_secret(redis->secret);
  ASSERT_FALSE(unset.ok());
  EXPECT_EQ(unset.status().message().find("canary"), std::string::npos);
}

TEST(ToolConfigTest, LiteralCredentialsAndBadFieldsAreRefusedWithoutTheirValue) {
  for (const char* text : {
           R"({"backends": [{"name": "r", "type": "redis", "password": "canary-pw"}]})",
           R"({"backends": [{"name": "r", "type": "redis", "options": {"auth": {"token": "canary-pw"}}}]})",
           R"({"backends": [{"name": "r", "type": "redis"}, {"name": "r", "type": "redis"}]})",
           R"({"backends": [{"name": "r", "type": "redis", "password_env": "A", "password_file": "/x"}]})",
           R"({"backends": [{"name": "r"}]})",
           R"({"backends": [{"name": "r", "type": "redis", "colour": "blue"}]})",
           R"({"sinks": []})",
           R"(not json)",
       }) {
    auto cfg = parse_config(text);
    ASSERT_FALSE(cfg.ok()) << text;
    EXPECT_EQ(cfg.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(cfg.status().message().find("canary"), std::string::npos) << cfg.status().message();
  }
  EXPECT_EQ(load_config("/nonexistent/omni.json").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace omni::tools
