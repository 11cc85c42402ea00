// The command line itself: --help on every subcommand (with the exit codes and how
// it opens the store), --version, usage errors exit 64, data on stdout and
// progress on stderr from the real binary.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tools_test_util.h"

namespace omni {
namespace {

using testing::TempDir;
using testing::run_omni;

TEST(CliTest, HelpOnEverySubcommandListsExitCodesAndStoreAccess) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> leaves = {
      {{"replay", "verify"}, "read-only"}, {{"replay", "rebuild"}, "for writing"},
      {{"audit", "export"}, "read-only"},  {{"audit", "verify"}, "read-only"},
      {{"inspect"}, "read-only"},          {{"bench", "write"}, ""},
      {{"bench", "read"}, ""}};
  for (const auto& [path, access] : leaves) {
    std::vector<std::string> args = path;
    args.push_back("--help");
    const auto r = run_omni(args);
    EXPECT_EQ(r.code, 0) << path[0];
    EXPECT_NE(r.out.find("Usage: omni " + path[0]), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Exit status"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("65  bad data"), std::string::npos) << r.out;
    if (!access.empty()) {
      EXPECT_NE(r.out.find(access), std::string::npos) << r.out;
    }
  }
  for (const std::vector<std::string>& parent : std::vector<std::vector<std::string>>{
           {"--help"}, {"replay", "--help"}, {"audit", "--help"}, {"bench", "--help"}}) {
    const auto r = run_omni(parent);
    EXPECT_EQ(r.code, 0) << parent[0];
    EXPECT_NE(r.out.find("Subcommands:"), std::string::npos) << r.out;
  }
}

TEST(CliTest, VersionPrintsTheProjectVersion) {
  const auto r = run_omni({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "omni " OMNI_VERSION "\n");
}

TEST(CliTest, UsageErrorsExit64) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {}, {"nope"}, {"replay"}, {"replay", "verify"}, {"replay", "verify", "--db"},
           {"replay", "verify", "--db", "x", "--bogus"}, {"--progress=sometimes", "inspect", "--db", "x"},
           {"audit", "export", "--db", "x", "--format"}, {"replay", "verify", "--db", "x", "--anchor", "abc"}}) {
    const auto r = run_omni(args);
    EXPECT_EQ(r.code, 64) << (args.empty() ? "(none)" : args.back()) << ": " << r.err;
    EXPECT_FALSE(r.err.empty());
  }
}

TEST(CliTest, BinaryWritesDataToStdoutAndProgressToStderr) {
  TempDir dir;
  const std::string db = dir.sub("db");
  const Seq head = testing::make_mixed_store(db);
  const std::string out = dir.sub("out"), err = dir.sub("err");
  auto run = [&](const std::string& args) {
    const int status = std::system((std::string(OMNI_CLI) + " " + args + " >" + out + " 2>" + err).c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  auto read = [](const std::string& f) {
    std::ifstream in(f);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  ASSERT_EQ(run("audit export --db " + db + " --progress=json"), 0);
  const auto data = testing::lines_of(read(out));
  EXPECT_EQ(data.size(), head + 2);
  for (const auto& l : data) EXPECT_FALSE(Json::parse(l).contains("task")) << "progress on stdout";
  const auto logs = testing::lines_of(read(err));
  ASSERT_FALSE(logs.empty());
  EXPECT_TRUE(Json::parse(logs.front())["task"] == "audit export") << logs.front();
  EXPECT_EQ(run("--version"), 0);
  EXPECT_EQ(read(out), "omni " OMNI_VERSION "\n");
  EXPECT_EQ(run("replay verify --db " + dir.sub("none")), 66);
  EXPECT_TRUE(read(out).empty());
  EXPECT_NE(read(err).find("no store"), std::string::npos);
  EXPECT_EQ(run("frobnicate"), 64);
}

}  // namespace
}  // namespace omni
