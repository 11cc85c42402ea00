// Open verifies what it serves: a log that lost events (a deleted WAL file, a
// truncated MANIFEST) is refused with kCorruption, and a projection that disagrees
// with the log is rebuilt from it, never served as healthy.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "omni/log/head_anchor.h"
#include "omni/projections/projection_set.h"
#include "omni/storage.h"
#include "test_util.h"

namespace omni {
namespace {

namespace fs = std::filesystem;
using omni::testing::TempDir;

fs::path manifest_of(const fs::path& dir) {
  std::ifstream in(dir / "CURRENT");
  std::string name;
  std::getline(in, name);
  return dir / name;
}

std::string key_of(char prefix, int i) { return std::string(1, prefix) + std::to_string(i); }

// Three sessions of 1,000 keys, each closed cleanly (so flushed), then the
// MANIFEST cut at fifteen points: RocksDB refuses the early cuts itself, and
// reopened the late ones consistent but 1,000 events short, as healthy, before the
// head anchor existed.
TEST(OpenVerifyTest, TruncatedManifestIsRefusedNeverServedAsAnOlderStore) {
  TempDir dir;
  const fs::path db = dir.sub("db");
  for (char prefix : {'a', 'b', 'c'}) {
    auto s = std::move(*Storage::open({.path = db.string()}));
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(s->store_data(key_of(prefix, i), {{"i", i}}).ok());
    ASSERT_TRUE(s->close().ok());
  }
  const auto size = fs::file_size(manifest_of(db));
  int refused_by_anchor = 0;
  for (int k = 1; k < 16; ++k) {
    const fs::path copy = dir.sub("cut" + std::to_string(k));
    fs::copy(db, copy);
    fs::resize_file(manifest_of(copy), size * k / 16);
    auto s = Storage::open({.path = copy.string()});
    if (!s.ok()) {
      EXPECT_EQ(s.status().code(), StatusCode::kCorruption) << "cut " << k << ": " << s.status().to_string();
      refused_by_anchor += s.status().message().find("seq 3000 was durable") != std::string::npos;
      continue;
    }
    // Opened: then nothing may be missing.
    EXPECT_EQ((*s)->get_statistics().head_seq, 3000u) << "cut " << k;
    for (char prefix : {'a', 'b', 'c'}) {
      for (int i = 0; i < 1000; i += 37) {
        EXPECT_TRUE((*(*s)->load_data(key_of(prefix, i))).has_value()) << "cut " << k << " " << key_of(prefix, i);
      }
    }
  }
  EXPECT_GT(refused_by_anchor, 0) << "no cut reached the anchor check: the test lost its point";
}

// Writes `first` events into one WAL file, switches to a second (a flush that
// cannot run: background work is paused), writes `second` more, and dies.
void crash_with_two_wals(const std::string& db, int first, int second) {
  omni::testing::crash_after(db, [&] {
    log::EventLogOptions lo;
    lo.path = db;
    lo.extra_column_families = projections::column_families();
    auto lg = std::move(*log::EventLog::open(lo));
    projections::ProjectionSet proj(*lg);
    lg->set_projector(&proj);
    if (!proj.catch_up().ok()) return false;
    auto put = [&](int i) {
      log::AppendRequest req;
      req.events.push_back({log::EventType::DataStored, key_of('k', i), "{\"i\":1}"});
      return lg->append(&req).ok();
    };
    for (int i = 0; i < first; ++i) if (!put(i)) return false;
    if (!lg->db()->PauseBackgroundWork().ok()) return false;
    rocksdb::FlushOptions fo;
    fo.wait = false;
    std::vector<rocksdb::ColumnFamilyHandle*> all;
    for (auto n : {"default", "events", "meta", "state", "key_index"}) all.push_back(lg->column_family(n));
    if (!lg->db()->Flush(fo, all).ok()) return false;
    for (int i = first; i < first + second; ++i) if (!put(i)) return false;
    (void)lg.release();  // dies with it open
    return true;
  });
}

std::vector<fs::path> wal_files(const fs::path& dir) {
  std::vector<fs::path> wals;
  for (const auto& f : fs::directory_iterator(dir)) {
    if (f.path().extension() == ".log") wals.push_back(f.path());
  }
  std::sort(wals.begin(), wals.end());
  return wals;
}

// The older WAL's events (and the rows derived from them) are gone; the newer
// one, holding a checkpoint past them, is replayed. Catching up from that
// checkpoint would never look at the gap: the count of events at open does.
TEST(OpenVerifyTest, DeletedWalFileIsRefusedNamingTheMissingEvents) {
  TempDir dir;
  const std::string db = dir.sub("db");
  crash_with_two_wals(db, 500, 1100);  // a checkpoint at seq 1024, in the second WAL
  const std::vector<fs::path> wals = wal_files(db);
  ASSERT_EQ(wals.size(), 2u);
  fs::remove(wals.front());
  auto s = Storage::open({.path = db});
  ASSERT_FALSE(s.ok()) << "opened a log that lost seq 1..500";
  EXPECT_EQ(s.status().code(), StatusCode::kCorruption);
  EXPECT_NE(s.status().message().find("seq 1..500 missing"), std::string::npos) << s.status().to_string();
}

// Control: with both WAL files the same store opens with every event.
TEST(OpenVerifyTest, StoreWithBothWalFilesOpensComplete) {
  TempDir dir;
  const std::string db = dir.sub("db");
  crash_with_two_wals(db, 500, 1100);
  ASSERT_EQ(wal_files(db).size(), 2u);
  auto s = Storage::open({.path = db});
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ((*s)->get_statistics().head_seq, 1600u);
  EXPECT_EQ((*s)->check_health().status, HealthStatus::kHealthy) << (*s)->check_health().detail;
  EXPECT_TRUE((*(*s)->load_data(key_of('k', 0))).has_value());
}

void write_keys(const std::string& db, int n) {
  auto s = std::move(*Storage::open({.path = db}));
  for (int i = 0; i < n; ++i) ASSERT_TRUE(s->store_data(key_of('k', i), {{"i", i}}).ok());
  ASSERT_TRUE(s->delete_data(key_of('k', 5)).ok());
  ASSERT_TRUE(s->close().ok());
}

TEST(OpenVerifyTest, LostStateRowsAreRebuiltFromTheLogAndReported) {
  TempDir dir;
  const std::string db = dir.sub("db");
  write_keys(db, 2000);
  // Behind the engine's back: the rows of the 300 newest keys vanish.
  omni::testing::with_raw_db(db, [](rocksdb::DB* raw, const auto& cf) {
    for (int i = 1700; i < 2000; ++i) ASSERT_TRUE(raw->Delete({}, cf("state"), key_of('k', i)).ok());
  });
  {
    auto s = std::move(*Storage::open({.path = db}));
    for (int i : {0, 1699, 1700, 1999}) {
      auto doc = s->load_data(key_of('k', i));
      ASSERT_TRUE(doc.ok() && doc->has_value()) << key_of('k', i);
      EXPECT_EQ(**doc, (Json{{"i", i}}));
      EXPECT_EQ(*s->get_version(key_of('k', i)), Seq(i + 1));
    }
    EXPECT_FALSE((*s->load_data(key_of('k', 5))).has_value());
    const Health h = s->check_health();
    EXPECT_EQ(h.status, HealthStatus::kDegraded);
    EXPECT_NE(h.detail.find("projection 'state' did not match the log"), std::string::npos) << h.detail;
    EXPECT_NE(h.detail.find("rebuilt"), std::string::npos) << h.detail;
  }
  // Repaired for good: the next open finds nothing wrong.
  auto again = std::move(*Storage::open({.path = db}));
  EXPECT_EQ(again->check_health().status, HealthStatus::kHealthy) << again->check_health().detail;
}

TEST(OpenVerifyTest, StateRowPointingAtAnOlderVersionIsRebuilt) {
  TempDir dir;
  const std::string db = dir.sub("db");
  {
    auto s = std::move(*Storage::open({.path = db}));
    ASSERT_TRUE(s->store_data("cfg", {{"v", 1}}).ok());
    ASSERT_TRUE(s->store_data("cfg", {{"v", 2}}).ok());
  }
  omni::testing::with_raw_db(db, [](rocksdb::DB* raw, const auto& cf) {
    ASSERT_TRUE(raw->Put({}, cf("state"), "cfg", log::EventLog::seq_key(1)).ok());
  });
  auto s = std::move(*Storage::open({.path = db}));
  EXPECT_EQ(**s->load_data("cfg"), (Json{{"v", 2}}));
  EXPECT_NE(s->check_health().detail.find("'cfg' is at version 1 in the state"), std::string::npos)
      << s->check_health().detail;
}

TEST(OpenVerifyTest, RewrittenNewestEventIsRefused) {
  TempDir dir;
  const std::string db = dir.sub("db");
  write_keys(db, 10);  // the newest event is seq 11, the delete of k5
  std::string bytes;
  omni::testing::with_raw_db(db, [&](rocksdb::DB* raw, const auto& cf) {
    ASSERT_TRUE(raw->Get({}, cf("events"), log::EventLog::seq_key(11), &bytes).ok());
  });
  log::Event e = *log::decode_event(bytes, 11);
  std::string forged;  // a well-formed event, chained correctly, by another identity
  log::encode_event({e.seq, e.timestamp_ns, e.type, "mallory", e.key, e.payload, &e.prev_hash}, &forged);
  omni::testing::overwrite_event(db, 11, forged);
  auto s = Storage::open({.path = db});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kCorruption);
  EXPECT_NE(s.status().message().find("event seq 11 differs"), std::string::npos) << s.status().to_string();
}

TEST(OpenVerifyTest, MalformedAnchorIsCorruptionNamingTheFile) {
  TempDir dir;
  const std::string db = dir.sub("db");
  write_keys(db, 3);
  std::ofstream(fs::path(db) / log::kHeadAnchorFile, std::ios::trunc) << "omni-head 1 12 not-a-hash\n";
  auto s = Storage::open({.path = db});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kCorruption);
  EXPECT_NE(s.status().message().find(log::kHeadAnchorFile), std::string::npos) << s.status().to_string();
}

// A store without an anchor (older, or never closed) opens and gets one.
TEST(OpenVerifyTest, MissingAnchorIsWrittenAtOpen) {
  TempDir dir;
  const std::string db = dir.sub("db");
  write_keys(db, 3);
  fs::remove(fs::path(db) / log::kHeadAnchorFile);
  {
    auto s = Storage::open({.path = db});
    ASSERT_TRUE(s.ok()) << s.status().to_string();
  }
  auto a = log::read_head_anchor(db);
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ((*a)->seq, 4u);
}

}  // namespace
}  // namespace omni
