#include "omni/projections/state.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "omni/projections/projection_set.h"
#include "test_util.h"

namespace omni::projections {
namespace {

using log::AppendRequest;
using log::EventType;

struct Fixture {
  omni::testing::TempDir dir;
  std::unique_ptr<log::EventLog> log;
  std::unique_ptr<ProjectionSet> proj;
  Fixture() {
    log::EventLogOptions o;
    o.path = dir.path();
    o.extra_column_families = column_families();
    log = std::move(*log::EventLog::open(o));
    proj = std::make_unique<ProjectionSet>(*log);
    log->set_projector(proj.get());
  }
  Status write(EventType type, const std::string& key, const std::string& payload,
               std::optional<Seq> expected = std::nullopt, Seq* seq = nullptr) {
    AppendRequest req;
    req.events.push_back({type, key, payload});
    WriteContext ctx;
    ctx.expected_versions.push_back(expected);
    req.context = &ctx;
    Status s = log->append(&req);
    if (seq) *seq = req.first_seq;
    return s;
  }
};

TEST(StateProjectionTest, VersionIsSeqOfLastWrite) {
  Fixture f;
  Seq s1, s2;
  ASSERT_TRUE(f.write(EventType::DataStored, "a", R"({"x":1})", std::nullopt, &s1).ok());
  ASSERT_TRUE(f.write(EventType::DataStored, "a", R"({"x":2})", std::nullopt, &s2).ok());
  auto e = f.proj->state().get("a");
  ASSERT_TRUE(e.ok() && e->has_value());
  EXPECT_EQ((*e)->version, s2);
  EXPECT_EQ((*e)->payload, R"({"x":2})");
  ASSERT_TRUE(f.write(EventType::DataDeleted, "a", "").ok());
  EXPECT_FALSE(f.proj->state().get("a")->has_value());
}

TEST(StateProjectionTest, ExpectedVersionMismatchWritesNothing) {
  Fixture f;
  Seq s1;
  ASSERT_TRUE(f.write(EventType::DataStored, "a", "{}", Seq{0}, &s1).ok());
  EXPECT_EQ(f.write(EventType::DataStored, "a", "{}", Seq{0}).code(), StatusCode::kConflict);
  EXPECT_EQ(f.write(EventType::DataStored, "a", "{}", s1 + 5).code(), StatusCode::kConflict);
  EXPECT_EQ(f.log->head_seq(), s1);  // no event for the refused writes
  EXPECT_TRUE(f.write(EventType::DataStored, "a", R"({"ok":1})", s1).ok());
}

TEST(StateProjectionTest, RequestIsAllOrNothing) {
  Fixture f;
  ASSERT_TRUE(f.write(EventType::DataStored, "a", "{}").ok());
  AppendRequest req;
  req.events.push_back({EventType::DataStored, "b", "{}"});
  req.events.push_back({EventType::DataStored, "a", "{}"});
  WriteContext ctx;
  ctx.expected_versions = {Seq{0}, Seq{0}};  // a exists: conflict
  req.context = &ctx;
  EXPECT_EQ(f.log->append(&req).code(), StatusCode::kConflict);
  EXPECT_FALSE(f.proj->state().get("b")->has_value());
  EXPECT_EQ(f.log->head_seq(), 1u);
  EXPECT_EQ(f.proj->audit().seqs("b")->size(), 0u);
}

TEST(StateProjectionTest, LaterEventsOfARequestSeeEarlierOnes) {
  Fixture f;
  AppendRequest req;
  req.events.push_back({EventType::DataStored, "a", "{}"});
  req.events.push_back({EventType::DataStored, "a", R"({"n":2})"});
  WriteContext ctx;
  ctx.expected_versions = {Seq{0}, Seq{1}};
  ctx.want_prior = true;
  req.context = &ctx;
  ASSERT_TRUE(f.log->append(&req).ok());
  EXPECT_EQ((*f.proj->state().get("a"))->version, 2u);
  // What staging learned comes back in the context: each event's prior state.
  ASSERT_EQ(ctx.prior.size(), 2u);
  EXPECT_EQ(ctx.prior[0].version, 0u);
  EXPECT_FALSE(ctx.prior[0].payload);
  EXPECT_EQ(ctx.prior[1].version, 1u);
  EXPECT_EQ(ctx.prior[1].payload, std::optional<std::string>("{}"));
}

TEST(StateProjectionTest, MatchesReplayOfTheLog) {
  Fixture f;
  for (int i = 0; i < 50; ++i) {
    const std::string k = "k" + std::to_string(i % 7);
    if (i % 5 == 4) {
      ASSERT_TRUE(f.write(EventType::DataDeleted, k, "").ok());
    } else {
      ASSERT_TRUE(f.write(EventType::DataStored, k, "{\"i\":" + std::to_string(i) + "}").ok());
    }
  }
  auto replay = replay_state(*f.log);
  ASSERT_TRUE(replay.ok());
  std::map<std::string, StateEntry> stored;
  ASSERT_TRUE(f.proj->state().for_each("", [&](std::string_view k, const StateEntry& e) {
                stored.emplace(std::string(k), e);
                return true;
              }).ok());
  EXPECT_EQ(stored, *replay);
}

TEST(AuditIndexTest, RecordsSeqsPerKey) {
  Fixture f;
  ASSERT_TRUE(f.write(EventType::DataStored, "a", "{}").ok());
  ASSERT_TRUE(f.write(EventType::DataStored, "ab", "{}").ok());  // a prefix of another key
  ASSERT_TRUE(f.write(EventType::DataStored, "a", "{}").ok());
  EXPECT_EQ(*f.proj->audit().seqs("a"), (std::vector<Seq>{1, 3}));
  EXPECT_EQ(*f.proj->audit().seqs("ab"), (std::vector<Seq>{2}));
}

// The per-key limit is applied when a key is written, in the event's own batch,
// also to rows written earlier in the same group or request.
TEST(AuditIndexTest, WriteTrimsTheKeyToTheLimit) {
  Fixture f;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(f.write(EventType::DataStored, "a", "{}").ok());
  f.proj->audit().set_max_entries_per_key(2);
  EXPECT_EQ(f.proj->audit().seqs("a")->size(), 5u);  // nothing written: nothing trimmed
  ASSERT_TRUE(f.write(EventType::DataStored, "a", "{}").ok());
  EXPECT_EQ(*f.proj->audit().seqs("a"), (std::vector<Seq>{5, 6}));
  AppendRequest req;  // three events of one key in one request
  for (int i = 0; i < 3; ++i) req.events.push_back({EventType::DataStored, "a", "{}"});
  ASSERT_TRUE(f.log->append(&req).ok());
  EXPECT_EQ(*f.proj->audit().seqs("a"), (std::vector<Seq>{8, 9}));
}

// The age pass deletes the rows of events older than the cutoff and remembers
// where it stopped; a lowered limit trims keys that are not written again.
TEST(AuditIndexTest, PruneBeforeDropsOldRowsAndTrimsAfterALoweredLimit) {
  Fixture f;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(f.write(EventType::DataStored, "old", "{}").ok());
  const std::int64_t cutoff = f.log->read(3)->timestamp_ns + 1;
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(f.write(EventType::DataStored, "new", "{}").ok());
  ASSERT_TRUE(f.proj->audit().prune_before(cutoff).ok());
  EXPECT_TRUE(f.proj->audit().seqs("old")->empty());
  EXPECT_EQ(f.proj->audit().seqs("new")->size(), 4u);
  // Nothing newer is old enough: a second pass with the same cutoff changes nothing.
  ASSERT_TRUE(f.proj->audit().prune_before(cutoff).ok());
  EXPECT_EQ(f.proj->audit().seqs("new")->size(), 4u);
  f.proj->audit().set_max_entries_per_key(1);
  ASSERT_TRUE(f.proj->audit().prune_before(cutoff).ok());
  EXPECT_EQ(*f.proj->audit().seqs("new"), (std::vector<Seq>{7}));
}

// --- The registry's checkpoints and catch-up --------------------------------

// Counts what it is given: staged events (live writes) and applied ones (catch-up).
class CountingProjection final : public DurableProjection {
 public:
  std::string_view name() const override { return "counting"; }
  Status stage(AppendRequest& req, Seq, rocksdb::WriteBatch*) override {
    staged += req.events.size();
    return Status();
  }
  void finish_group(bool) override {}
  void clear(rocksdb::WriteBatch*) override { applied = 0, last_applied = 0; }
  Status apply(const log::Event& e, rocksdb::WriteBatch*) override {
    if (last_applied != 0) {
      EXPECT_EQ(e.seq, last_applied + 1) << "events must arrive in order";
    }
    last_applied = e.seq;
    ++applied;
    return Status();
  }
  std::size_t staged = 0, applied = 0;
  Seq last_applied = 0;
};

Result<std::optional<Seq>> meta_seq(log::EventLog& log, const std::string& key) {
  std::string v;
  rocksdb::Status s = log.db()->Get({}, log.column_family(log::kMetaCf), key, &v);
  if (s.IsNotFound()) return std::optional<Seq>();
  if (!s.ok() || v.size() != 8) return Status::io_error(s.ToString());
  return std::optional<Seq>(log::EventLog::decode_seq_key(v));
}

// The checkpoint rides in a group's own batch every kCheckpointEvery events (so
// it never passes the rows it vouches for), and save_checkpoint() records the head.
TEST(ProjectionRegistryTest, CheckpointFollowsTheWritesAndNeverPassesThem) {
  Fixture f;
  ASSERT_TRUE(f.proj->catch_up().ok());
  EXPECT_EQ(*meta_seq(*f.log, ProjectionSet::checkpoint_key()), std::optional<Seq>(0));
  const Seq n = ProjectionSet::kCheckpointEvery + 5;
  for (Seq i = 0; i < n; ++i) ASSERT_TRUE(f.write(EventType::DataStored, "k", "{}").ok());
  auto cp = *meta_seq(*f.log, ProjectionSet::checkpoint_key());
  ASSERT_TRUE(cp);
  EXPECT_EQ(*cp, ProjectionSet::kCheckpointEvery);
  // A refused request moves nothing.
  EXPECT_EQ(f.write(EventType::DataStored, "k", "{}", Seq{1}).code(), StatusCode::kConflict);
  EXPECT_EQ(*meta_seq(*f.log, ProjectionSet::checkpoint_key()), cp);
  ASSERT_TRUE(f.proj->save_checkpoint().ok());
  EXPECT_EQ(*meta_seq(*f.log, ProjectionSet::checkpoint_key()), std::optional<Seq>(n));
}

// After a crash the checkpoint trails the head; catch-up re-applies the tail and
// the rows come out the same.
TEST(ProjectionRegistryTest, TrailingCheckpointReappliesTheTailToTheSameRows) {
  Fixture f;
  ASSERT_TRUE(f.proj->catch_up().ok());
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(f.write(i % 5 == 4 ? EventType::DataDeleted : EventType::DataStored,
                        "k" + std::to_string(i % 6), i % 5 == 4 ? "" : "{\"i\":" + std::to_string(i) + "}")
                    .ok());
  }
  auto before = *replay_state(*f.log);
  ProjectionSet again(*f.log);
  ASSERT_TRUE(again.catch_up().ok());  // checkpoint 0, head 40: all re-applied
  std::map<std::string, StateEntry> after;
  ASSERT_TRUE(again.state().for_each("", [&](std::string_view k, const StateEntry& e) {
    after.emplace(std::string(k), e);
    return true;
  }).ok());
  EXPECT_EQ(after, before);
  EXPECT_EQ(*meta_seq(*f.log, ProjectionSet::checkpoint_key()), std::optional<Seq>(40));
}

// A projection added to a store that already has events replays the log before
// the store serves, then follows live writes like the others.
TEST(ProjectionRegistryTest, NewProjectionCatchesUpFromTheLog) {
  Fixture f;
  ASSERT_TRUE(f.proj->catch_up().ok());
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(f.write(EventType::DataStored, "k" + std::to_string(i % 7), "{}").ok());
  }
  ProjectionSet again(*f.log);
  auto counting = std::make_unique<CountingProjection>();
  CountingProjection* c = counting.get();
  again.add(std::move(counting));
  f.log->set_projector(&again);
  ASSERT_TRUE(again.catch_up().ok());
  EXPECT_EQ(c->applied, 5000u);  // the built-in ones were already there: untouched
  EXPECT_EQ(*meta_seq(*f.log, ProjectionSet::checkpoint_key("counting")), std::optional<Seq>(5000));
  ASSERT_TRUE(f.write(EventType::DataStored, "k", "{}").ok());
  EXPECT_EQ(c->staged, 1u);
  // A later open: the projection has its row now, so only what the shared
  // checkpoint trails by (the one write since) is applied again.
  ProjectionSet third(*f.log);
  auto counting2 = std::make_unique<CountingProjection>();
  CountingProjection* c2 = counting2.get();
  third.add(std::move(counting2));
  ASSERT_TRUE(third.catch_up().ok());
  EXPECT_EQ(c2->applied, 1u);
  EXPECT_EQ(c2->last_applied, 5001u);
}

// Projections that hold more than the log (the log lost its tail) are not served.
TEST(ProjectionRegistryTest, CheckpointAheadOfTheLogIsCorruption) {
  Fixture f;
  ASSERT_TRUE(f.proj->catch_up().ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(f.write(EventType::DataStored, "k", "{}").ok());
  ASSERT_TRUE(f.log->db()
                  ->Put({}, f.log->column_family(log::kMetaCf), ProjectionSet::checkpoint_key(),
                        log::EventLog::seq_key(9))
                  .ok());
  ProjectionSet again(*f.log);
  Status s = again.catch_up();
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.to_string();
  EXPECT_NE(s.message().find("seq 9"), std::string::npos) << s.to_string();
}

// A projection whose rows and checkpoint were lost is rebuilt from the log.
TEST(ProjectionRegistryTest, LostProjectionIsRebuiltFromTheLog) {
  Fixture f;
  ASSERT_TRUE(f.proj->catch_up().ok());
  ASSERT_TRUE(f.write(EventType::DataStored, "a", R"({"x":1})").ok());
  ASSERT_TRUE(f.write(EventType::DataStored, "b", R"({"x":2})").ok());
  ASSERT_TRUE(f.write(EventType::DataDeleted, "a", "").ok());
  ASSERT_TRUE(f.write(EventType::DataStored, "c", R"({"x":3})").ok());
  auto* db = f.log->db();
  auto* state_cf = f.log->column_family(kStateCf);
  for (const char* k : {"b", "c"}) ASSERT_TRUE(db->Delete({}, state_cf, k).ok());
  ASSERT_TRUE(db->Delete({}, f.log->column_family(log::kMetaCf), ProjectionSet::checkpoint_key("state")).ok());
  ProjectionSet again(*f.log);
  ASSERT_TRUE(again.catch_up().ok());
  EXPECT_FALSE(*again.state().get("a"));
  EXPECT_EQ((*again.state().get("b"))->version, 2u);
  EXPECT_EQ((*again.state().get("c"))->payload, R"({"x":3})");
}

}  // namespace
}  // namespace omni::projections
