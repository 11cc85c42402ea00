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
    proj = std::make_unique<ProjectionSet>(*log, nullptr);
    log->set_projector(proj.get());
  }
  Status write(EventType type, const std::string& key, const std::string& payload,
               std::optional<Seq> expected = std::nullopt, Seq* seq = nullptr) {
    AppendRequest req;
    req.events.push_back({type, key, payload, expected});
    Status s = log->append(&req);
    if (seq) *seq = req.first_seq;
    return s;
  }
};

TEST(StateProjectionTest, VersionIsSeqOfLastWrite) {
  Fixture f;
  Seq s1, s2;
  ASSERT_TRUE(f.write(EventType::kDataStored, "a", R"({"x":1})", std::nullopt, &s1).ok());
  ASSERT_TRUE(f.write(EventType::kDataStored, "a", R"({"x":2})", std::nullopt, &s2).ok());
  auto e = f.proj->state().get("a");
  ASSERT_TRUE(e.ok() && e->has_value());
  EXPECT_EQ((*e)->version, s2);
  EXPECT_EQ((*e)->payload, R"({"x":2})");
  ASSERT_TRUE(f.write(EventType::kDataDeleted, "a", "").ok());
  EXPECT_FALSE(f.proj->state().get("a")->has_value());
}

TEST(StateProjectionTest, ExpectedVersionMismatchWritesNothing) {
  Fixture f;
  Seq s1;
  ASSERT_TRUE(f.write(EventType::kDataStored, "a", "{}", Seq{0}, &s1).ok());
  EXPECT_EQ(f.write(EventType::kDataStored, "a", "{}", Seq{0}).code(), StatusCode::kConflict);
  EXPECT_EQ(f.write(EventType::kDataStored, "a", "{}", s1 + 5).code(), StatusCode::kConflict);
  EXPECT_EQ(f.log->head_seq(), s1);  // no event for the refused writes
  EXPECT_TRUE(f.write(EventType::kDataStored, "a", R"({"ok":1})", s1).ok());
}

TEST(StateProjectionTest, RequestIsAllOrNothing) {
  Fixture f;
  ASSERT_TRUE(f.write(EventType::kDataStored, "a", "{}").ok());
  AppendRequest req;
  req.events.push_back({EventType::kDataStored, "b", "{}", Seq{0}});
  req.events.push_back({EventType::kDataStored, "a", "{}", Seq{0}});  // a exists: conflict
  EXPECT_EQ(f.log->append(&req).code(), StatusCode::kConflict);
  EXPECT_FALSE(f.proj->state().get("b")->has_value());
  EXPECT_EQ(f.log->head_seq(), 1u);
  EXPECT_EQ(f.proj->audit().seqs("b")->size(), 0u);
}

TEST(StateProjectionTest, LaterEventsOfARequestSeeEarlierOnes) {
  Fixture f;
  AppendRequest req;
  req.events.push_back({EventType::kDataStored, "a", "{}", Seq{0}});
  req.events.push_back({EventType::kDataStored, "a", R"({"n":2})", Seq{1}});
  ASSERT_TRUE(f.log->append(&req).ok());
  EXPECT_EQ((*f.proj->state().get("a"))->version, 2u);
}

TEST(StateProjectionTest, MatchesReplayOfTheLog) {
  Fixture f;
  for (int i = 0; i < 50; ++i) {
    const std::string k = "k" + std::to_string(i % 7);
    if (i % 5 == 4) {
      ASSERT_TRUE(f.write(EventType::kDataDeleted, k, "").ok());
    } else {
      ASSERT_TRUE(f.write(EventType::kDataStored, k, "{\"i\":" + std::to_string(i) + "}").ok());
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
  ASSERT_TRUE(f.write(EventType::kDataStored, "a", "{}").ok());
  ASSERT_TRUE(f.write(EventType::kDataStored, "ab", "{}").ok());  // a prefix of another key
  ASSERT_TRUE(f.write(EventType::kDataStored, "a", "{}").ok());
  EXPECT_EQ(*f.proj->audit().seqs("a"), (std::vector<Seq>{1, 3}));
  EXPECT_EQ(*f.proj->audit().seqs("ab"), (std::vector<Seq>{2}));
}

// The per-key limit is applied when a key is written, in the event's own batch,
// also to rows written earlier in the same group or request.
TEST(AuditIndexTest, WriteTrimsTheKeyToTheLimit) {
  Fixture f;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(f.write(EventType::kDataStored, "a", "{}").ok());
  f.proj->audit().set_max_entries_per_key(2);
  EXPECT_EQ(f.proj->audit().seqs("a")->size(), 5u);  // nothing written: nothing trimmed
  ASSERT_TRUE(f.write(EventType::kDataStored, "a", "{}").ok());
  EXPECT_EQ(*f.proj->audit().seqs("a"), (std::vector<Seq>{5, 6}));
  AppendRequest req;  // three events of one key in one request
  for (int i = 0; i < 3; ++i) req.events.push_back({EventType::kDataStored, "a", "{}"});
  ASSERT_TRUE(f.log->append(&req).ok());
  EXPECT_EQ(*f.proj->audit().seqs("a"), (std::vector<Seq>{8, 9}));
}

// The age pass deletes the rows of events older than the cutoff and remembers
// where it stopped; a lowered limit trims keys that are not written again.
TEST(AuditIndexTest, PruneBeforeDropsOldRowsAndTrimsAfterALoweredLimit) {
  Fixture f;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(f.write(EventType::kDataStored, "old", "{}").ok());
  const std::int64_t cutoff = f.log->read(3)->timestamp_ns + 1;
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(f.write(EventType::kDataStored, "new", "{}").ok());
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

}  // namespace
}  // namespace omni::projections
