// omni bench sink: a scratch redis-server it starts itself, both figures and the
// ratio printed; a missing redis-server is 69.
#include <gtest/gtest.h>

#include "tools_test_util.h"

namespace omni::testing {
namespace {

TEST(ToolsBenchSinkTest, DrainAndRawHsetAreTimedAgainstAScratchRedis) {
  TempDir dir;
  CliRun r = run_omni({"bench", "sink", "--events", "2000", "--dir", dir.path(), "--progress=none"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("omni bench sink: 2000 documents"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("log -> Redis drain"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("raw hiredis HSET"), std::string::npos) << r.out;
  const std::size_t at = r.out.find("ratio");
  ASSERT_NE(at, std::string::npos);
  EXPECT_GT(std::stod(r.out.substr(at + 5)), 0.0) << r.out;
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));  // the scratch store and Redis are gone

  r = run_omni({"bench", "sink", "--events", "10", "--redis-server", "/nonexistent/redis-server"});
  EXPECT_EQ(r.code, 69);
  EXPECT_NE(r.err.find("redis-server"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace omni::testing
