// `omni audit verify --file`: an export checked offline names the first bad seq of
// an edited, deleted, reordered, inserted or truncated event; an anchor catches a
// log re-chained from scratch; a filtered export proves its own consistency
// offline and, against the store, that it holds exactly the store's events.
#include <gtest/gtest.h>

#include <fstream>

#include "omni/tools/audit_verify.h"
#include "omni/tools/format.h"
#include "tools_test_util.h"

namespace omni {
namespace {

using testing::TempDir;
using testing::run_omni;
using Lines = std::vector<std::string>;

Lines export_lines(const std::string& db, const std::vector<std::string>& args = {}) {
  std::vector<std::string> a = {"--progress=none", "audit", "export", "--db", db};
  a.insert(a.end(), args.begin(), args.end());
  const auto r = run_omni(a);
  EXPECT_EQ(r.code, 0) << r.err;
  return testing::lines_of(r.out);
}

tools::FileVerifyReport check(const Lines& lines, std::optional<tools::Anchor> anchor = {}) {
  std::istringstream in(testing::join_lines(lines));
  std::ostringstream err;
  tools::Progress quiet(tools::ProgressMode::kNone, err);
  auto r = tools::verify_export(in, {.anchor = anchor}, quiet);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : tools::FileVerifyReport{};
}

tools::FileVerifyReport check_against(const TempDir& dir, const Lines& lines, const std::string& db) {
  const std::string file = dir.sub("against.jsonl");
  std::ofstream(file) << testing::join_lines(lines);
  std::ostringstream err;
  tools::Progress quiet(tools::ProgressMode::kNone, err);
  auto r = tools::verify_export_against_store(file, db, {}, quiet);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : tools::FileVerifyReport{};
}

// The index in `lines` of the event line with this seq.
std::size_t line_of(const Lines& lines, Seq seq) {
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const Json j = Json::parse(lines[i]);
    if (j.contains("seq") && j["seq"].get<Seq>() == seq) return i;
  }
  ADD_FAILURE() << "no line for seq " << seq;
  return 0;
}

Json edit(const std::string& line, const std::function<void(Json&)>& fn) {
  Json j = Json::parse(line);
  fn(j);
  return j;
}

// A line for `seq` that is consistent in itself: its payload replaced, its bytes
// re-encoded (prev_hash kept), its hash and fields recomputed.
std::string forged(const std::string& line, const std::string& payload) {
  const Json j = Json::parse(line);
  const std::string bytes = *tools::base64_decode(j["encoded"].get<std::string>());
  log::Event e = *log::decode_event(bytes, j["seq"].get<Seq>());
  e.payload = payload;
  const std::string enc = testing::encode(e, e.prev_hash);
  Json out = *tools::event_fields(*log::decode_event(enc, e.seq));
  out["hash"] = log::to_hex(log::sha256(enc));
  out["encoded"] = tools::base64_encode(enc);
  return out.dump();
}

// Rewrites the closing line's count and digest to match the event lines, as
// someone who knows the format would after removing or replacing lines.
void fix_closing(Lines& lines) {
  tools::Sha256Stream digest;
  std::size_t n = 0;
  for (std::size_t i = 1; i + 1 < lines.size(); ++i) {
    digest.update(*tools::parse_hash(Json::parse(lines[i])["hash"].get<std::string>()));
    ++n;
  }
  lines.back() = edit(lines.back(), [&](Json& j) {
                   j["events"] = n;
                   j["digest"] = log::to_hex(digest.digest());
                 }).dump();
}

class AuditVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.sub("db");
    head_ = testing::make_mixed_store(db_);
    lines_ = export_lines(db_);
    ASSERT_EQ(lines_.size(), head_ + 2);
  }
  TempDir dir_;
  std::string db_;
  Seq head_ = 0;
  Lines lines_;
};

TEST_F(AuditVerifyTest, IntactCompleteExportPasses) {
  const auto r = check(lines_);
  EXPECT_TRUE(r.ok()) << r.problem;
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.events, head_);
  EXPECT_EQ(r.runs, 1u);
  EXPECT_EQ(r.head_seq, head_);
  const std::string file = dir_.sub("x.jsonl");
  std::ofstream(file) << testing::join_lines(lines_);
  const auto cli = run_omni({"audit", "verify", "--file", file});
  EXPECT_EQ(cli.code, 0) << cli.out << cli.err;
  EXPECT_NE(cli.out.find("ok: complete export"), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find("no anchor"), std::string::npos) << cli.out;
  const auto js = run_omni({"audit", "verify", "--file", file, "--json", "--db", db_});
  EXPECT_EQ(js.code, 0) << js.out << js.err;
  EXPECT_TRUE(Json::parse(js.out)["checked_against_store"].get<bool>());
}

TEST_F(AuditVerifyTest, EditedFieldIsNamedBySeq) {
  const std::size_t i = line_of(lines_, 5);
  for (const auto& [what, fn] : std::vector<std::pair<std::string, std::function<void(Json&)>>>{
           {"field 'data'", [](Json& j) { j["data"]["name"] = "mallory"; }},
           {"field 'identity'", [](Json& j) { j["identity"] = "root"; }},
           {"field 'timestamp'", [](Json& j) { j["timestamp"] = "2020-01-01T00:00:00.000000000Z"; }},
           {"field 'extra'", [](Json& j) { j["extra"] = 1; }},
           {"hash field", [](Json& j) { j["hash"] = std::string(64, '0'); }},
       }) {
    Lines t = lines_;
    t[i] = edit(t[i], fn).dump();
    const auto r = check(t);
    EXPECT_EQ(r.first_bad_seq, 5u) << what << ": " << r.problem;
    EXPECT_NE(r.problem.find(what), std::string::npos) << r.problem;
    EXPECT_EQ(r.line, i + 1);
  }
  Lines t = lines_;
  t[i] = edit(t[i], [](Json& j) {
           std::string e = j["encoded"];
           e[e.size() / 2] = e[e.size() / 2] == 'A' ? 'B' : 'A';
           j["encoded"] = e;
         }).dump();
  EXPECT_EQ(check(t).first_bad_seq, 5u);
}

TEST_F(AuditVerifyTest, EditedAndRehashedEventIsNamedBySeq) {
  Lines t = lines_;
  t[line_of(t, 5)] = forged(t[line_of(t, 5)], R"({"name":"mallory"})");
  auto r = check(t);
  EXPECT_EQ(r.first_bad_seq, 5u) << r.problem;
  EXPECT_NE(r.problem.find("seq 5 was altered"), std::string::npos) << r.problem;
  // The head has no successor: the closing line's head hash tells.
  Lines h = lines_;
  h[line_of(h, head_)] = forged(h[line_of(h, head_)], R"({"round":9})");
  r = check(h);
  EXPECT_EQ(r.first_bad_seq, head_) << r.problem;
  const std::string file = dir_.sub("t.jsonl");
  std::ofstream(file) << testing::join_lines(t);
  const auto cli = run_omni({"audit", "verify", "--file", file});
  EXPECT_EQ(cli.code, 65);
  EXPECT_NE(cli.out.find("FAILED at seq 5"), std::string::npos) << cli.out;
}

TEST_F(AuditVerifyTest, DeletedLineIsNamedBySeq) {
  Lines t = lines_;
  t.erase(t.begin() + static_cast<std::ptrdiff_t>(line_of(t, 5)));
  const auto r = check(t);
  EXPECT_EQ(r.first_bad_seq, 5u) << r.problem;
  EXPECT_NE(r.problem.find("seq 5 missing"), std::string::npos) << r.problem;
}

TEST_F(AuditVerifyTest, ReorderedLinesAreNamedByTheFirstSeq) {
  Lines t = lines_;
  std::swap(t[line_of(t, 5)], t[line_of(t, 6)]);
  EXPECT_EQ(check(t).first_bad_seq, 5u);
  Lines far = lines_;
  std::swap(far[line_of(far, 3)], far[line_of(far, 9)]);
  EXPECT_EQ(check(far).first_bad_seq, 3u);
}

TEST_F(AuditVerifyTest, InsertedLineIsNamedBySeq) {
  Lines dup = lines_;
  dup.insert(dup.begin() + static_cast<std::ptrdiff_t>(line_of(dup, 7) + 1), dup[line_of(dup, 3)]);
  auto r = check(dup);
  EXPECT_EQ(r.first_bad_seq, 3u) << r.problem;
  EXPECT_NE(r.problem.find("out of order"), std::string::npos) << r.problem;

  // A well-formed new event after the head, chained to it: the closing line says
  // where the log ended.
  Lines extra = lines_;
  const Json last = Json::parse(extra[extra.size() - 2]);
  log::Event e = *log::decode_event(*tools::base64_decode(last["encoded"].get<std::string>()), head_);
  e.seq = head_ + 1;
  const std::string enc = testing::encode(e, *tools::parse_hash(last["hash"].get<std::string>()));
  Json line = *tools::event_fields(*log::decode_event(enc, e.seq));
  line["hash"] = log::to_hex(log::sha256(enc));
  line["encoded"] = tools::base64_encode(enc);
  extra.insert(extra.end() - 1, line.dump());
  r = check(extra);
  EXPECT_EQ(r.first_bad_seq, head_ + 1) << r.problem;

  Lines after = lines_;
  after.push_back(lines_[1]);
  r = check(after);
  EXPECT_EQ(r.first_bad_seq, 1u) << r.problem;
  EXPECT_NE(r.problem.find("after the closing line"), std::string::npos) << r.problem;
}

TEST_F(AuditVerifyTest, TruncatedFileIsNamedByTheFirstMissingSeq) {
  Lines t(lines_.begin(), lines_.end() - 3);  // two events and the closing line gone
  auto r = check(t);
  EXPECT_EQ(r.first_bad_seq, head_ - 1) << r.problem;
  EXPECT_NE(r.problem.find("truncated"), std::string::npos) << r.problem;
  Lines cut(lines_.begin(), lines_.end() - 1);
  cut.back() = cut.back().substr(0, cut.back().size() / 2);
  r = check(cut);
  EXPECT_EQ(r.first_bad_seq, head_) << r.problem;
  // Event lines dropped, the closing line kept.
  Lines gap = lines_;
  gap.erase(gap.end() - 3, gap.end() - 1);
  r = check(gap);
  EXPECT_EQ(r.first_bad_seq, head_ - 1) << r.problem;
  EXPECT_FALSE(check(Lines{}).ok());
  EXPECT_FALSE(check(Lines{lines_.front()}).ok());
}

TEST_F(AuditVerifyTest, AnchorMismatchIsDetected) {
  const Json at3 = Json::parse(lines_[line_of(lines_, 3)]);
  const tools::Anchor good{3, *tools::parse_hash(at3["hash"].get<std::string>())};
  auto r = check(lines_, good);
  EXPECT_TRUE(r.ok()) << r.problem;
  EXPECT_TRUE(r.anchor_checked);
  EXPECT_EQ(r.anchored_from, 1u);
  tools::Anchor wrong{head_, good.hash};
  r = check(lines_, wrong);
  EXPECT_EQ(r.first_bad_seq, head_) << r.problem;
  r = check(lines_, tools::Anchor{head_ + 3, good.hash});
  EXPECT_EQ(r.first_bad_seq, head_ + 1) << r.problem;
  EXPECT_EQ(run_omni({"audit", "verify", "--file", "x", "--anchor", "nothex@3"}).code, 64);
}

TEST_F(AuditVerifyTest, RechainedLogIsDetectedOnlyByTheAnchor) {
  const Json closing = Json::parse(lines_.back());
  const std::string anchor = closing["head_hash"].get<std::string>() + "@" + std::to_string(head_);
  EXPECT_NE(run_omni({"inspect", "--db", db_}).out.find(anchor), std::string::npos) << "inspect prints the anchor";
  testing::rechain_from(db_, 3, R"({"name":"mallory"})");
  const Lines rewritten = export_lines(db_);
  EXPECT_TRUE(check(rewritten).ok()) << "without an anchor a re-chained log is consistent";
  const auto r = check(rewritten, *tools::parse_anchor(anchor));
  EXPECT_EQ(r.first_bad_seq, head_) << r.problem;
  EXPECT_NE(r.problem.find("re-chained"), std::string::npos) << r.problem;
  const std::string file = dir_.sub("re.jsonl");
  std::ofstream(file) << testing::join_lines(rewritten);
  EXPECT_EQ(run_omni({"audit", "verify", "--file", file, "--anchor", anchor}).code, 65);
}

TEST_F(AuditVerifyTest, FilteredExportProvesItsOwnConsistencyOffline) {
  const Lines f = export_lines(db_, {"--key", "user:1"});
  auto r = check(f);
  ASSERT_TRUE(r.ok()) << r.problem;
  EXPECT_FALSE(r.complete);
  ASSERT_GE(r.events, 4u);  // stored, renamed, related (adjacent to the rename), round 2
  EXPECT_LT(r.runs, r.events);  // the rename and the relationship are chained
  EXPECT_EQ(check_against(dir_, f, db_).ok(), true);

  Lines edited = f;
  edited[2] = edit(edited[2], [](Json& j) { j["identity"] = "x"; }).dump();
  EXPECT_EQ(check(edited).first_bad_seq, Json::parse(f[2])["seq"].get<Seq>());

  // Another key's event slipped in at its place in seq order.
  Lines inserted = f;
  const Seq first = Json::parse(f[1])["seq"].get<Seq>();
  inserted.insert(inserted.begin() + 2, lines_[line_of(lines_, first + 1)]);
  r = check(inserted);
  EXPECT_EQ(r.first_bad_seq, first + 1) << r.problem;
  EXPECT_NE(r.problem.find("filter"), std::string::npos) << r.problem;

  Lines reordered = f;
  std::swap(reordered[1], reordered[2]);
  EXPECT_NE(check(reordered).problem.find("out of order"), std::string::npos);

  // A line deleted: the closing count tells, not where.
  Lines deleted = f;
  const Seq gone = Json::parse(deleted[1])["seq"].get<Seq>();
  deleted.erase(deleted.begin() + 1);
  r = check(deleted);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.problem.find("counts"), std::string::npos) << r.problem;

  // What offline verification of a filtered export cannot catch (see
  // audit_verify.h): a deleted line with the closing line rewritten, or an
  // isolated event replaced by a self-consistent one. The store catches both.
  fix_closing(deleted);
  EXPECT_TRUE(check(deleted).ok());
  r = check_against(dir_, deleted, db_);
  EXPECT_EQ(r.first_bad_seq, gone) << r.problem;
  EXPECT_NE(r.problem.find("deleted"), std::string::npos) << r.problem;
  Lines replaced = f;
  replaced[1] = forged(replaced[1], R"({"name":"mallory"})");
  fix_closing(replaced);
  EXPECT_TRUE(check(replaced).ok());
  r = check_against(dir_, replaced, db_);
  EXPECT_EQ(r.first_bad_seq, first) << r.problem;
  EXPECT_NE(r.problem.find("edited"), std::string::npos) << r.problem;
}

TEST_F(AuditVerifyTest, FilteredExportAnchorsAtAnExportedSeqOrTheHead) {
  const Lines f = export_lines(db_, {"--key", "user:1"});
  const Json closing = Json::parse(f.back());
  auto r = check(f, tools::Anchor{head_, *tools::parse_hash(closing["head_hash"].get<std::string>())});
  EXPECT_TRUE(r.ok()) << r.problem;
  EXPECT_TRUE(r.anchor_checked);
  const Json second = Json::parse(f[2]);
  r = check(f, tools::Anchor{second["seq"].get<Seq>(), *tools::parse_hash(second["hash"].get<std::string>())});
  EXPECT_TRUE(r.ok()) << r.problem;
  EXPECT_GT(r.anchored_from, 0u);
  r = check(f, tools::Anchor{1, log::Hash{}});  // seq 1 is user:0's
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.problem.find("cannot be checked"), std::string::npos) << r.problem;
}

TEST_F(AuditVerifyTest, StoreAndUsageErrorsHaveTheirExitCodes) {
  EXPECT_EQ(run_omni({"audit", "verify"}).code, 64);
  EXPECT_EQ(run_omni({"audit", "verify", "--file", dir_.sub("none.jsonl")}).code, 66);
  EXPECT_EQ(run_omni({"audit", "verify", "--file", "-", "--db", db_}).code, 64);
  EXPECT_EQ(run_omni({"audit", "verify", "--db", db_}).code, 0);
  EXPECT_EQ(run_omni({"audit", "verify", "--db", dir_.sub("none")}).code, 66);
  testing::delete_event(db_, 4);
  const auto r = run_omni({"audit", "verify", "--db", db_});
  EXPECT_EQ(r.code, 65);
  EXPECT_NE(r.out.find("FAILED at seq 4"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace omni
