// rebuild_projections(): every derived index rebuilt from the log into fresh
// column families while the store serves, then swapped; the rebuilt rows equal the
// live ones, nothing is offline, and the rebuilt generation is what a reopen serves.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "omni/storage.h"
#include "test_util.h"

namespace omni {
namespace {

using omni::testing::TempDir;
using Rows = std::map<std::string, std::map<std::string, std::string>>;  // family -> rows

const std::vector<std::string> kDerived = {"state", "key_index", "rel_fwd", "rel_rev", "versions", "policy"};

std::unique_ptr<Storage> open_store(const std::string& path) {
  Options o;
  o.path = path;
  o.max_versions_per_key = 3;
  auto r = Storage::open(std::move(o));
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? std::move(*r) : nullptr;
}

// The rows of every derived family of generation `suffix` ("" or "@<n>"), read
// from the closed store. The policy index's own catch-up marker row ("m") is left
// out: it records how far a replay got, which the live path does not write.
Rows dump(const std::string& path, const std::string& suffix) {
  Rows out;
  omni::testing::with_raw_db(path, [&](rocksdb::DB* db, const auto& cf) {
    for (const std::string& base : kDerived) {
      rocksdb::ColumnFamilyHandle* h = cf(base + suffix);
      if (!h) continue;
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h));
      auto& rows = out[base];
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        if (base == "policy" && it->key().ToString() == "m") continue;
        rows[it->key().ToString()] = it->value().ToString();
      }
    }
  });
  return out;
}

std::vector<std::string> families(const std::string& path) {
  std::vector<std::string> names;
  EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
  return names;
}

// A mix of every kind of event, deterministic.
void populate(Storage& s, int ops, unsigned seed) {
  std::mt19937 rng(seed);
  auto key = [&] { return "k" + std::to_string(rng() % 30); };
  for (int i = 0; i < ops; ++i) {
    switch (rng() % 6) {
      case 0: ASSERT_TRUE(s.store_data(key(), Json{{"i", i}}).ok()); break;
      case 1: ASSERT_TRUE(s.delete_data(key()).ok()); break;
      case 2: ASSERT_TRUE(s.store_relationship(key(), "p" + std::to_string(rng() % 2), key()).ok()); break;
      case 3: ASSERT_TRUE(s.remove_relationship(key(), "p0", key()).ok()); break;
      case 4: ASSERT_TRUE(s.store_version(key(), "v" + std::to_string(rng() % 5), Json{{"i", i}}, {.overwrite = true}).ok()); break;
      default:
        ASSERT_TRUE(s.cache_policy_decision(key(), "read", key(), rng() % 2 == 0, {.depends_on = {key()}}).ok());
    }
  }
}

TEST(RebuildTest, RebuiltRowsEqualTheLiveOnesAndReopenServesThem) {
  TempDir dir;
  auto s = open_store(dir.path());
  populate(*s, 3000, 7);
  const Json k1 = s->load_data("k1")->value_or(Json());
  ASSERT_TRUE(s->close().ok());
  const Rows before = dump(dir.path(), "");
  ASSERT_FALSE(before.at("state").empty());
  ASSERT_FALSE(before.at("rel_fwd").empty());
  ASSERT_FALSE(before.at("versions").empty());
  ASSERT_FALSE(before.at("policy").empty());

  s = open_store(dir.path());
  std::vector<RebuildProgress> seen;
  ASSERT_TRUE(s->rebuild_projections({.progress = [&](const RebuildProgress& p) { seen.push_back(p); }}).ok());
  ASSERT_FALSE(seen.empty());
  EXPECT_TRUE(seen.back().caught_up);
  EXPECT_EQ(seen.back().applied, s->check_health().head_seq);
  EXPECT_EQ(s->load_data("k1")->value_or(Json()), k1);
  ASSERT_TRUE(s->close().ok());

  EXPECT_EQ(dump(dir.path(), "@1"), before);
  // The old generation's families were dropped (every open asks for the first
  // generation's names again, empty).
  for (const std::string& name : families(dir.path())) {
    EXPECT_EQ(std::count(kDerived.begin(), kDerived.end(), name), 0) << name;
  }

  s = open_store(dir.path());
  EXPECT_EQ(s->check_health().status, HealthStatus::kHealthy) << s->check_health().detail;
  EXPECT_EQ(s->load_data("k1")->value_or(Json()), k1);
  ASSERT_TRUE(s->store_data("after", Json{{"x", 1}}).ok());
  EXPECT_EQ(**s->load_data("after"), (Json{{"x", 1}}));
  // A second rebuild moves on to generation 2 and drops generation 1.
  ASSERT_TRUE(s->rebuild_projections().ok());
  ASSERT_TRUE(s->close().ok());
  const auto names = families(dir.path());
  EXPECT_EQ(std::count(names.begin(), names.end(), "state@1"), 0);
  EXPECT_EQ(std::count(names.begin(), names.end(), "state@2"), 1);
}

TEST(RebuildTest, ReadsAndWritesGoOnDuringARebuildAndNothingIsLost) {
  TempDir dir;
  auto s = open_store(dir.path());
  populate(*s, 20000, 11);  // enough that the rebuild takes a while
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        const std::string k = "w" + std::to_string(t);
        ASSERT_TRUE(s->store_data(k, Json{{"i", i}}).ok());
        ASSERT_TRUE(s->store_relationship(k, "wrote", "n" + std::to_string(i)).ok());
        auto back = s->load_data(k);  // reads are served throughout
        ASSERT_TRUE(back.ok() && back->has_value());
        ASSERT_EQ((**back)["i"], i);
        written.fetch_add(1);
      }
    });
  }
  while (written.load() < 50) std::this_thread::yield();
  const int during = written.load();
  ASSERT_TRUE(s->rebuild_projections().ok());
  const int after_rebuild = written.load();
  while (written.load() < after_rebuild + 50) std::this_thread::yield();
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_GT(after_rebuild, during) << "writes made no progress while the rebuild ran";

  // Every write before, during and after the swap is in the rebuilt projections.
  for (int t = 0; t < 3; ++t) {
    const std::string k = "w" + std::to_string(t);
    const Json last = **s->load_data(k);
    const int n = last["i"].get<int>() + 1;
    EXPECT_EQ(s->get_related(k, "wrote")->size(), static_cast<std::size_t>(n)) << k;
    EXPECT_EQ(s->get_audit_trail(k)->size(), static_cast<std::size_t>(2 * n)) << k;
  }
  // And the rows equal a rebuild made with nothing running.
  ASSERT_TRUE(s->close().ok());
  const Rows live = dump(dir.path(), "@1");
  s = open_store(dir.path());
  ASSERT_TRUE(s->rebuild_projections().ok());
  ASSERT_TRUE(s->close().ok());
  EXPECT_EQ(dump(dir.path(), "@2"), live);
}

TEST(RebuildTest, OneRebuildAtATimeAndNoneAfterClose) {
  TempDir dir;
  auto s = open_store(dir.path());
  populate(*s, 200, 3);
  Status inner;
  bool asked = false;
  ASSERT_TRUE(s->rebuild_projections({.progress = [&](const RebuildProgress&) {
                 if (!asked) {
                   asked = true;
                   inner = s->rebuild_projections();
                 }
               }}).ok());
  EXPECT_EQ(inner.code(), StatusCode::kConflict) << inner.to_string();
  ASSERT_TRUE(s->close().ok());
  EXPECT_EQ(s->rebuild_projections().code(), StatusCode::kUnavailable);
}

// A projection's column family dropped behind the store's back (before and after
// a rebuild): open recreates it, sees the checkpoint cannot vouch for it, and
// rebuilds it from the whole log, not just the newest events open verifies.
TEST(RebuildTest, ADroppedColumnFamilyIsRebuiltFromTheWholeLogAtOpen) {
  for (const std::string& suffix : {std::string(), std::string("@1")}) {
    SCOPED_TRACE("generation '" + suffix + "'");
    TempDir dir;
    auto s = open_store(dir.path());
    if (!suffix.empty()) {
      ASSERT_TRUE(s->rebuild_projections().ok());
    }
    ASSERT_TRUE(s->store_relationship("old", "member_of", "group").ok());
    ASSERT_TRUE(s->store_version("cfg", "v1", Json{{"a", 1}}).ok());
    // Push those events out of the window open verifies.
    for (int i = 0; i < 3000; ++i) {
      ASSERT_TRUE(s->store_data("k" + std::to_string(i % 50), Json{{"i", i}}).ok());
    }
    ASSERT_TRUE(s->close().ok());
    s.reset();
    omni::testing::with_raw_db(dir.path(), [&](rocksdb::DB* db, const auto& cf) {
      for (const char* base : {"rel_fwd", "versions"}) {
        ASSERT_TRUE(db->DropColumnFamily(cf(base + suffix)).ok());
      }
    });
    s = open_store(dir.path());
    ASSERT_TRUE(s);
    EXPECT_EQ(*s->get_related("old", "member_of"), std::vector<std::string>{"group"});
    EXPECT_EQ(*s->get_related_reverse("group", "member_of"), std::vector<std::string>{"old"});
    ASSERT_EQ(s->list_versions("cfg")->size(), 1u);
    EXPECT_EQ(s->check_health().status, HealthStatus::kDegraded);  // the disk lost rows: said so
    EXPECT_NE(s->check_health().detail.find("lost its column family"), std::string::npos)
        << s->check_health().detail;
  }
}

TEST(RebuildTest, ScratchFilesOfARebuildACrashInterruptedAreRemovedAtOpen) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->store_data("a", Json{{"x", 1}}).ok());
  ASSERT_TRUE(s->close().ok());
  s.reset();
  // What a bulk load killed between writing its files and ingesting them leaves.
  const std::filesystem::path left = std::filesystem::path(dir.path()) / "bulk-load-3";
  std::filesystem::create_directories(left);
  { std::ofstream(left / "0-5.sst") << "half a file"; }
  s = open_store(dir.path());
  ASSERT_TRUE(s);
  EXPECT_FALSE(std::filesystem::exists(left));
  EXPECT_EQ(**s->load_data("a"), (Json{{"x", 1}}));
  EXPECT_EQ(s->check_health().status, HealthStatus::kHealthy) << s->check_health().detail;
}

}  // namespace
}  // namespace omni
