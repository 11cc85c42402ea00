// FaultFs itself, and what RocksDB 7.8.3 (Debian 12's build, which keeps its
// assertions) does when writes fail. The RocksDB tests pin down behaviour the engine
// relies on; if one fails after a RocksDB upgrade, re-check the engine's handling of
// write errors.
//
// In short (see each test):
//   - A failed write (WAL Append, or WAL Sync for sync writes) returns an IOError and
//     leaves a background error: every later write fails at once, without touching
//     the disk, until the error is cleared. Reads keep working.
//   - For NoSpace, RocksDB starts an automatic recovery at once. If the disk is still
//     full then (the usual case), the recovery's memtable switch fails and the error
//     becomes fatal (BackgroundErrorReason::kMemTable): Resume() then fails forever
//     and only a reopen helps. The same happens to a manual Resume() while the disk
//     is still full.
//   - With automatic recovery vetoed (EventListener::OnErrorRecoveryBegin), Resume()
//     after space returned clears the error.
//   - A non-NoSpace IOError is fatal from the start: Resume() fails, reopen needed.
//   - A sync write whose Sync failed is not applied to the memtable, but its record is
//     in the WAL: a reopen can bring the "failed" write back.
//   - The default info LOG aborts the process (assert `sync_without_flush_called_`)
//     once one of its writes failed; a custom DBOptions::info_log avoids it, and
//     DB::Open then fails cleanly with the IOError.
#include "fault_fs.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/listener.h>

#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace omni::testing {
namespace {

using rocksdb::IOStatus;
using rocksdb::Status;

// Writes nowhere; RocksDB's own LOG (an EnvLogger) would abort on a full disk.
class NullLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

// Records background errors; optionally vetoes RocksDB's automatic recovery.
class ErrorListener : public rocksdb::EventListener {
 public:
  explicit ErrorListener(bool veto_auto_recovery) : veto_(veto_auto_recovery) {}

  void OnBackgroundError(rocksdb::BackgroundErrorReason reason, Status* e) override {
    std::lock_guard l(mu_);
    errors_.push_back({reason, e->severity()});
    cv_.notify_all();
  }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, Status, bool* auto_recovery) override {
    if (veto_) *auto_recovery = false;
    if (on_recovery_begin) on_recovery_begin();
  }

  // Waits until a background error of at least `sev` was reported.
  bool wait_for_severity(Status::Severity sev, std::chrono::seconds timeout) {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, timeout, [&] {
      for (const auto& e : errors_) {
        if (e.severity >= sev) return true;
      }
      return false;
    });
  }
  struct Error {
    rocksdb::BackgroundErrorReason reason;
    Status::Severity severity;
  };
  std::vector<Error> errors() {
    std::lock_guard l(mu_);
    return errors_;
  }

  std::function<void()> on_recovery_begin;  // set before the DB opens

 private:
  const bool veto_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Error> errors_;
};

struct Db {
  std::unique_ptr<rocksdb::DB> db;
  Status put(const std::string& k, const std::string& v, bool sync) {
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    return db->Put(wo, k, v);
  }
  Status get(const std::string& k, std::string* v = nullptr) {
    std::string ignored;
    return db->Get(rocksdb::ReadOptions(), k, v ? v : &ignored);
  }
};

rocksdb::Options options_for(FaultFs& fs,
                             std::shared_ptr<rocksdb::EventListener> listener = nullptr) {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.env = fs.env();
  o.info_log = std::make_shared<NullLogger>();
  if (listener) o.listeners.push_back(std::move(listener));
  return o;
}

Db open_db(const rocksdb::Options& o, const std::string& path) {
  rocksdb::DB* raw = nullptr;
  Status s = rocksdb::DB::Open(o, path, &raw);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return Db{std::unique_ptr<rocksdb::DB>(raw)};
}

// --- FaultFs itself ---------------------------------------------------------------

TEST(FaultFsTest, FailsWriteSideOperationsOfNewAndOpenFiles) {
  TempDir dir;
  auto fs = make_fault_fs();
  const rocksdb::FileOptions fo;
  const rocksdb::IOOptions io;
  std::unique_ptr<rocksdb::FSWritableFile> f;
  ASSERT_TRUE(fs->NewWritableFile(dir.sub("a"), fo, &f, nullptr).ok());
  ASSERT_TRUE(f->Append("hello", io, nullptr).ok());
  ASSERT_TRUE(f->Sync(io, nullptr).ok());
  EXPECT_EQ(fs->injected(), 0u);

  fs->fail_writes(IOStatus::NoSpace("injected"));
  EXPECT_TRUE(fs->failing());
  IOStatus s = f->Append("more", io, nullptr);  // a file opened before fail_writes()
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_EQ(fs->last_injected(), "Append " + dir.sub("a"));
  EXPECT_TRUE(f->Flush(io, nullptr).IsNoSpace());
  EXPECT_TRUE(f->Sync(io, nullptr).IsNoSpace());
  EXPECT_TRUE(f->Fsync(io, nullptr).IsNoSpace());
  EXPECT_TRUE(f->RangeSync(0, 5, io, nullptr).IsNoSpace());
  std::unique_ptr<rocksdb::FSWritableFile> g;
  EXPECT_TRUE(fs->NewWritableFile(dir.sub("b"), fo, &g, nullptr).IsNoSpace());
  EXPECT_TRUE(fs->RenameFile(dir.sub("a"), dir.sub("c"), io, nullptr).IsNoSpace());
  std::unique_ptr<rocksdb::FSDirectory> d;
  ASSERT_TRUE(fs->NewDirectory(dir.path(), io, &d, nullptr).ok());
  EXPECT_TRUE(d->Fsync(io, nullptr).IsNoSpace());
  EXPECT_EQ(fs->injected(), 8u);
  // Reads and Close keep working.
  std::string content;
  EXPECT_TRUE(rocksdb::ReadFileToString(fs.get(), dir.sub("a"), &content).ok());
  EXPECT_EQ(content, "hello");
  EXPECT_TRUE(f->Close(io, nullptr).ok());

  fs->heal();
  EXPECT_FALSE(fs->failing());
  ASSERT_TRUE(fs->NewWritableFile(dir.sub("b"), fo, &g, nullptr).ok());
  EXPECT_TRUE(g->Append("again", io, nullptr).ok());
  EXPECT_TRUE(g->Sync(io, nullptr).ok());
  EXPECT_TRUE(d->Fsync(io, nullptr).ok());
  EXPECT_EQ(fs->injected(), 8u);
}

TEST(FaultFsTest, FailSyncsLetsDataWritesThrough) {
  TempDir dir;
  auto fs = make_fault_fs();
  const rocksdb::IOOptions io;
  std::unique_ptr<rocksdb::FSWritableFile> f;
  fs->fail_syncs(IOStatus::IOError("injected"));
  ASSERT_TRUE(fs->NewWritableFile(dir.sub("a"), rocksdb::FileOptions(), &f, nullptr).ok());
  EXPECT_TRUE(f->Append("data", io, nullptr).ok());
  EXPECT_TRUE(f->Flush(io, nullptr).ok());
  EXPECT_TRUE(f->Sync(io, nullptr).IsIOError());
  EXPECT_EQ(fs->injected(), 1u);
  EXPECT_EQ(fs->last_injected(), "Sync " + dir.sub("a"));
}

// --- RocksDB 7.8.3 on a failing disk ------------------------------------------------

// The brief's scenario, with RocksDB's automatic recovery vetoed (what the engine
// would do to control recovery itself).
TEST(FaultFsRocksDbTest, FailedWriteIsStickyUntilResume) {
  TempDir dir;
  auto fs = make_fault_fs();
  auto listener = std::make_shared<ErrorListener>(/*veto_auto_recovery=*/true);
  const rocksdb::Options o = options_for(*fs, listener);
  {
    Db d = open_db(o, dir.path());
    ASSERT_TRUE(d.put("k1", "v1", true).ok());

    fs->fail_writes(IOStatus::NoSpace("injected"));
    Status s = d.put("k2", "v2", true);
    EXPECT_TRUE(s.IsIOError() && s.IsNoSpace()) << s.ToString();
    // The WAL append failed (each write is flushed to the OS before any sync).
    EXPECT_NE(fs->last_injected().find("Append"), std::string::npos) << fs->last_injected();
    EXPECT_NE(fs->last_injected().find(".log"), std::string::npos) << fs->last_injected();
    const std::uint64_t injected = fs->injected();
    EXPECT_EQ(injected, 1u);
    ASSERT_EQ(listener->errors().size(), 1u);
    EXPECT_EQ(listener->errors()[0].reason, rocksdb::BackgroundErrorReason::kWriteCallback);
    EXPECT_EQ(listener->errors()[0].severity, Status::Severity::kHardError);

    // Sticky: the next write fails without touching the disk.
    s = d.put("k3", "v3", false);
    EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
    EXPECT_EQ(fs->injected(), injected);
    EXPECT_TRUE(d.get("k1").ok());
    EXPECT_TRUE(d.get("k2").IsNotFound());  // not applied to the memtable

    fs->heal();
    // Still sticky after the disk healed: RocksDB does not retry on its own here.
    s = d.put("k4", "v4", false);
    EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
    EXPECT_TRUE(d.get("k1").ok());

    s = d.db->Resume();
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_TRUE(d.put("k5", "v5", true).ok());
    EXPECT_TRUE(d.get("k1").ok());
    EXPECT_TRUE(d.get("k5").ok());
    EXPECT_TRUE(d.db->Close().ok());
  }
  Db d = open_db(o, dir.path());
  EXPECT_TRUE(d.get("k1").ok());
  EXPECT_TRUE(d.get("k2").IsNotFound());
  EXPECT_TRUE(d.get("k3").IsNotFound());
  EXPECT_TRUE(d.get("k4").IsNotFound());
  EXPECT_TRUE(d.get("k5").ok());
}

TEST(FaultFsRocksDbTest, NonSyncWriteFailsAtTheWalAppend) {
  TempDir dir;
  auto fs = make_fault_fs();
  Db d = open_db(options_for(*fs, std::make_shared<ErrorListener>(true)), dir.path());
  ASSERT_TRUE(d.put("k1", "v1", false).ok());
  fs->fail_writes(IOStatus::NoSpace("injected"));
  Status s = d.put("k2", "v2", false);
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_EQ(fs->injected(), 1u);
  EXPECT_NE(fs->last_injected().find("Append"), std::string::npos) << fs->last_injected();
  EXPECT_NE(fs->last_injected().find(".log"), std::string::npos) << fs->last_injected();
  fs->heal();
  EXPECT_TRUE(d.db->Resume().ok());
  EXPECT_TRUE(d.put("k3", "v3", false).ok());
}

// A Resume() while the disk is still full does not just fail: its memtable switch
// (a new WAL) fails and turns the error fatal; no later Resume() helps.
TEST(FaultFsRocksDbTest, ResumeOnAStillFullDiskMakesTheErrorFatal) {
  TempDir dir;
  auto fs = make_fault_fs();
  auto listener = std::make_shared<ErrorListener>(/*veto_auto_recovery=*/true);
  const rocksdb::Options o = options_for(*fs, listener);
  {
    Db d = open_db(o, dir.path());
    ASSERT_TRUE(d.put("k1", "v1", true).ok());
    fs->fail_writes(IOStatus::NoSpace("injected"));
    EXPECT_FALSE(d.put("k2", "v2", true).ok());
    EXPECT_FALSE(d.db->Resume().ok());
    auto errors = listener->errors();
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[1].reason, rocksdb::BackgroundErrorReason::kMemTable);
    EXPECT_EQ(errors[1].severity, Status::Severity::kFatalError);

    fs->heal();
    Status s = d.db->Resume();
    EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
    EXPECT_FALSE(d.put("k3", "v3", true).ok());
    EXPECT_TRUE(d.get("k1").ok());
    d.db->Close().PermitUncheckedError();  // "Seen error. Skip writing buffer."
  }
  // A reopen recovers.
  Db d = open_db(o, dir.path());
  EXPECT_TRUE(d.get("k1").ok());
  EXPECT_TRUE(d.put("k4", "v4", true).ok());
}

// Left alone, RocksDB starts recovering from NoSpace at once (SstFileManager). On a
// disk that is still full that attempt fails and the error turns fatal, as above:
// freeing space later does not bring the DB back.
TEST(FaultFsRocksDbTest, AutoRecoveryOnAStillFullDiskMakesTheErrorFatal) {
  TempDir dir;
  auto fs = make_fault_fs();
  auto listener = std::make_shared<ErrorListener>(/*veto_auto_recovery=*/false);
  Db d = open_db(options_for(*fs, listener), dir.path());
  ASSERT_TRUE(d.put("k1", "v1", true).ok());
  fs->fail_writes(IOStatus::NoSpace("injected"));
  EXPECT_TRUE(d.put("k2", "v2", true).IsNoSpace());
  ASSERT_TRUE(listener->wait_for_severity(Status::Severity::kFatalError, std::chrono::seconds(10)))
      << "the automatic recovery did not fail";
  EXPECT_EQ(listener->errors().back().reason, rocksdb::BackgroundErrorReason::kMemTable);
  fs->heal();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(d.db->Resume().ok());
  EXPECT_FALSE(d.put("k3", "v3", false).ok());
  EXPECT_TRUE(d.get("k1").ok());
  d.db->Close().PermitUncheckedError();
}

// When space is back before the automatic recovery runs, it succeeds by itself.
TEST(FaultFsRocksDbTest, AutoRecoverySucceedsWhenSpaceReturnsFirst) {
  TempDir dir;
  auto fs = make_fault_fs();
  auto listener = std::make_shared<ErrorListener>(/*veto_auto_recovery=*/false);
  listener->on_recovery_begin = [fs] { fs->heal(); };  // runs before the attempt
  Db d = open_db(options_for(*fs, listener), dir.path());
  ASSERT_TRUE(d.put("k1", "v1", true).ok());
  fs->fail_writes(IOStatus::NoSpace("injected"));
  EXPECT_TRUE(d.put("k2", "v2", true).IsNoSpace());
  bool recovered = false;
  for (int i = 0; i < 500 && !recovered; ++i) {
    recovered = d.put("k3", "v3", true).ok();
    if (!recovered) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(recovered);
  EXPECT_TRUE(d.get("k1").ok());
}

// Only NoSpace is recoverable: any other IOError on the write path is fatal at once.
TEST(FaultFsRocksDbTest, OtherIOErrorsAreFatal) {
  TempDir dir;
  auto fs = make_fault_fs();
  auto listener = std::make_shared<ErrorListener>(/*veto_auto_recovery=*/false);
  const rocksdb::Options o = options_for(*fs, listener);
  {
    Db d = open_db(o, dir.path());
    ASSERT_TRUE(d.put("k1", "v1", true).ok());
    fs->fail_writes(IOStatus::IOError("injected"));
    Status s = d.put("k2", "v2", true);
    EXPECT_TRUE(s.IsIOError() && !s.IsNoSpace()) << s.ToString();
    ASSERT_FALSE(listener->errors().empty());
    EXPECT_EQ(listener->errors()[0].severity, Status::Severity::kFatalError);
    fs->heal();
    EXPECT_FALSE(d.db->Resume().ok());
    EXPECT_FALSE(d.put("k3", "v3", true).ok());
    EXPECT_TRUE(d.get("k1").ok());
    d.db->Close().PermitUncheckedError();
  }
  Db d = open_db(o, dir.path());
  EXPECT_TRUE(d.get("k1").ok());
  EXPECT_TRUE(d.get("k2").IsNotFound());
}

// A sync write whose fsync failed is reported failed and is not readable, but its
// record reached the WAL file: after a reopen it is there. (Why LevelDB makes a
// failed write sticky: the caller cannot know whether it happened.)
TEST(FaultFsRocksDbTest, WriteWithFailedSyncCanReappearAfterReopen) {
  TempDir dir;
  auto fs = make_fault_fs();
  const rocksdb::Options o = options_for(*fs, std::make_shared<ErrorListener>(true));
  {
    Db d = open_db(o, dir.path());
    ASSERT_TRUE(d.put("k1", "v1", true).ok());
    fs->fail_syncs(IOStatus::IOError("injected"));
    EXPECT_FALSE(d.put("k2", "v2", true).ok());
    EXPECT_EQ(fs->injected(), 1u);
    EXPECT_NE(fs->last_injected().find(".log"), std::string::npos) << fs->last_injected();
    EXPECT_TRUE(d.get("k2").IsNotFound());
    fs->heal();
    d.db->Close().PermitUncheckedError();
  }
  Db d = open_db(o, dir.path());
  std::string v;
  EXPECT_TRUE(d.get("k2", &v).ok());
  EXPECT_EQ(v, "v2");
}

// DB::Open of an existing store on a failing disk returns the error when the info
// LOG is a custom logger, whether or not file creation and renames still work.
TEST(FaultFsRocksDbTest, OpenOnAFailingDiskFailsCleanlyWithACustomInfoLog) {
  for (unsigned ops : {FaultFs::kAll, FaultFs::kWrite | FaultFs::kSync, FaultFs::kSync}) {
    SCOPED_TRACE("ops " + std::to_string(ops));
    TempDir dir;
    auto fs = make_fault_fs();
    const rocksdb::Options o = options_for(*fs);
    {
      Db d = open_db(o, dir.path());
      ASSERT_TRUE(d.put("k1", "v1", true).ok());
    }
    fs->fail_writes(IOStatus::NoSpace("injected"), ops);
    rocksdb::DB* raw = nullptr;
    Status s = rocksdb::DB::Open(o, dir.path(), &raw);
    EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
    EXPECT_EQ(raw, nullptr);
    delete raw;
    fs->heal();
    Db d = open_db(o, dir.path());
    EXPECT_TRUE(d.get("k1").ok());
  }
}

// The default info LOG (an EnvLogger over a WritableFileWriter) on a disk where
// files can still be created but not written (a real ENOSPC): once one of its
// flushes failed, its next write trips an assertion in WritableFileWriter (Debian
// builds RocksDB with assertions) and the process aborts. DB::Open aborts in the
// DBImpl constructor (logging the build version); an open DB aborts on the first
// failed write, while the error handler logs it. This is the abort seen on a real
// full disk; a custom DBOptions::info_log avoids it (see the tests above).
TEST(FaultFsRocksDbDeathTest, DefaultInfoLogAbortsOnAFullDisk) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // A death-test child re-runs this test from the top: it reuses the parent's store
  // (passed in the environment), so nothing is left behind.
  static constexpr const char* kDirVar = "OMNI_FAULT_FS_DEATH_DIR";
  const char* inherited = std::getenv(kDirVar);
  std::unique_ptr<TempDir> dir;
  std::string path;
  if (inherited != nullptr) {
    path = inherited;
  } else {
    dir = std::make_unique<TempDir>();
    path = dir->path();
    rocksdb::Options o;
    o.create_if_missing = true;
    o.info_log = std::make_shared<NullLogger>();
    Db d = open_db(o, path);
    ASSERT_TRUE(d.put("k1", "v1", true).ok());
    ::setenv(kDirVar, path.c_str(), 1);
  }
  const unsigned full_disk = FaultFs::kWrite | FaultFs::kSync;
  // info_log is left to RocksDB: an EnvLogger over fs.
  EXPECT_DEATH(
      {
        auto fs = make_fault_fs();
        rocksdb::Options o;
        o.env = fs->env();
        fs->fail_writes(IOStatus::NoSpace("injected"), full_disk);
        rocksdb::DB* raw = nullptr;
        rocksdb::DB::Open(o, path, &raw).PermitUncheckedError();
        delete raw;
      },
      "sync_without_flush_called_");
  EXPECT_DEATH(
      {
        auto fs = make_fault_fs();
        rocksdb::Options o;
        o.env = fs->env();
        rocksdb::DB* raw = nullptr;
        if (rocksdb::DB::Open(o, path, &raw).ok()) {
          fs->fail_writes(IOStatus::NoSpace("injected"), full_disk);
          rocksdb::WriteOptions wo;
          wo.sync = true;
          raw->Put(wo, "k2", "v2").PermitUncheckedError();
        }
        delete raw;
      },
      "sync_without_flush_called_");
  if (inherited == nullptr) ::unsetenv(kDirVar);
}

}  // namespace
}  // namespace omni::testing
