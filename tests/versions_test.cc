// Versions: store_version / list_versions / load_version, label rules and
// conflicts, pruning to max_versions_per_key (on write, by cleanup(), by the
// background pass), and that the index is a function of the log (reopen,
// catch-up, rebuild after damage).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "omni/projections/projection_set.h"
#include "omni/storage.h"
#include "test_util.h"

namespace omni {
namespace {

using omni::testing::TempDir;

std::unique_ptr<Storage> open_store(const std::string& path, Options o = {}) {
  o.path = path;
  auto r = Storage::open(std::move(o));
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? std::move(*r) : nullptr;
}

std::vector<std::string> labels_of(Storage& s, std::string_view key) {
  auto r = s.list_versions(key);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  std::vector<std::string> out;
  if (r.ok()) {
    for (const VersionInfo& v : *r) out.push_back(v.label);
  }
  return out;
}

Json doc(int i) { return Json{{"rev", i}}; }

TEST(VersionsTest, StoreListAndLoadNewestAndByLabel) {
  TempDir dir;
  auto s = open_store(dir.path());
  EXPECT_TRUE(s->list_versions("doc:1")->empty());
  EXPECT_FALSE(s->load_version("doc:1")->has_value());
  EXPECT_FALSE(s->load_version("doc:1", "v1")->has_value());

  Result<Seq> a = s->store_version("doc:1", "v1.0.0", doc(1));
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  Result<Seq> b = s->store_version("doc:1", "2026-11-26", doc(2), {.identity = "alice"});
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  Result<Seq> other = s->store_version("doc:2", "v1.0.0", doc(9));
  ASSERT_TRUE(other.ok());
  EXPECT_LT(*a, *b);

  auto list = *s->list_versions("doc:1");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].label, "v1.0.0");
  EXPECT_EQ(list[0].seq, *a);
  EXPECT_EQ(list[1].label, "2026-11-26");
  EXPECT_EQ(list[1].seq, *b);
  EXPECT_LE(list[0].timestamp, list[1].timestamp);
  EXPECT_GT(list[0].timestamp.time_since_epoch().count(), 0);

  EXPECT_EQ(**s->load_version("doc:1"), doc(2));
  EXPECT_EQ(**s->load_version("doc:1", "v1.0.0"), doc(1));
  EXPECT_EQ(**s->load_version("doc:1", "2026-11-26"), doc(2));
  EXPECT_FALSE(s->load_version("doc:1", "rc-1")->has_value());
  EXPECT_EQ(**s->load_version("doc:2"), doc(9));

  // Each store is a version_stored event in the key's audit trail, by its writer.
  auto trail = *s->get_audit_trail("doc:1");
  ASSERT_EQ(trail.size(), 2u);
  EXPECT_EQ(trail[1].operation, "version_stored");
  EXPECT_EQ(trail[1].label, "2026-11-26");
  EXPECT_EQ(trail[1].identity, "alice");
}

TEST(VersionsTest, BadInputIsRefusedAndNothingIsWritten) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->store_version("doc", "v1", doc(1)).ok());
  const Seq head = s->get_statistics().head_seq;
  const auto before = *s->list_versions("doc");

  const std::vector<std::string> bad_labels = {
      "",                       // empty
      std::string(129, 'a'),    // too long
      "release/1",              // '/'
      "v 1",                    // space
      "v\t1",                   // tab
      "v\xc3\xa9",              // non-ASCII (é)
      std::string("v\x01", 2),  // control
      std::string("v\0", 2),    // NUL
      "v\x7f",                  // DEL
  };
  for (const std::string& label : bad_labels) {
    Result<Seq> r = s->store_version("doc", label, doc(2));
    ASSERT_FALSE(r.ok()) << "label '" << label << "' was accepted";
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().to_string();
    EXPECT_NE(r.status().message().find("label"), std::string::npos) << r.status().to_string();
    auto load = s->load_version("doc", label);
    EXPECT_EQ(load.status().code(), StatusCode::kInvalidArgument) << label;
  }
  // 128 bytes is the longest label.
  EXPECT_TRUE(s->store_version("edge", std::string(128, 'a'), doc(0)).ok());
  const Seq head2 = s->get_statistics().head_seq;
  EXPECT_EQ(head2, head + 1);

  // A bad key, document or identity.
  EXPECT_EQ(s->store_version("", "v2", doc(2)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->store_version(std::string("a\x01", 2), "v2", doc(2)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(s->store_version("doc", "v2", Json::array({1, 2})).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->store_version("doc", "v2", Json{{"x", std::nan("")}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(s->store_version("doc", "v2", doc(2), {.identity = std::string("m\x02", 2)}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(s->list_versions("").status().code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(s->get_statistics().head_seq, head2);
  EXPECT_EQ(*s->list_versions("doc"), before);
  EXPECT_EQ(**s->load_version("doc"), doc(1));
  EXPECT_EQ(s->get_audit_trail("doc")->size(), 1u);
}

TEST(VersionsTest, ExistingLabelIsConflictAndNothingIsWritten) {
  TempDir dir;
  auto s = open_store(dir.path());
  const Seq v1 = *s->store_version("doc", "v1", doc(1));
  ASSERT_TRUE(s->store_version("doc", "v2", doc(2)).ok());
  const Seq head = s->get_statistics().head_seq;
  const auto before = *s->list_versions("doc");

  Result<Seq> r = s->store_version("doc", "v1", doc(3));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_EQ(r.status().message(), "key 'doc' already has version 'v1' (seq " + std::to_string(v1) +
                                      "); set overwrite to replace it");
  EXPECT_EQ(s->get_statistics().head_seq, head);
  EXPECT_EQ(*s->list_versions("doc"), before);
  EXPECT_EQ(**s->load_version("doc", "v1"), doc(1));
  EXPECT_EQ(s->get_audit_trail("doc")->size(), 2u);
  // The same label on another key is another version.
  EXPECT_TRUE(s->store_version("other", "v1", doc(4)).ok());
}

TEST(VersionsTest, OverwriteMovesTheLabelToNewest) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->store_version("doc", "v1", doc(1)).ok());
  ASSERT_TRUE(s->store_version("doc", "v2", doc(2)).ok());
  Result<Seq> again = s->store_version("doc", "v1", doc(3), {.overwrite = true});
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(labels_of(*s, "doc"), (std::vector<std::string>{"v2", "v1"}));
  EXPECT_EQ(s->list_versions("doc")->back().seq, *again);
  EXPECT_EQ(**s->load_version("doc"), doc(3));
  EXPECT_EQ(**s->load_version("doc", "v1"), doc(3));
  // overwrite of a label that does not exist yet is a plain store.
  ASSERT_TRUE(s->store_version("doc", "v3", doc(4), {.overwrite = true}).ok());
  EXPECT_EQ(labels_of(*s, "doc"), (std::vector<std::string>{"v2", "v1", "v3"}));
}

TEST(VersionsTest, VersionsAreIndependentOfStoredData) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->store_data("doc", doc(100)).ok());
  const Seq data_version = *s->get_version("doc");
  ASSERT_TRUE(s->store_version("doc", "v1", doc(1)).ok());
  EXPECT_EQ(**s->load_data("doc"), doc(100));
  EXPECT_EQ(*s->get_version("doc"), data_version);
  ASSERT_TRUE(s->store_version("fresh", "v1", doc(2)).ok());
  EXPECT_FALSE(s->load_data("fresh")->has_value());
  ASSERT_TRUE(s->delete_data("doc").ok());
  EXPECT_FALSE(s->load_data("doc")->has_value());
  EXPECT_EQ(**s->load_version("doc", "v1"), doc(1));
  ASSERT_TRUE(s->store_data("doc", doc(101)).ok());
  EXPECT_EQ(labels_of(*s, "doc"), (std::vector<std::string>{"v1"}));
}

TEST(VersionsTest, WritesBeyondTheLimitPruneTheOldest) {
  TempDir dir;
  auto s = open_store(dir.path(), {.max_versions_per_key = 3});
  EXPECT_EQ(*s->versioning().config().max_versions_per_key, 3u);
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(s->store_version("doc", "v" + std::to_string(i), doc(i)).ok());
  EXPECT_EQ(labels_of(*s, "doc"), (std::vector<std::string>{"v3", "v4", "v5"}));
  EXPECT_FALSE(s->load_version("doc", "v1")->has_value());
  EXPECT_FALSE(s->load_version("doc", "v2")->has_value());
  EXPECT_EQ(**s->load_version("doc", "v3"), doc(3));
  // A pruned label can be stored again (no conflict).
  ASSERT_TRUE(s->store_version("doc", "v1", doc(6)).ok());
  EXPECT_EQ(labels_of(*s, "doc"), (std::vector<std::string>{"v4", "v5", "v1"}));
  // An overwrite keeps the count: nothing is pruned.
  ASSERT_TRUE(s->store_version("doc", "v4", doc(7), {.overwrite = true}).ok());
  EXPECT_EQ(labels_of(*s, "doc"), (std::vector<std::string>{"v5", "v1", "v4"}));

  std::vector<std::vector<std::string>> pruned;
  for (const AuditEntry& e : *s->get_audit_trail("doc")) {
    if (e.operation == "versions_pruned") pruned.push_back(e.labels);
  }
  EXPECT_EQ(pruned, (std::vector<std::vector<std::string>>{{"v1"}, {"v2"}, {"v3"}}));
}

TEST(VersionsTest, LoweredLimitIsAppliedByCleanup) {
  TempDir dir;
  auto s = open_store(dir.path());
  for (int k = 0; k < 3; ++k) {
    for (int i = 1; i <= 6; ++i) {
      ASSERT_TRUE(s->store_version("doc" + std::to_string(k), "v" + std::to_string(i), doc(i)).ok());
    }
  }
  ASSERT_TRUE(s->store_version("small", "only", doc(0)).ok());
  ASSERT_TRUE(s->versioning().configure({.max_versions_per_key = 2}).ok());
  // Until a pass or a write of the key, nothing changes.
  EXPECT_EQ(labels_of(*s, "doc0").size(), 6u);
  const Seq head = s->get_statistics().head_seq;
  ASSERT_TRUE(s->versioning().cleanup().ok());
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(labels_of(*s, "doc" + std::to_string(k)), (std::vector<std::string>{"v5", "v6"})) << k;
    auto trail = *s->get_audit_trail("doc" + std::to_string(k));
    EXPECT_EQ(trail.back().operation, "versions_pruned");
    EXPECT_EQ(trail.back().labels, (std::vector<std::string>{"v1", "v2", "v3", "v4"}));
  }
  EXPECT_EQ(labels_of(*s, "small"), (std::vector<std::string>{"only"}));
  EXPECT_EQ(s->get_statistics().head_seq, head + 3);  // one versions_pruned per key
  // Nothing is left to prune.
  ASSERT_TRUE(s->versioning().cleanup().ok());
  EXPECT_EQ(s->get_statistics().head_seq, head + 3);
}

TEST(VersionsTest, LoweredLimitIsAppliedOnTheKeysNextWrite) {
  TempDir dir;
  auto s = open_store(dir.path());
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(s->store_version("doc", "v" + std::to_string(i), doc(i)).ok());
  ASSERT_TRUE(s->versioning().configure({.max_versions_per_key = 2}).ok());
  ASSERT_TRUE(s->store_version("doc", "v6", doc(6)).ok());
  EXPECT_EQ(labels_of(*s, "doc"), (std::vector<std::string>{"v5", "v6"}));
}

TEST(VersionsTest, BackgroundPassPrunes) {
  TempDir dir;
  auto s = open_store(dir.path());
  for (int i = 1; i <= 4; ++i) ASSERT_TRUE(s->store_version("doc", "v" + std::to_string(i), doc(i)).ok());
  ASSERT_TRUE(s->versioning()
                  .configure({.max_versions_per_key = 1, .cleanup_interval = std::chrono::seconds(1)})
                  .ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (labels_of(*s, "doc").size() != 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(labels_of(*s, "doc"), (std::vector<std::string>{"v4"}));
  EXPECT_EQ(s->check_health().status, HealthStatus::kHealthy) << s->check_health().detail;
  // Close does not wait for the timer (or hang on it).
  ASSERT_TRUE(s->close().ok());
}

TEST(VersionsTest, ConfigureChecksItsInputAndIsRefusedAfterClose) {
  TempDir dir;
  auto s = open_store(dir.path(), {.max_versions_per_key = 7, .version_cleanup_interval = std::chrono::seconds(90)});
  VersioningConfig c = s->versioning().config();
  EXPECT_EQ(*c.max_versions_per_key, 7u);
  EXPECT_EQ(*c.cleanup_interval, std::chrono::seconds(90));
  EXPECT_EQ(s->versioning().configure({.cleanup_interval = std::chrono::seconds(0)}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(s->versioning().configure({.max_versions_per_key = 1, .cleanup_interval = std::chrono::seconds(-1)}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(*s->versioning().config().max_versions_per_key, 7u);  // nothing changed
  ASSERT_TRUE(s->versioning().configure({.max_versions_per_key = 0}).ok());
  c = s->versioning().config();
  EXPECT_EQ(*c.max_versions_per_key, 0u);
  EXPECT_EQ(*c.cleanup_interval, std::chrono::seconds(90));
  ASSERT_TRUE(s->close().ok());
  EXPECT_EQ(s->versioning().configure({.max_versions_per_key = 3}).code(), StatusCode::kUnavailable);
  EXPECT_EQ(s->versioning().cleanup().code(), StatusCode::kUnavailable);
  EXPECT_EQ(s->store_version("doc", "v1", doc(1)).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(*s->versioning().config().max_versions_per_key, 0u);
}

// A history with overwrites, re-stored labels and prunes in one replay batch.
void write_history(Storage& s) {
  for (int i = 1; i <= 6; ++i) ASSERT_TRUE(s.store_version("a", "v" + std::to_string(i), doc(i)).ok());
  ASSERT_TRUE(s.store_version("a", "v5", doc(50), {.overwrite = true}).ok());
  ASSERT_TRUE(s.store_version("a", "v1", doc(10)).ok());  // pruned before: stored again
  for (int k = 0; k < 20; ++k) ASSERT_TRUE(s.store_version("k" + std::to_string(k), "x", doc(k)).ok());
  ASSERT_TRUE(s.store_version("k3", "x", doc(33), {.overwrite = true}).ok());
  ASSERT_TRUE(s.store_version("k3", "x", doc(34), {.overwrite = true}).ok());
  ASSERT_TRUE(s.store_data("a", doc(0)).ok());
}

std::vector<std::pair<std::string, std::vector<VersionInfo>>> snapshot(Storage& s) {
  std::vector<std::pair<std::string, std::vector<VersionInfo>>> out;
  std::vector<std::string> keys = {"a"};
  for (int k = 0; k < 20; ++k) keys.push_back("k" + std::to_string(k));
  for (const std::string& k : keys) out.emplace_back(k, *s.list_versions(k));
  return out;
}

TEST(VersionsTest, ReopenGivesTheSameVersions) {
  TempDir dir;
  decltype(snapshot(std::declval<Storage&>())) before;
  {
    auto s = open_store(dir.path(), {.max_versions_per_key = 3});
    write_history(*s);
    before = snapshot(*s);
    EXPECT_EQ(labels_of(*s, "a"), (std::vector<std::string>{"v6", "v5", "v1"}));
  }
  auto s = open_store(dir.path(), {.max_versions_per_key = 3});
  EXPECT_EQ(snapshot(*s), before);
  EXPECT_EQ(**s->load_version("a"), doc(10));
  EXPECT_EQ(**s->load_version("a", "v5"), doc(50));
  EXPECT_EQ(**s->load_version("k3"), doc(34));
}

TEST(VersionsTest, CatchUpAtOpenRebuildsAnEmptiedIndex) {
  TempDir dir;
  decltype(snapshot(std::declval<Storage&>())) before;
  {
    auto s = open_store(dir.path(), {.max_versions_per_key = 3});
    write_history(*s);
    before = snapshot(*s);
  }
  omni::testing::with_raw_db(dir.path(), [](rocksdb::DB* raw, const auto& cf) {
    ASSERT_TRUE(raw->DeleteRange({}, cf("versions"), "", "\xff").ok());
    ASSERT_TRUE(raw->Delete({}, cf("meta"), projections::ProjectionSet::checkpoint_key("versions")).ok());
  });
  // With no limit at open: the prunes come from the log, not from the configuration.
  auto s = open_store(dir.path());
  EXPECT_EQ(snapshot(*s), before);
  EXPECT_EQ(**s->load_version("a", "v1"), doc(10));
  EXPECT_EQ(s->check_health().status, HealthStatus::kHealthy) << s->check_health().detail;
  // Rows the catch-up left behind do not disturb later writes.
  ASSERT_TRUE(s->store_version("a", "v7", doc(7)).ok());
  EXPECT_EQ(labels_of(*s, "a"), (std::vector<std::string>{"v6", "v5", "v1", "v7"}));
}

TEST(VersionsTest, DamagedIndexIsRebuiltAtOpen) {
  TempDir dir;
  decltype(snapshot(std::declval<Storage&>())) before;
  {
    auto s = open_store(dir.path(), {.max_versions_per_key = 3});
    write_history(*s);
    before = snapshot(*s);
  }
  // The checkpoint stays: only verification against the newest events finds it.
  omni::testing::with_raw_db(dir.path(), [](rocksdb::DB* raw, const auto& cf) {
    ASSERT_TRUE(raw->DeleteRange({}, cf("versions"), "", "\xff").ok());
  });
  auto s = open_store(dir.path());
  EXPECT_EQ(snapshot(*s), before);
  const Health h = s->check_health();
  EXPECT_EQ(h.status, HealthStatus::kDegraded);
  EXPECT_NE(h.detail.find("projection 'versions' did not match the log"), std::string::npos) << h.detail;
}

TEST(VersionsTest, ConcurrentStoresOfOneNewLabelLetExactlyOneSucceed) {
  TempDir dir;
  auto s = open_store(dir.path());
  constexpr int kThreads = 8;
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    const std::string label = "r" + std::to_string(round);
    std::atomic<int> ok{0}, conflict{0}, other{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        while (!go.load()) std::this_thread::yield();
        Result<Seq> r = s->store_version("doc", label, doc(t));
        if (r.ok()) {
          ++ok;
        } else if (r.status().code() == StatusCode::kConflict) {
          ++conflict;
        } else {
          ++other;
        }
      });
    }
    go.store(true);
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), 1) << label;
    EXPECT_EQ(conflict.load(), kThreads - 1) << label;
    EXPECT_EQ(other.load(), 0) << label;
  }
  EXPECT_EQ(labels_of(*s, "doc").size(), std::size_t{kRounds});
  EXPECT_EQ(s->get_audit_trail("doc")->size(), std::size_t{kRounds});
}

// The index refuses a prune that is not of versions beyond the limit (a cleanup
// computed before a concurrent write changed the key), leaving nothing written.
TEST(VersionsTest, IndexRefusesAPruneOfVersionsWithinTheLimit) {
  TempDir dir;
  log::EventLogOptions lo;
  lo.path = dir.path();
  lo.extra_column_families = projections::column_families();
  auto lg = std::move(*log::EventLog::open(lo));
  projections::ProjectionSet proj(*lg);
  auto owned = std::make_unique<projections::VersionIndex>(*lg);
  projections::VersionIndex& idx = *owned;
  proj.add(std::move(owned));
  lg->set_projector(&proj);
  ASSERT_TRUE(proj.catch_up().ok());
  auto append = [&](log::EventDraft d) {
    log::AppendRequest req;
    req.events.push_back(std::move(d));
    return lg->append(&req);
  };
  auto stored = [](std::string label) {
    log::EventDraft d{log::EventType::VersionStored, "k", "{}"};
    d.attrs.label = std::move(label);
    return d;
  };
  auto pruned = [](std::vector<std::string> names) {
    log::EventDraft d{log::EventType::VersionsPruned, "k", ""};
    d.attrs.names = std::move(names);
    return d;
  };
  for (const char* l : {"a", "b", "c"}) ASSERT_TRUE(append(stored(l)).ok());
  idx.set_max_versions_per_key(2);  // "a" is beyond it
  const Seq head = lg->head_seq();
  EXPECT_EQ(append(pruned({"b"})).code(), StatusCode::kConflict);
  EXPECT_EQ(append(pruned({"a", "b"})).code(), StatusCode::kConflict);
  EXPECT_EQ(append(pruned({"zz"})).code(), StatusCode::kConflict);
  EXPECT_EQ(lg->head_seq(), head);
  EXPECT_EQ(idx.list("k")->size(), 3u);
  ASSERT_TRUE(append(pruned({"a"})).ok());
  EXPECT_EQ(*idx.list("k"), (std::vector<projections::VersionRow>{{"b", 2}, {"c", 3}}));
  ASSERT_TRUE(lg->close(std::chrono::steady_clock::now() + std::chrono::seconds(5)).ok());
}

}  // namespace
}  // namespace omni
