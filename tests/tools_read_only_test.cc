// The tools open a store read-only: they work while the service that owns it has
// it open for writing (here a Storage in this process, and the `omni` binary as a
// second process), and they change nothing on disk.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "omni/tools/audit_export.h"
#include "omni/tools/inspect.h"
#include "omni/tools/replay.h"
#include "omni/tools/store.h"
#include "tools_test_util.h"

namespace omni {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::run_omni;

TEST(ToolsReadOnlyTest, ToolsWorkWhileAStorageHoldsTheStoreOpen) {
  TempDir dir;
  const std::string db = dir.sub("db");
  auto s = std::move(*Storage::open({.path = db}));
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(s->store_data("k" + std::to_string(i), {{"i", i}}).ok());
  ASSERT_TRUE(s->store_relationship("k1", "likes", "k2").ok());
  // Nothing flushed: the tools see these from the WAL the Storage is writing.

  std::ostringstream err;
  tools::Progress quiet(tools::ProgressMode::kNone, err);
  auto v = tools::verify_store({.db = db}, quiet);
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_TRUE(v->ok()) << v->problem;
  EXPECT_EQ(v->events_checked, 101u);

  std::ostringstream out;
  auto e = tools::export_audit({.db = db, .filter = {.key = "k1"}}, out, quiet);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  EXPECT_EQ(e->events, 2u);  // its store and the relationship

  auto in = tools::inspect_store({.db = db, .key = "k7"});
  ASSERT_TRUE(in.ok()) << in.status().to_string();
  EXPECT_EQ((*in)["key"]["document"], Json({{"i", 7}}));
  EXPECT_EQ((*in)["head"]["seq"].get<Seq>(), 101u);

  // The Storage is unaffected, and a later tool run sees its newer writes.
  ASSERT_TRUE(s->store_data("k0", {{"i", -1}}).ok());
  const auto cli = run_omni({"replay", "verify", "--db", db, "--json"});
  EXPECT_EQ(cli.code, 0) << cli.err;
  EXPECT_EQ(Json::parse(cli.out)["events_checked"].get<Seq>(), 102u);
  EXPECT_TRUE(s->close().ok());
  auto reopened = Storage::open({.path = db});
  ASSERT_TRUE(reopened.ok()) << reopened.status().to_string();
  EXPECT_EQ(*(*reopened)->load_data("k0"), Json({{"i", -1}}));
  EXPECT_TRUE((*reopened)->close().ok());
}

TEST(ToolsReadOnlyTest, TheOmniBinaryWorksWhileThisProcessHoldsTheStore) {
  TempDir dir;
  const std::string db = dir.sub("db");
  auto s = std::move(*Storage::open({.path = db}));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(s->store_data("k" + std::to_string(i), {{"i", i}}).ok());
  const std::string out = dir.sub("out.jsonl"), err = dir.sub("err");
  auto run = [&](const std::string& args, const std::string& to = "") {
    const int status =
        std::system((std::string(OMNI_CLI) + " " + args + " >" + (to.empty() ? out : to) + " 2>" + err).c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  EXPECT_EQ(run("replay verify --db " + db), 0);
  EXPECT_EQ(run("--progress=none audit export --db " + db), 0);
  std::ifstream f(out);
  std::string line;
  std::size_t lines = 0;
  while (std::getline(f, line)) ++lines;
  EXPECT_EQ(lines, 52u);  // header, 50 events, closing line
  EXPECT_EQ(run("audit verify --file " + out, dir.sub("verdict")), 0) << std::ifstream(dir.sub("verdict")).rdbuf();
  EXPECT_TRUE(s->store_data("after", {{"ok", true}}).ok());
  EXPECT_TRUE(s->close().ok());
}

// Every file of the store with its size and modification time.
std::map<std::string, std::pair<std::uintmax_t, fs::file_time_type>> files_of(const std::string& db) {
  std::map<std::string, std::pair<std::uintmax_t, fs::file_time_type>> out;
  for (const auto& f : fs::directory_iterator(db)) {
    out[f.path().filename().string()] = {f.file_size(), f.last_write_time()};
  }
  return out;
}

TEST(ToolsReadOnlyTest, ToolsChangeNothingOnDisk) {
  TempDir dir;
  const std::string db = dir.sub("db");
  testing::make_mixed_store(db);
  {
    // A store that was never closed: its WAL holds events and there is no
    // OMNI-HEAD, which a writable open would write.
    auto s = std::move(*Storage::open({.path = db}));
    ASSERT_TRUE(s->store_data("unflushed", {{"x", 1}}).ok());
    testing::crash_after("a store left open", [&] { return s->store_data("more", {{"x", 2}}).ok(); });
    ASSERT_TRUE(s->close().ok());
  }
  fs::remove(fs::path(db) / "OMNI-HEAD");
  const auto before = files_of(db);
  EXPECT_EQ(run_omni({"replay", "verify", "--db", db}).code, 0);
  EXPECT_EQ(run_omni({"audit", "export", "--db", db, "--progress=none"}).code, 0);
  EXPECT_EQ(run_omni({"audit", "verify", "--db", db}).code, 0);
  EXPECT_EQ(run_omni({"inspect", "--db", db, "user:1"}).code, 0);
  EXPECT_EQ(files_of(db), before);
}

TEST(ToolsReadOnlyTest, ReadOnlyLogRefusesWritesAndCreatesNothing) {
  TempDir dir;
  const std::string missing = dir.sub("missing/deeper");
  auto none = tools::open_read_only(missing);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir.sub("missing")));
  fs::create_directories(dir.sub("empty"));
  auto empty = tools::open_read_only(dir.sub("empty"));
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(fs::is_empty(dir.sub("empty")));

  const std::string db = dir.sub("db");
  testing::make_mixed_store(db);
  auto lg = tools::open_read_only(db);
  ASSERT_TRUE(lg.ok()) << lg.status().to_string();
  EXPECT_TRUE((*lg)->read_only());
  log::AppendRequest req;
  req.events.push_back({log::EventType::DataStored, "k", "{}"});
  EXPECT_EQ((*lg)->append(&req).code(), StatusCode::kInvalidArgument);
  // Two read-only opens and a writer at once.
  auto second = tools::open_read_only(db);
  EXPECT_TRUE(second.ok()) << second.status().to_string();
  auto writer = Storage::open({.path = db});
  EXPECT_TRUE(writer.ok()) << writer.status().to_string();
  if (writer.ok()) {
    EXPECT_TRUE((*writer)->close().ok());
  }

  log::EventLogOptions o;
  o.path = db;
  o.skip_open_checks = true;  // only with read_only
  EXPECT_EQ(log::EventLog::open(o).status().code(), StatusCode::kInvalidArgument);
}

TEST(ToolsReadOnlyTest, DamagedLogIsRefusedWithChecksAndOpenedWithoutThem) {
  TempDir dir;
  const std::string db = dir.sub("db");
  const Seq head = testing::make_mixed_store(db);
  testing::delete_event(db, head);  // the log now ends before OMNI-HEAD
  auto checked = tools::open_read_only(db);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.status().code(), StatusCode::kCorruption);
  EXPECT_NE(checked.status().message().find("seq " + std::to_string(head) + " was durable"), std::string::npos)
      << checked.status().to_string();
  EXPECT_TRUE(tools::open_read_only(db, /*checks=*/false).ok());
  EXPECT_EQ(run_omni({"inspect", "--db", db}).code, 65);
  EXPECT_EQ(run_omni({"replay", "verify", "--db", db}).code, 65);
}

}  // namespace
}  // namespace omni
