// A fault-injecting RocksDB FileSystem for tests (header only).
//
//   auto fs = omni::testing::make_fault_fs();
//   rocksdb::Options o;
//   o.env = fs->env();                                   // every file goes through fs
//   ...
//   fs->fail_writes(rocksdb::IOStatus::NoSpace("injected"));   // the disk is full
//   ...
//   fs->heal();                                                // space again
//
// While failing, the write-side operations of the selected classes (all by default)
// return the injected status:
//   kCreate  creating, reopening or reusing a writable file;
//   kWrite   Append, PositionedAppend and Flush of writable files;
//   kSync    Sync, Fsync and RangeSync of writable files, directory fsyncs;
//   kRename  file renames and hard links.
// Files opened before fail_writes() fail too. Reads, deletes, truncation, directory
// creation and Close keep working, as on a real full disk. A real ENOSPC usually
// lets file creation and renames through and fails the data writes:
// fail_writes(s, FaultFs::kWrite | FaultFs::kSync) models that more closely.
//
// The info LOG goes through the wrapper too (see NewLogger), so it fails the way it
// would on a full disk.
//
// The FaultFs must outlive every DB opened with env(). Thread-safe.
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/io_status.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace omni::testing {

namespace fault_fs_detail {

// The switch, shared by the FileSystem and every file it handed out (a file may
// outlive the FaultFs for a moment while RocksDB tears down).
struct State {
  std::atomic<unsigned> failing{0};  // the operation classes that fail; 0 = none
  std::atomic<std::uint64_t> injected{0};
  mutable std::mutex mu;
  rocksdb::IOStatus status;   // guarded by mu
  std::string last_injected;  // guarded by mu

  // OK, or the injected error (counted) when operations of class `op` fail.
  rocksdb::IOStatus check(unsigned op, const char* what, const std::string& name) {
    if ((failing.load(std::memory_order_acquire) & op) == 0) return rocksdb::IOStatus::OK();
    std::lock_guard l(mu);
    if ((failing.load(std::memory_order_relaxed) & op) == 0) return rocksdb::IOStatus::OK();
    injected.fetch_add(1, std::memory_order_relaxed);
    last_injected = std::string(what) + " " + name;
    return status;
  }
};

// Operation classes (FaultFs::kCreate etc. are the public names).
inline constexpr unsigned kCreate = 1, kWrite = 2, kSync = 4, kRename = 8;

class WritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  WritableFile(std::unique_ptr<rocksdb::FSWritableFile>&& f, std::string name,
               std::shared_ptr<State> state)
      : FSWritableFileOwnerWrapper(std::move(f)),
        name_(std::move(name)),
        state_(std::move(state)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    if (auto s = state_->check(kWrite, "Append", name_); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Append(data, o, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (auto s = state_->check(kWrite, "Append", name_); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Append(data, o, info, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, std::uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     rocksdb::IODebugContext* dbg) override {
    if (auto s = state_->check(kWrite, "PositionedAppend", name_); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, o, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, std::uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     const rocksdb::DataVerificationInfo& info,
                                     rocksdb::IODebugContext* dbg) override {
    if (auto s = state_->check(kWrite, "PositionedAppend", name_); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, o, info, dbg);
  }
  rocksdb::IOStatus Flush(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (auto s = state_->check(kWrite, "Flush", name_); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Flush(o, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (auto s = state_->check(kSync, "Sync", name_); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Sync(o, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (auto s = state_->check(kSync, "Fsync", name_); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Fsync(o, dbg);
  }
  rocksdb::IOStatus RangeSync(std::uint64_t offset, std::uint64_t nbytes,
                              const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (auto s = state_->check(kSync, "RangeSync", name_); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::RangeSync(offset, nbytes, o, dbg);
  }

 private:
  std::string name_;
  std::shared_ptr<State> state_;
};

class Directory : public rocksdb::FSDirectoryWrapper {
 public:
  Directory(std::unique_ptr<rocksdb::FSDirectory>&& d, std::string name,
            std::shared_ptr<State> state)
      : FSDirectoryWrapper(std::move(d)), name_(std::move(name)), state_(std::move(state)) {}

  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (auto s = state_->check(kSync, "Fsync directory", name_); !s.ok()) return s;
    return FSDirectoryWrapper::Fsync(o, dbg);
  }
  rocksdb::IOStatus FsyncWithDirOptions(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg,
                                        const rocksdb::DirFsyncOptions& dir_opts) override {
    if (auto s = state_->check(kSync, "Fsync directory", name_); !s.ok()) return s;
    return FSDirectoryWrapper::FsyncWithDirOptions(o, dbg, dir_opts);
  }

 private:
  std::string name_;
  std::shared_ptr<State> state_;
};

}  // namespace fault_fs_detail

class FaultFs : public rocksdb::FileSystemWrapper {
 public:
  static constexpr unsigned kCreate = fault_fs_detail::kCreate;
  static constexpr unsigned kWrite = fault_fs_detail::kWrite;
  static constexpr unsigned kSync = fault_fs_detail::kSync;
  static constexpr unsigned kRename = fault_fs_detail::kRename;
  static constexpr unsigned kAll = kCreate | kWrite | kSync | kRename;

  FaultFs()
      : FileSystemWrapper(rocksdb::FileSystem::Default()),
        state_(std::make_shared<fault_fs_detail::State>()) {
    // This object owns the Env, so the Env must not own it: a non-owning shared_ptr.
    env_ = rocksdb::NewCompositeEnv(
        std::shared_ptr<rocksdb::FileSystem>(std::shared_ptr<void>(), this));
  }
  FaultFs(const FaultFs&) = delete;
  FaultFs& operator=(const FaultFs&) = delete;

  static const char* kClassName() { return "OmniFaultFs"; }
  const char* Name() const override { return kClassName(); }

  // From now on the write-side operations of the classes in `ops` fail with `s`
  // (which must not be OK); the others succeed.
  void fail_writes(rocksdb::IOStatus s, unsigned ops = kAll) {
    std::lock_guard l(state_->mu);
    state_->status = std::move(s);
    state_->failing.store(ops, std::memory_order_release);
  }
  // Only the operations that make data durable fail: a failed sync leaves its data
  // in the file, where a reopen may find it.
  void fail_syncs(rocksdb::IOStatus s) { fail_writes(std::move(s), kSync); }
  // Writes succeed again.
  void heal() {
    std::lock_guard l(state_->mu);
    state_->failing.store(0, std::memory_order_release);
  }
  bool failing() const { return state_->failing.load(std::memory_order_acquire) != 0; }
  // How many operations were failed so far.
  std::uint64_t injected() const { return state_->injected.load(std::memory_order_relaxed); }
  // The last failed operation and its file, e.g. "Append /tmp/db/000004.log".
  std::string last_injected() const {
    std::lock_guard l(state_->mu);
    return state_->last_injected;
  }
  // A composite Env over this FileSystem (default threads and clock), owned by this
  // object.
  rocksdb::Env* env() { return env_.get(); }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    if (auto s = state_->check(kCreate, "NewWritableFile", f); !s.ok()) return s;
    return wrap(target()->NewWritableFile(f, o, r, dbg), f, r);
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override {
    if (auto s = state_->check(kCreate, "ReopenWritableFile", f); !s.ok()) return s;
    return wrap(target()->ReopenWritableFile(f, o, r, dbg), f, r);
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override {
    if (auto s = state_->check(kCreate, "ReuseWritableFile", f); !s.ok()) return s;
    return wrap(target()->ReuseWritableFile(f, old, o, r, dbg), f, r);
  }
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& o,
                                 std::unique_ptr<rocksdb::FSDirectory>* r,
                                 rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewDirectory(name, o, r, dbg);
    if (s.ok() && *r) r->reset(new fault_fs_detail::Directory(std::move(*r), name, state_));
    return s;
  }
  rocksdb::IOStatus RenameFile(const std::string& from, const std::string& to,
                               const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (auto s = state_->check(kRename, "RenameFile", from); !s.ok()) return s;
    return target()->RenameFile(from, to, o, dbg);
  }
  rocksdb::IOStatus LinkFile(const std::string& from, const std::string& to,
                             const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (auto s = state_->check(kRename, "LinkFile", from); !s.ok()) return s;
    return target()->LinkFile(from, to, o, dbg);
  }
  // FileSystemWrapper would forward to the default FileSystem, whose logger writes
  // its file there, around this wrapper. The base implementation (an EnvLogger over
  // this->NewWritableFile, i.e. over a wrapped file) keeps the info LOG under fault
  // injection, like a real full disk.
  rocksdb::IOStatus NewLogger(const std::string& fname, const rocksdb::IOOptions& o,
                              std::shared_ptr<rocksdb::Logger>* r,
                              rocksdb::IODebugContext* dbg) override {
    return rocksdb::FileSystem::NewLogger(fname, o, r, dbg);
  }

 private:
  rocksdb::IOStatus wrap(rocksdb::IOStatus s, const std::string& name,
                         std::unique_ptr<rocksdb::FSWritableFile>* r) {
    if (s.ok() && *r) r->reset(new fault_fs_detail::WritableFile(std::move(*r), name, state_));
    return s;
  }

  std::shared_ptr<fault_fs_detail::State> state_;
  std::unique_ptr<rocksdb::Env> env_;
};

inline std::shared_ptr<FaultFs> make_fault_fs() { return std::make_shared<FaultFs>(); }

}  // namespace omni::testing
