// `omni replay verify` names the first bad seq of a damaged log (an edited,
// deleted, swapped or cut-off event; a re-chained log with an anchor), and
// `omni replay rebuild` rebuilds the projections from the log with progress.
#include <gtest/gtest.h>

#include <filesystem>

#include "omni/tools/replay.h"
#include "tools_test_util.h"

namespace omni {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::run_omni;

tools::StoreVerifyReport verify(const std::string& db, std::optional<tools::Anchor> anchor = {}) {
  std::ostringstream err;
  tools::Progress progress(tools::ProgressMode::kNone, err);
  auto r = tools::verify_store({.db = db, .anchor = anchor}, progress);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : tools::StoreVerifyReport{};
}

TEST(ReplayVerifyTest, IntactStorePassesWithExitZero) {
  TempDir dir;
  const std::string db = dir.sub("db");
  const Seq head = testing::make_mixed_store(db);
  const auto r = verify(db);
  EXPECT_TRUE(r.ok()) << r.problem;
  EXPECT_EQ(r.events_checked, head);
  EXPECT_EQ(r.head_seq, head);
  ASSERT_TRUE(r.head_file.has_value());
  EXPECT_EQ(r.head_file->seq, head);
  EXPECT_EQ(r.head_file->hash, r.head_hash);

  const auto cli = run_omni({"replay", "verify", "--db", db});
  EXPECT_EQ(cli.code, 0) << cli.err;
  EXPECT_NE(cli.out.find("ok: " + std::to_string(head) + " events"), std::string::npos) << cli.out;
  const auto js = run_omni({"replay", "verify", "--db", db, "--json"});
  EXPECT_EQ(js.code, 0);
  const Json j = Json::parse(js.out);
  EXPECT_TRUE(j["ok"].get<bool>());
  EXPECT_EQ(j["events_checked"].get<Seq>(), head);
}

TEST(ReplayVerifyTest, EditedEventBytesAreReportedWithTheirSeq) {
  TempDir dir;
  const std::string db = dir.sub("db");
  const Seq head = testing::make_mixed_store(db);
  ASSERT_GT(head, 8u);
  std::string bytes = testing::stored_events(db)[4];  // seq 5
  const auto at = bytes.find("user 4");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 5] = '9';  // still a valid FlatBuffer: only the chain can tell
  testing::overwrite_event(db, 5, bytes);

  const auto r = verify(db);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.first_bad_seq, 5u) << r.problem;
  EXPECT_NE(r.problem.find("seq 5 was altered"), std::string::npos) << r.problem;
  EXPECT_EQ(r.events_checked, 5u);  // 1..5 chained as far as 5's successor could tell

  const auto cli = run_omni({"replay", "verify", "--db", db});
  EXPECT_EQ(cli.code, 65);
  EXPECT_NE(cli.out.find("FAILED at seq 5"), std::string::npos) << cli.out;
}

TEST(ReplayVerifyTest, EditedPrevHashIsBlamedOnItsOwnEvent) {
  TempDir dir;
  const std::string db = dir.sub("db");
  testing::make_mixed_store(db);
  log::Event e = *log::decode_event(testing::stored_events(db)[6], 7);
  log::Hash forged{};
  forged[0] = 1;
  testing::overwrite_event(db, 7, testing::encode(e, forged));
  const auto r = verify(db);
  EXPECT_EQ(r.first_bad_seq, 7u) << r.problem;
}

TEST(ReplayVerifyTest, UndecodableEventIsReportedWithItsSeq) {
  TempDir dir;
  const std::string db = dir.sub("db");
  testing::make_mixed_store(db);
  std::string bytes = testing::stored_events(db)[2];
  testing::overwrite_event(db, 3, bytes.substr(0, bytes.size() / 2));
  const auto r = verify(db);
  EXPECT_EQ(r.first_bad_seq, 3u);
  EXPECT_NE(r.problem.find("FlatBuffers"), std::string::npos) << r.problem;
}

TEST(ReplayVerifyTest, DeletedEventIsReportedAsMissing) {
  TempDir dir;
  const std::string db = dir.sub("db");
  testing::make_mixed_store(db);
  testing::delete_event(db, 4);
  const auto r = verify(db);
  EXPECT_EQ(r.first_bad_seq, 4u);
  EXPECT_NE(r.problem.find("seq 4 missing"), std::string::npos) << r.problem;
  // The engine refuses such a store at open; the tool still opens it to say where.
  EXPECT_EQ(run_omni({"replay", "verify", "--db", db}).code, 65);
}

TEST(ReplayVerifyTest, SwappedEventsAreReportedAtTheFirst) {
  TempDir dir;
  const std::string db = dir.sub("db");
  testing::make_mixed_store(db);
  const auto events = testing::stored_events(db);
  testing::overwrite_event(db, 3, events[5]);
  testing::overwrite_event(db, 6, events[2]);
  const auto r = verify(db);
  EXPECT_EQ(r.first_bad_seq, 3u);
  EXPECT_NE(r.problem.find("holds seq 6"), std::string::npos) << r.problem;
}

TEST(ReplayVerifyTest, TruncatedTailIsCaughtByTheHeadAnchorFile) {
  TempDir dir;
  const std::string db = dir.sub("db");
  const Seq head = testing::make_mixed_store(db);
  for (Seq s = head - 2; s <= head; ++s) testing::delete_event(db, s);
  const auto r = verify(db);
  EXPECT_EQ(r.head_seq, head - 3);
  EXPECT_EQ(r.first_bad_seq, head - 2) << r.problem;
  EXPECT_NE(r.problem.find("truncated"), std::string::npos) << r.problem;
}

TEST(ReplayVerifyTest, EditedHeadEventIsCaughtByTheHeadAnchorFile) {
  TempDir dir;
  const std::string db = dir.sub("db");
  const Seq head = testing::make_mixed_store(db);
  log::Event e = *log::decode_event(testing::stored_events(db)[head - 1], head);
  e.payload = R"({"round":3})";
  testing::overwrite_event(db, head, testing::encode(e, e.prev_hash));
  const auto r = verify(db);
  EXPECT_EQ(r.first_bad_seq, head) << r.problem;
  EXPECT_NE(r.problem.find("OMNI-HEAD"), std::string::npos) << r.problem;
}

TEST(ReplayVerifyTest, RechainedLogPassesTheWalkAndIsCaughtByAnAnchor) {
  TempDir dir;
  const std::string db = dir.sub("db");
  const Seq head = testing::make_mixed_store(db);
  const auto before = verify(db);
  const tools::Anchor anchor{head, before.head_hash};
  const log::Hash seq2 = log::sha256(testing::stored_events(db)[1]);
  testing::rechain_from(db, 3, R"({"name":"mallory"})");

  // Every link holds and OMNI-HEAD was rewritten too: the walk cannot tell.
  EXPECT_TRUE(verify(db).ok());
  // A hash kept elsewhere can.
  const auto r = verify(db, anchor);
  EXPECT_EQ(r.first_bad_seq, head) << r.problem;
  EXPECT_NE(r.problem.find("re-chained"), std::string::npos) << r.problem;
  const auto cli = run_omni({"replay", "verify", "--db", db, "--anchor", tools::format_anchor(anchor)});
  EXPECT_EQ(cli.code, 65);
  // An anchor from before the rewritten part still matches.
  const auto early = verify(db, tools::Anchor{2, seq2});
  EXPECT_TRUE(early.ok()) << early.problem;
  EXPECT_TRUE(early.anchor_checked);
  // One past the head: the log is shorter than what the anchor saw.
  const auto past = verify(db, tools::Anchor{head + 5, before.head_hash});
  EXPECT_EQ(past.first_bad_seq, head + 1) << past.problem;
}

TEST(ReplayVerifyTest, MissingStoreIsExit66AndNothingIsCreated) {
  TempDir dir;
  const std::string db = dir.sub("nothing-here");
  const auto cli = run_omni({"replay", "verify", "--db", db});
  EXPECT_EQ(cli.code, 66) << cli.err;
  EXPECT_FALSE(fs::exists(db));
}

struct Snapshot {
  std::map<std::string, std::optional<Json>> docs;
  std::vector<std::string> related;
  std::vector<VersionInfo> versions;
  std::map<std::string, std::size_t> trail_sizes;
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

Snapshot snapshot(const std::string& db) {
  auto s = std::move(*Storage::open({.path = db}));
  Snapshot snap;
  for (const std::string k : {"user:0", "user:1", "user:2", "user:3", "user:4", "group:admin"}) {
    snap.docs[k] = *s->load_data(k);
    snap.trail_sizes[k] = s->get_audit_trail(k)->size();
  }
  snap.related = *s->get_related_reverse("group:admin", "member_of");
  snap.versions = *s->list_versions("config");
  EXPECT_TRUE(s->close().ok());
  return snap;
}

TEST(ReplayRebuildTest, RebuildsWithProgressAndEqualsTheLiveProjections) {
  TempDir dir;
  const std::string db = dir.sub("db");
  const Seq head = testing::make_mixed_store(db);
  const Snapshot before = snapshot(db);
  ASSERT_EQ(before.related, std::vector<std::string>{"user:1"});

  std::ostringstream err;
  tools::Progress progress(tools::ProgressMode::kJson, err, -1, std::chrono::milliseconds(0));
  auto r = tools::rebuild_store(db, progress);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->head_seq, head);
  EXPECT_EQ(r->applied, head);
  const auto lines = testing::lines_of(err.str());
  ASSERT_FALSE(lines.empty());
  const Json last = Json::parse(lines.back());
  EXPECT_EQ(last["task"], "replay rebuild");
  EXPECT_TRUE(last["final"].get<bool>());
  EXPECT_EQ(last["done"].get<Seq>(), head);
  EXPECT_EQ(last["total"].get<Seq>(), head);

  EXPECT_EQ(snapshot(db), before);
  // A new generation serves now: the rebuild really happened.
  const auto inspect = run_omni({"inspect", "--db", db, "--json"});
  ASSERT_EQ(inspect.code, 0) << inspect.err;
  EXPECT_EQ(Json::parse(inspect.out)["generation"].get<Seq>(), 1u);

  const auto cli = run_omni({"--progress=json", "replay", "rebuild", "--db", db});
  EXPECT_EQ(cli.code, 0) << cli.err;
  EXPECT_TRUE(Json::parse(testing::lines_of(cli.err).back())["final"].get<bool>()) << cli.err;
  EXPECT_EQ(snapshot(db), before);
}

TEST(ReplayRebuildTest, RebuildOfAStoreHeldOpenIsATemporaryFailure) {
  TempDir dir;
  const std::string db = dir.sub("db");
  testing::make_mixed_store(db);
  auto s = std::move(*Storage::open({.path = db}));
  const auto cli = run_omni({"replay", "rebuild", "--db", db, "--progress", "none"});
  EXPECT_EQ(cli.code, 75) << cli.err;
  EXPECT_NE(cli.err.find("stop that process first"), std::string::npos) << cli.err;
  EXPECT_TRUE(s->close().ok());
  EXPECT_EQ(run_omni({"replay", "rebuild", "--db", dir.sub("none")}).code, 66);
  EXPECT_FALSE(fs::exists(dir.sub("none")));
}

}  // namespace
}  // namespace omni
