#include "omni/log/wal_probe.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "omni/log/event_log.h"
#include "omni/projections/projection_set.h"
#include "test_util.h"

namespace omni::log {
namespace {

namespace fs = std::filesystem;
using omni::testing::flip_byte;
using omni::testing::newest_wal;
using omni::testing::TempDir;
using omni::testing::truncate_newest_wal;

// Appends `n` one-event groups through the projections, as the engine does, then
// closes the log without flushing: the events are all in the WAL.
void write_events(const std::string& path, int n, bool sync = false) {
  EventLogOptions o;
  o.path = path;
  o.extra_column_families = projections::column_families();
  auto log = EventLog::open(o);
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  projections::ProjectionSet proj(**log);
  (*log)->set_projector(&proj);
  for (int i = 1; i <= n; ++i) {
    AppendRequest req;
    req.identity = "tester";
    req.sync = sync;
    req.events.push_back({EventType::DataStored, "k" + std::to_string(i), R"({"i":1})"});
    Status s = (*log)->append(&req);
    ASSERT_TRUE(s.ok()) << s.to_string();
  }
}

// Flips one bit of the byte at `offset` of the newest WAL in `dir` (the store must
// be closed) and returns that file.
fs::path flip_wal_byte(const std::string& dir, std::uintmax_t offset) {
  const fs::path wal = newest_wal(dir);
  EXPECT_FALSE(wal.empty()) << "no WAL file in " << dir;
  if (!wal.empty()) flip_byte(wal, offset);
  return wal;
}

std::vector<std::string> store_cfs() {
  std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName, "events"};
  for (const auto& n : projections::column_families()) names.push_back(n);
  return names;
}

Result<WalProbe> probe(const std::string& path, rocksdb::Env* env = nullptr) {
  return probe_wal(path, store_cfs(), env);
}

// Every file of `dir` with its bytes.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> m;
  for (const auto& f : fs::directory_iterator(dir)) {
    std::ifstream in(f.path(), std::ios::binary);
    m[f.path().filename().string()] = std::string(std::istreambuf_iterator<char>(in), {});
  }
  return m;
}

// What EventLog::open does to the store: a read-write point-in-time open. Returns
// the newest event seq it kept.
Seq open_read_write_pit(const std::string& path) {
  std::vector<std::string> names;
  EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  rocksdb::DBOptions dbo;
  dbo.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(dbo, path, cfs, &handles, &db);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return 0;
  Seq head = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] != "events") continue;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[i]));
    it->SeekToLast();
    if (it->Valid()) head = EventLog::decode_seq_key(it->key().ToStringView());
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
  return head;
}

// A FileSystem that refuses, and counts, every operation that could change a file
// or directory.
class NoWritesFs : public rocksdb::FileSystemWrapper {
 public:
  NoWritesFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {
    env_ = rocksdb::NewCompositeEnv(
        std::shared_ptr<rocksdb::FileSystem>(std::shared_ptr<void>(), this));
  }
  static const char* kClassName() { return "OmniNoWritesFs"; }
  const char* Name() const override { return kClassName(); }
  rocksdb::Env* env() { return env_.get(); }
  int refused() const { return refused_.load(); }

  rocksdb::IOStatus NewWritableFile(const std::string&, const rocksdb::FileOptions&,
                                    std::unique_ptr<rocksdb::FSWritableFile>*,
                                    rocksdb::IODebugContext*) override {
    return refuse();
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string&, const rocksdb::FileOptions&,
                                       std::unique_ptr<rocksdb::FSWritableFile>*,
                                       rocksdb::IODebugContext*) override {
    return refuse();
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string&, const std::string&,
                                      const rocksdb::FileOptions&,
                                      std::unique_ptr<rocksdb::FSWritableFile>*,
                                      rocksdb::IODebugContext*) override {
    return refuse();
  }
  rocksdb::IOStatus NewRandomRWFile(const std::string&, const rocksdb::FileOptions&,
                                    std::unique_ptr<rocksdb::FSRandomRWFile>*,
                                    rocksdb::IODebugContext*) override {
    return refuse();
  }
  rocksdb::IOStatus DeleteFile(const std::string&, const rocksdb::IOOptions&,
                               rocksdb::IODebugContext*) override {
    return refuse();
  }
  rocksdb::IOStatus Truncate(const std::string&, size_t, const rocksdb::IOOptions&,
                             rocksdb::IODebugContext*) override {
    return refuse();
  }
  rocksdb::IOStatus CreateDir(const std::string&, const rocksdb::IOOptions&,
                              rocksdb::IODebugContext*) override {
    return refuse();
  }
  rocksdb::IOStatus CreateDirIfMissing(const std::string&, const rocksdb::IOOptions&,
                                       rocksdb::IODebugContext*) override {
    return refuse();
  }
  rocksdb::IOStatus DeleteDir(const std::string&, const rocksdb::IOOptions&,
                              rocksdb::IODebugContext*) override {
    return refuse();
  }
  rocksdb::IOStatus RenameFile(const std::string&, const std::string&, const rocksdb::IOOptions&,
                               rocksdb::IODebugContext*) override {
    return refuse();
  }
  rocksdb::IOStatus LinkFile(const std::string&, const std::string&, const rocksdb::IOOptions&,
                             rocksdb::IODebugContext*) override {
    return refuse();
  }
  rocksdb::IOStatus LockFile(const std::string&, const rocksdb::IOOptions&, rocksdb::FileLock**,
                             rocksdb::IODebugContext*) override {
    return refuse();
  }
  rocksdb::IOStatus NewLogger(const std::string&, const rocksdb::IOOptions&,
                              std::shared_ptr<rocksdb::Logger>*,
                              rocksdb::IODebugContext*) override {
    return refuse();
  }

 private:
  rocksdb::IOStatus refuse() {
    ++refused_;
    return rocksdb::IOStatus::IOError("NoWritesFs: the probe tried to change a file");
  }
  std::unique_ptr<rocksdb::Env> env_;
  std::atomic<int> refused_{0};
};

TEST(WalProbeTest, CleanLogIsNotDamaged) {
  TempDir dir;
  write_events(dir.path(), 2000);
  ASSERT_GT(fs::file_size(newest_wal(dir.path())), 100000u) << "the events should be in the WAL";

  auto p = probe(dir.path());
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_FALSE(p->damaged);
  EXPECT_TRUE(p->recoverable);
  EXPECT_EQ(p->recovered_head, 2000u);
  EXPECT_EQ(p->head_beyond_damage, 2000u);
  EXPECT_EQ(p->events_beyond_damage, 0u);
  EXPECT_EQ(p->lost_events(), 0u);
  EXPECT_TRUE(p->wal_file.empty());
  EXPECT_TRUE(p->detail.empty()) << p->detail;
}

TEST(WalProbeTest, HeadCountsFlushedAndWalEvents) {
  TempDir dir;
  write_events(dir.path(), 300);
  ASSERT_EQ(open_read_write_pit(dir.path()), 300u);  // recovery flushes these to SSTs
  write_events(dir.path(), 200);                     // seqs 301..500, in the WAL

  auto p = probe(dir.path());
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_FALSE(p->damaged);
  EXPECT_EQ(p->recovered_head, 500u);
}

TEST(WalProbeTest, TornTailIsNotDamage) {
  TempDir dir;
  write_events(dir.path(), 20, /*sync=*/true);
  truncate_newest_wal(dir.path(), 5);

  auto p = probe(dir.path());
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_FALSE(p->damaged) << p->detail;
  EXPECT_EQ(p->recovered_head, 19u);  // what EventLog's open keeps
  EXPECT_EQ(p->head_beyond_damage, 19u);
}

TEST(WalProbeTest, ZerosOrGarbageAfterTheLastRecordAreNotDamage) {
  for (char fill : {'\0', '\x5a'}) {
    TempDir dir;
    write_events(dir.path(), 50);
    {
      std::ofstream f(newest_wal(dir.path()), std::ios::app | std::ios::binary);
      f << std::string(fill == '\0' ? 4096 : 100, fill);
    }
    auto p = probe(dir.path());
    ASSERT_TRUE(p.ok()) << p.status().to_string();
    EXPECT_FALSE(p->damaged) << int{fill} << ": " << p->detail;
    EXPECT_EQ(p->recovered_head, 50u);
  }
}

// A crash image of a store: `n` one-event sync groups (the last one's document
// `last_doc_bytes` long when set), then a copy of the directory taken while the log
// is still open. The log preallocates its WAL with the file size set (event_log.cc:
// WalSizeFs), so the copy's WAL is its records followed by megabytes of zeros, as a
// WAL a crash leaves behind.
void write_crash_image(const std::string& live, const std::string& image, int n,
                       std::size_t last_doc_bytes = 0) {
  EventLogOptions o;
  o.path = live;
  o.extra_column_families = projections::column_families();
  auto log = EventLog::open(o);
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  projections::ProjectionSet proj(**log);
  (*log)->set_projector(&proj);
  for (int i = 1; i <= n; ++i) {
    AppendRequest req;
    req.identity = "tester";
    req.sync = true;
    std::string doc = R"({"i":1})";
    if (i == n && last_doc_bytes > 0) {
      doc = R"({"s":")" + std::string(last_doc_bytes, 'x') + R"("})";
    }
    req.events.push_back({EventType::DataStored, "k" + std::to_string(i), doc});
    Status s = (*log)->append(&req);
    ASSERT_TRUE(s.ok()) << s.to_string();
  }
  fs::copy(live, image, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  fs::remove(fs::path(image) / "LOCK");
}

void copy_store(const std::string& from, const std::string& to) {
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

// What a raw RocksDB read-write open with kPointInTimeRecovery keeps: the number of
// events and the newest seq.
std::pair<Seq, Seq> events_after_pit_open(const std::string& path) {
  std::pair<Seq, Seq> r{0, 0};
  std::vector<std::string> names;
  EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  rocksdb::DBOptions dbo;
  dbo.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(dbo, path, cfs, &handles, &db);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return r;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] != "events") continue;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[i]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->key().size() != 8) continue;
      ++r.first;
      r.second = EventLog::decode_seq_key(it->key().ToStringView());
    }
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
  return r;
}

// A refuse_damaged_wal open of `path` succeeds, reports no damage and keeps exactly
// seqs 1..head with an intact chain.
void expect_open_keeps(const std::string& path, Seq head) {
  EventLogOptions o;
  o.path = path;
  o.extra_column_families = projections::column_families();
  o.refuse_damaged_wal = true;
  auto log = EventLog::open(o);
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  EXPECT_FALSE((*log)->recovery_report().wal_damaged);
  EXPECT_EQ((*log)->head_seq(), head);
  auto chain = (*log)->verify_chain();
  ASSERT_TRUE(chain.ok()) << chain.status().to_string();
  EXPECT_EQ(chain->events_checked, head);
  EXPECT_EQ(chain->first_bad_seq, 0u) << chain->problem;
}

// A copy of the store taken while it is open is a crash image: the probe must not
// call it damaged, and a normal open must recover exactly the acknowledged events.
TEST(WalProbeTest, PreallocatedWalAfterACrashIsNotDamage) {
  TempDir dir;
  TempDir copy;
  constexpr int kEvents = 300;
  write_crash_image(dir.path(), copy.path(), kEvents);
  const fs::path wal = newest_wal(copy.path());
  ASSERT_FALSE(wal.empty());
  const auto size = fs::file_size(wal);
  ASSERT_GT(size, 1u << 20) << "the live WAL should carry its preallocated size";
  {
    std::ifstream f(wal, std::ios::binary);
    f.seekg(static_cast<std::streamoff>(size - 4096));
    std::string tail(4096, '\1');
    f.read(tail.data(), 4096);
    EXPECT_EQ(tail, std::string(4096, '\0')) << "the WAL's tail should be preallocated zeros";
  }

  auto p = probe(copy.path());
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_FALSE(p->damaged) << p->detail;
  EXPECT_EQ(p->recovered_head, static_cast<Seq>(kEvents));
  EXPECT_EQ(p->head_beyond_damage, static_cast<Seq>(kEvents));
  expect_open_keeps(copy.path(), kEvents);
}

// A torn last write in such an image (its last bytes read as zeros, e.g. after a
// power loss) is a record that fails its checksum with zeros after it, not a record
// cut short by the end of the file. It is a torn tail: the probe does not call it
// damage, RocksDB's point-in-time recovery keeps every event before it and nothing
// after, and a refuse_damaged_wal open succeeds. (A kill -9 does not tear a write of
// up to RocksDB's 1 MiB file buffer; see CrashRecoveryTest.)
TEST(WalProbeTest, TornLastWriteInAPreallocatedWalIsATornTail) {
  TempDir dir;
  TempDir image;
  constexpr int kEvents = 300;
  write_crash_image(dir.path(), image.path(), kEvents);
  for (std::uintmax_t torn_bytes : {1u, 5u, 60u}) {
    SCOPED_TRACE(torn_bytes);
    TempDir torn;
    copy_store(image.path(), torn.path());
    truncate_newest_wal(torn.path(), torn_bytes);  // zeros: the file keeps its size
    ASSERT_GT(fs::file_size(newest_wal(torn.path())), 1u << 20);

    auto t = probe(torn.path());
    ASSERT_TRUE(t.ok()) << t.status().to_string();
    EXPECT_FALSE(t->damaged) << t->detail;
    EXPECT_TRUE(t->detail.empty()) << t->detail;
    EXPECT_EQ(t->recovered_head, static_cast<Seq>(kEvents - 1));
    EXPECT_EQ(t->head_beyond_damage, static_cast<Seq>(kEvents - 1));
    EXPECT_EQ(t->lost_events(), 0u);

    TempDir raw;
    copy_store(torn.path(), raw.path());
    EXPECT_EQ(events_after_pit_open(raw.path()),
              std::make_pair(static_cast<Seq>(kEvents - 1), static_cast<Seq>(kEvents - 1)));

    expect_open_keeps(torn.path(), kEvents - 1);
  }
}

// The same with a last event larger than a 32 KiB WAL block (first, middle and last
// fragments): its whole last fragment and part of the one before read as zeros.
TEST(WalProbeTest, TornFragmentedLastWriteInAPreallocatedWalIsATornTail) {
  TempDir dir;
  TempDir torn;
  constexpr int kEvents = 50;
  write_crash_image(dir.path(), torn.path(), kEvents, /*last_doc_bytes=*/100'000);
  truncate_newest_wal(torn.path(), 40'000);

  auto t = probe(torn.path());
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_FALSE(t->damaged) << t->detail;
  EXPECT_EQ(t->recovered_head, static_cast<Seq>(kEvents - 1));
  EXPECT_EQ(t->head_beyond_damage, static_cast<Seq>(kEvents - 1));

  TempDir raw;
  copy_store(torn.path(), raw.path());
  EXPECT_EQ(events_after_pit_open(raw.path()),
            std::make_pair(static_cast<Seq>(kEvents - 1), static_cast<Seq>(kEvents - 1)));
  expect_open_keeps(torn.path(), kEvents - 1);
}

// Real damage in a preallocated WAL is still damage: a flipped byte in its middle,
// with intact records after it and zeros after those.
TEST(WalProbeTest, ByteFlipMidPreallocatedWalIsStillDamage) {
  TempDir dir;
  TempDir image;
  constexpr int kEvents = 2000;
  write_crash_image(dir.path(), image.path(), kEvents);
  const fs::path wal = newest_wal(image.path());
  const auto size = fs::file_size(wal);
  const auto data = omni::testing::data_size(wal);
  ASSERT_GT(size - data, 1u << 20) << "the WAL should end in its preallocated zeros";
  flip_byte(wal, data / 2);

  auto p = probe(image.path());
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_TRUE(p->damaged);
  EXPECT_TRUE(p->recoverable);
  EXPECT_GT(p->recovered_head, 500u);
  EXPECT_LT(p->recovered_head, 1500u);
  EXPECT_EQ(p->head_beyond_damage, static_cast<Seq>(kEvents));
  EXPECT_GT(p->events_beyond_damage, 300u);
  EXPECT_EQ(p->wal_file, wal.string());
  EXPECT_EQ(p->wal_bytes, size);
  EXPECT_NE(p->detail.find("checksum mismatch"), std::string::npos) << p->detail;

  EventLogOptions o;
  o.path = image.path();
  o.extra_column_families = projections::column_families();
  o.refuse_damaged_wal = true;
  auto log = EventLog::open(o);
  EXPECT_FALSE(log.ok()) << "a store with damage inside its WAL should be refused";
}

// A flipped byte a few records before the end of a preallocated WAL. When the
// records after it share its 32 KiB block, RocksDB's reader drops them with it, so
// nothing after the bad record is readable; but they are non-zero bytes, so this is
// damage, not a torn tail.
TEST(WalProbeTest, ByteFlipNearTheEndOfAPreallocatedWalIsStillDamage) {
  TempDir dir;
  TempDir image;
  constexpr int kEvents = 300;
  write_crash_image(dir.path(), image.path(), kEvents);
  const fs::path wal = newest_wal(image.path());
  const auto data = omni::testing::data_size(wal);
  // Several records (about 200 bytes each) before the end.
  const std::uintmax_t at = data - 1500;
  const bool same_block = at / 32768 == (data - 1) / 32768;
  flip_byte(wal, at);

  auto p = probe(image.path());
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_TRUE(p->damaged) << "non-zero bytes after the bad record are not a torn tail";
  EXPECT_TRUE(p->recoverable);
  EXPECT_LT(p->recovered_head, static_cast<Seq>(kEvents - 2));
  EXPECT_GT(p->recovered_head, static_cast<Seq>(kEvents - 30));
  if (same_block) {
    EXPECT_EQ(p->events_beyond_damage, 0u) << "dropped with the bad record's block";
  }
  EXPECT_EQ(p->wal_file, wal.string());
}

TEST(WalProbeTest, ByteFlipMidWalIsDamageWithEventsBeyondIt) {
  TempDir dir;
  write_events(dir.path(), 2000);
  const fs::path wal = newest_wal(dir.path());
  const auto wal_size = fs::file_size(wal);
  flip_wal_byte(dir.path(), wal_size / 2);

  auto p = probe(dir.path());
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_TRUE(p->damaged);
  EXPECT_TRUE(p->recoverable);
  EXPECT_GT(p->recovered_head, 500u);
  EXPECT_LT(p->recovered_head, 1500u);
  EXPECT_EQ(p->head_beyond_damage, 2000u);
  // Skipping the damage loses at most the rest of one 32 KiB WAL block; each of
  // these groups takes about 200 bytes of WAL.
  const Seq span = p->head_beyond_damage - p->recovered_head;
  EXPECT_LE(p->events_beyond_damage, span);
  EXPECT_GE(p->events_beyond_damage + 200, span);
  EXPECT_EQ(p->lost_events(), p->events_beyond_damage);
  EXPECT_EQ(p->wal_file, wal.string());
  EXPECT_EQ(p->wal_bytes, wal_size);
  EXPECT_NE(p->detail.find(wal.filename().string()), std::string::npos) << p->detail;
  EXPECT_NE(p->detail.find("checksum mismatch"), std::string::npos) << p->detail;
  EXPECT_NE(p->detail.find("up to seq " + std::to_string(p->recovered_head)), std::string::npos)
      << p->detail;
  EXPECT_NE(p->detail.find(std::to_string(p->events_beyond_damage) + " intact event(s)"),
            std::string::npos)
      << p->detail;
}

TEST(WalProbeTest, ProbeChangesNothing) {
  TempDir dir;
  write_events(dir.path(), 2000);
  flip_wal_byte(dir.path(), fs::file_size(newest_wal(dir.path())) / 2);
  const auto before = snapshot(dir.path());

  NoWritesFs nowrites;
  auto p = probe(dir.path(), nowrites.env());  // every pass runs: the WAL is damaged
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_TRUE(p->damaged);
  EXPECT_EQ(nowrites.refused(), 0);
  EXPECT_EQ(snapshot(dir.path()), before);

  // The FileSystem does sit under RocksDB: a read-write open is refused.
  {
    rocksdb::Options o;
    o.env = nowrites.env();
    rocksdb::DB* db = nullptr;
    EXPECT_FALSE(rocksdb::DB::Open(o, dir.sub("other"), &db).ok());
    delete db;
    EXPECT_GT(nowrites.refused(), 0);
  }

  auto again = probe(dir.path());  // the default Env, same answer
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->recovered_head, p->recovered_head);
  EXPECT_EQ(again->events_beyond_damage, p->events_beyond_damage);
  EXPECT_EQ(snapshot(dir.path()), before);
}

TEST(WalProbeTest, NormalOpenKeepsWhatTheProbeSaysAndThenTheEvidenceIsGone) {
  TempDir dir;
  write_events(dir.path(), 2000);
  flip_wal_byte(dir.path(), fs::file_size(newest_wal(dir.path())) / 2);
  auto p = probe(dir.path());
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  ASSERT_TRUE(p->damaged);

  EXPECT_EQ(open_read_write_pit(dir.path()), p->recovered_head);
  // The open flushed what it kept and deleted the damaged WAL: a second probe finds
  // a sound store that ends at the recovered head.
  auto after = probe(dir.path());
  ASSERT_TRUE(after.ok()) << after.status().to_string();
  EXPECT_FALSE(after->damaged);
  EXPECT_EQ(after->recovered_head, p->recovered_head);
}

TEST(WalProbeTest, DamagedLastRecordLosesNothingBeyondIt) {
  TempDir dir;
  write_events(dir.path(), 100);
  flip_wal_byte(dir.path(), fs::file_size(newest_wal(dir.path())) - 20);

  auto p = probe(dir.path());
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_TRUE(p->damaged);  // a full-length record with a bad checksum, not a torn one
  EXPECT_EQ(p->recovered_head, 99u);
  EXPECT_EQ(p->head_beyond_damage, 99u);
  EXPECT_EQ(p->events_beyond_damage, 0u);
  EXPECT_NE(p->detail.find("no event after it is readable"), std::string::npos) << p->detail;
}

TEST(WalProbeTest, DamageInTheFirstRecordKeepsNothing) {
  TempDir dir;
  write_events(dir.path(), 1000);
  flip_wal_byte(dir.path(), 10);

  auto p = probe(dir.path());
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_TRUE(p->damaged);
  EXPECT_EQ(p->recovered_head, 0u);
  EXPECT_EQ(p->head_beyond_damage, 1000u);
  EXPECT_GT(p->events_beyond_damage, 800u);  // all but the first 32 KiB block
}

// Two WALs: the "state" column family was flushed while the older one was live,
// then the older one is damaged. Point-in-time recovery refuses such a store
// ("SST file is ahead of WALs"), read-only or not.
TEST(WalProbeTest, DamageBehindAFlushedColumnFamilyIsUnrecoverable) {
  TempDir dir;
  {
    rocksdb::DBOptions dbo;
    dbo.create_if_missing = true;
    dbo.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const char* n : {"default", "events", "state"})
      cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> h;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(dbo, dir.path(), cfs, &h, &db).ok());
    auto put = [&](Seq i) {
      rocksdb::WriteBatch b;
      ASSERT_TRUE(b.Put(h[1], EventLog::seq_key(i), std::string(150, 'e')).ok());
      ASSERT_TRUE(b.Put(h[2], "k" + std::to_string(i), "v").ok());
      ASSERT_TRUE(db->Write(rocksdb::WriteOptions(), &b).ok());
    };
    for (Seq i = 1; i <= 1000; ++i) put(i);
    ASSERT_TRUE(db->Flush(rocksdb::FlushOptions(), h[2]).ok());  // starts a second WAL
    for (Seq i = 1001; i <= 2000; ++i) put(i);
    for (auto* x : h) db->DestroyColumnFamilyHandle(x);
    delete db;
  }
  fs::path oldest;
  int wals = 0;
  for (const auto& f : fs::directory_iterator(dir.path())) {
    if (f.path().extension() != ".log") continue;
    ++wals;
    if (oldest.empty() || f.path() < oldest) oldest = f.path();
  }
  ASSERT_EQ(wals, 2);
  flip_byte(oldest, fs::file_size(oldest) / 2);

  auto p = probe(dir.path());
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_TRUE(p->damaged);
  EXPECT_FALSE(p->recoverable);
  EXPECT_EQ(p->recovered_head, 0u);
  EXPECT_EQ(p->head_beyond_damage, 2000u);
  EXPECT_EQ(p->lost_events(), 0u);
  EXPECT_EQ(p->wal_file, oldest.string());
  EXPECT_NE(p->detail.find("point-in-time recovery refuses the store"), std::string::npos)
      << p->detail;

  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.path(), &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> h;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(), dir.path(), cfs, &h, &db);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();  // so does a normal open
  for (auto* x : h) db->DestroyColumnFamilyHandle(x);
  delete db;
}

TEST(WalProbeTest, MissingStoreIsNotDamaged) {
  TempDir dir;
  for (const std::string& path : {dir.sub("never-created"), dir.path()}) {
    auto p = probe(path);
    ASSERT_TRUE(p.ok()) << path << ": " << p.status().to_string();
    EXPECT_FALSE(p->damaged);
    EXPECT_EQ(p->recovered_head, 0u);
  }
  EXPECT_FALSE(fs::exists(dir.sub("never-created")));
}

TEST(WalProbeTest, DamageOutsideTheWalIsAnError) {
  TempDir dir;
  write_events(dir.path(), 10);
  { std::ofstream(dir.sub("CURRENT"), std::ios::trunc) << "MANIFEST-999999\n"; }

  auto p = probe(dir.path());
  EXPECT_FALSE(p.ok());
}

}  // namespace
}  // namespace omni::log
