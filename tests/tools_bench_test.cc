// `omni bench write|read`: both sides run the whole workload on scratch stores
// that are removed afterwards, and the ratio is printed. Nothing here asserts on
// speed.
#include <gtest/gtest.h>

#include <filesystem>

#include "omni/tools/bench.h"
#include "tools_test_util.h"

namespace omni {
namespace {

using testing::TempDir;
using testing::run_omni;

TEST(BenchTest, WriteAndReadRunBothSidesOnScratchStores) {
  TempDir dir;
  for (const tools::BenchKind kind : {tools::BenchKind::kWrite, tools::BenchKind::kRead}) {
    std::ostringstream err;
    tools::Progress progress(tools::ProgressMode::kJson, err, -1, std::chrono::milliseconds(0));
    const tools::BenchOptions o{.kind = kind, .events = 3000, .threads = 3, .value_bytes = 64, .dir = dir.path()};
    auto r = tools::run_bench(o, progress);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->omni.ops, 3000u);
    EXPECT_EQ(r->raw.ops, 3000u);
    EXPECT_GT(r->omni.seconds, 0);
    EXPECT_GT(r->raw.seconds, 0);
    EXPECT_GT(r->ratio(), 0);
    const std::string text = tools::to_text(*r, o);
    EXPECT_NE(text.find("ratio"), std::string::npos) << text;
    EXPECT_NE(text.find(kind == tools::BenchKind::kWrite ? "raw RocksDB Put" : "raw RocksDB Get"), std::string::npos);
    EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "the scratch stores are left behind";
  }
}

TEST(BenchTest, CommandLinePrintsTheRatioAndRefusesBadSizes) {
  TempDir dir;
  const auto r = run_omni({"--progress=none", "bench", "write", "--events", "500", "--threads", "2",
                           "--value-bytes", "10", "--dir", dir.path()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("omni bench write: 500 operations, 2 thread(s), 10-byte values"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ratio"), std::string::npos);
  EXPECT_TRUE(r.err.empty()) << r.err;
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"--threads", "0"}, {"--events", "abc"}, {"--events", "0"}, {"--value-bytes", "0"},
           {"--events", "2", "--threads", "3"}}) {
    std::vector<std::string> a = {"bench", "read", "--dir", dir.path()};
    a.insert(a.end(), bad.begin(), bad.end());
    EXPECT_EQ(run_omni(a).code, 64) << bad[0] << " " << bad[1];
  }
  EXPECT_EQ(run_omni({"bench"}).code, 64);
}

}  // namespace
}  // namespace omni
