// Shared test helpers.
#pragma once

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "omni/log/event_log.h"

namespace omni::testing {

// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("omni-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;  // owns the directory
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string path() const { return path_.string(); }
  std::string sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Opens the store at `path` with RocksDB directly (every column family; the store
// must be closed) and calls fn(db, cf) where cf(name) is that column family's
// handle. For corruption and tampering tests.
inline void with_raw_db(
    const std::string& path,
    const std::function<void(rocksdb::DB*, const std::function<rocksdb::ColumnFamilyHandle*(std::string_view)>&)>& fn) {
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path, cfs, &handles, &db).ok());
  fn(db, [&](std::string_view name) -> rocksdb::ColumnFamilyHandle* {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] == name) return handles[i];
    }
    ADD_FAILURE() << "no column family " << name;
    return nullptr;
  });
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
}

// Replaces the stored bytes of event `seq` behind the engine's back (the store must
// be closed). For corruption and tampering tests.
inline void overwrite_event(const std::string& path, Seq seq, const std::string& bytes) {
  with_raw_db(path, [&](rocksdb::DB* db, const auto& cf) {
    EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), cf("events"), log::EventLog::seq_key(seq), bytes).ok());
  });
}

// The newest WAL file in `dir` (empty when there is none).
inline std::filesystem::path newest_wal(const std::filesystem::path& dir) {
  std::filesystem::path newest;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    if (f.path().extension() == ".log" && (newest.empty() || f.path() > newest)) newest = f.path();
  }
  return newest;
}

// Flips one bit of the byte at `offset` of `file`.
inline void flip_byte(const std::filesystem::path& file, std::uintmax_t offset) {
  ASSERT_LT(offset, std::filesystem::file_size(file));
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x40));
  ASSERT_TRUE(f.good()) << file;
}

// The bytes of `file` up to its last non-zero byte. The log preallocates its live
// WAL with the file size set (event_log.cc), so a WAL a crash left behind is its
// records followed by zeros up to the preallocated size; a closed one is trimmed.
inline std::uintmax_t data_size(const std::filesystem::path& file) {
  std::ifstream f(file, std::ios::binary);
  std::uintmax_t end = std::filesystem::file_size(file);
  std::string chunk;
  while (end > 0) {
    const std::uintmax_t n = std::min<std::uintmax_t>(end, 1u << 20);
    chunk.resize(n);
    f.seekg(static_cast<std::streamoff>(end - n));
    f.read(chunk.data(), static_cast<std::streamsize>(n));
    const auto last = chunk.find_last_not_of('\0');
    if (last != std::string::npos) return end - n + last + 1;
    end -= n;
  }
  return 0;
}

// A torn last write: the last `bytes` of the newest WAL file in `dir` never reached
// the disk. A trimmed WAL loses them off its end; a preallocated one (a crash
// image) reads zeros there, as it would after a crash. The memtables were never
// flushed, so that file holds the newest events.
inline void truncate_newest_wal(const std::string& dir, std::uintmax_t bytes) {
  const std::filesystem::path newest = newest_wal(dir);
  ASSERT_FALSE(newest.empty()) << "no WAL file in " << dir;
  const auto size = std::filesystem::file_size(newest);
  const auto data = data_size(newest);
  ASSERT_GT(data, bytes);
  // A record may end in zero bytes itself; a preallocated tail is megabytes.
  if (size - data < (64u << 10)) {
    std::filesystem::resize_file(newest, size - bytes);
    return;
  }
  std::fstream f(newest, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(data - bytes));
  f << std::string(bytes, '\0');
  ASSERT_TRUE(f.good()) << newest;
}

// Runs fn in a forked child that then dies without closing anything (_exit), as a
// crash would: what fn wrote is only in the WAL. fn returns false on failure, and
// must leave its store open (release() it): the child has none of the parent's
// threads, so a close there may wait for a flush no thread will run.
inline void crash_after(const std::string& what, const std::function<bool()>& fn) {
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(fn() ? 0 : 1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child writing " << what << " failed";
}

}  // namespace omni::testing
