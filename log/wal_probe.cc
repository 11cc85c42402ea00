#include "omni/log/wal_probe.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/wal_filter.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "omni/log/event_log.h"

namespace omni::log {
namespace {

constexpr std::string_view kEventsCf = "events";

Status from_rocks(const rocksdb::Status& s, const std::string& what) {
  std::string m = what + ": " + s.ToString();
  if (s.IsCorruption()) return Status::corruption(std::move(m));
  return Status::io_error(std::move(m));
}

// A bad stretch of a WAL that RocksDB's log reader reported.
struct Drop {
  std::string file;  // last path component, e.g. "000004.log"
  std::uint64_t bytes = 0;
  std::string reason;  // e.g. "Corruption: checksum mismatch"
};

// RocksDB's info log for one read-only open. It keeps only the log reader's reports,
// which RocksDB writes as "<wal path>: dropping <n> bytes; <status>" (LevelDB's
// format, unchanged in RocksDB 7.8). The reported Status does not name the file.
// (RocksDB 7.8 creates no LOG file for a read-only open; with this logger it could
// not either.)
class DropLogger final : public rocksdb::Logger {
 public:
  DropLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char buf[1024];
    va_list copy;
    va_copy(copy, ap);
    const int n = std::vsnprintf(buf, sizeof buf, format, copy);
    va_end(copy);
    std::string big;
    std::string_view line(buf);
    if (n >= static_cast<int>(sizeof buf)) {  // a long path
      big.resize(static_cast<std::size_t>(n) + 1);
      std::vsnprintf(big.data(), big.size(), format, ap);
      big.resize(static_cast<std::size_t>(n));
      line = big;
    }
    const auto at = line.find(": dropping ");
    if (at == std::string_view::npos) return;
    Drop d;
    const auto slash = line.rfind('/', at);
    d.file = std::string(line.substr(slash == std::string_view::npos ? 0 : slash + 1,
                                     at - (slash == std::string_view::npos ? 0 : slash + 1)));
    std::string_view rest = line.substr(at + 11);  // after ": dropping "
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') {
      d.bytes = d.bytes * 10 + static_cast<std::uint64_t>(rest.front() - '0');
      rest.remove_prefix(1);
    }
    const auto semi = rest.find("; ");
    if (semi != std::string_view::npos) {
      d.reason = std::string(rest.substr(semi + 2));
    } else {
      // "dropping <n> bytes" with no reason: point-in-time recovery discarding a
      // whole later WAL, not a bad record.
      return;
    }
    while (!d.reason.empty() && (d.reason.back() == '\n' || d.reason.back() == ' ')) {
      d.reason.pop_back();
    }
    std::lock_guard l(mu_);
    drops_.push_back(std::move(d));
  }
  std::vector<Drop> drops() const {
    std::lock_guard l(mu_);
    return drops_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Drop> drops_;
};

// Sees every WAL record that passed the log reader's checks. It notes the newest
// event seq in it and counts records per WAL file. With `replay` false it keeps
// the record out of the memtable: the pass then costs a read of the WALs and their
// checksums, and no memtable inserts or memory.
class RecordFilter final : public rocksdb::WalFilter {
 public:
  explicit RecordFilter(bool replay) : replay_(replay) {}

  void ColumnFamilyLogNumberMap(const std::map<std::uint32_t, std::uint64_t>&,
                                const std::map<std::string, std::uint32_t>& ids) override {
    const auto it = ids.find(std::string(kEventsCf));
    if (it != ids.end()) events_id_ = it->second;
  }

  WalProcessingOption LogRecordFound(unsigned long long /*log_number*/,
                                     const std::string& log_file_name,
                                     const rocksdb::WriteBatch& batch, rocksdb::WriteBatch*,
                                     bool*) override {
    if (per_file_.empty() || per_file_.back().first != log_file_name) {
      per_file_.emplace_back(log_file_name, 0);
    }
    ++per_file_.back().second;
    if (replay_) return WalProcessingOption::kContinueProcessing;
    MaxEventSeq h(events_id_);
    // A batch that cannot be parsed although its record's checksum passed: let
    // RocksDB's own insert meet it, as a normal open would.
    if (!batch.Iterate(&h).ok()) return WalProcessingOption::kContinueProcessing;
    max_event_seq_ = std::max(max_event_seq_, h.max);
    return WalProcessingOption::kIgnoreCurrentRecord;
  }

  const char* Name() const override { return "omni.wal_probe"; }

  Seq max_event_seq() const { return max_event_seq_; }
  // (WAL file, records read from it), in replay order.
  const std::vector<std::pair<std::string, std::uint64_t>>& per_file() const { return per_file_; }

 private:
  struct MaxEventSeq final : rocksdb::WriteBatch::Handler {
    explicit MaxEventSeq(std::uint32_t id) : events_id(id) {}
    std::uint32_t events_id;
    Seq max = 0;
    rocksdb::Status PutCF(std::uint32_t cf, const rocksdb::Slice& key,
                          const rocksdb::Slice&) override {
      if (cf == events_id && key.size() == 8) {
        max = std::max(max, EventLog::decode_seq_key(key.ToStringView()));
      }
      return rocksdb::Status::OK();
    }
    // Everything else is accepted and ignored.
    rocksdb::Status PutEntityCF(std::uint32_t, const rocksdb::Slice&,
                                const rocksdb::Slice&) override {
      return rocksdb::Status::OK();
    }
    rocksdb::Status DeleteCF(std::uint32_t, const rocksdb::Slice&) override {
      return rocksdb::Status::OK();
    }
    rocksdb::Status SingleDeleteCF(std::uint32_t, const rocksdb::Slice&) override {
      return rocksdb::Status::OK();
    }
    rocksdb::Status DeleteRangeCF(std::uint32_t, const rocksdb::Slice&,
                                  const rocksdb::Slice&) override {
      return rocksdb::Status::OK();
    }
    rocksdb::Status MergeCF(std::uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
      return rocksdb::Status::OK();
    }
    rocksdb::Status PutBlobIndexCF(std::uint32_t, const rocksdb::Slice&,
                                   const rocksdb::Slice&) override {
      return rocksdb::Status::OK();
    }
    void LogData(const rocksdb::Slice&) override {}
    rocksdb::Status MarkBeginPrepare(bool) override { return rocksdb::Status::OK(); }
    rocksdb::Status MarkEndPrepare(const rocksdb::Slice&) override { return rocksdb::Status::OK(); }
    rocksdb::Status MarkNoop(bool) override { return rocksdb::Status::OK(); }
    rocksdb::Status MarkRollback(const rocksdb::Slice&) override { return rocksdb::Status::OK(); }
    rocksdb::Status MarkCommit(const rocksdb::Slice&) override { return rocksdb::Status::OK(); }
    rocksdb::Status MarkCommitWithTimestamp(const rocksdb::Slice&, const rocksdb::Slice&) override {
      return rocksdb::Status::OK();
    }
  };

  bool replay_;
  std::uint32_t events_id_ = std::numeric_limits<std::uint32_t>::max();
  Seq max_event_seq_ = 0;
  std::vector<std::pair<std::string, std::uint64_t>> per_file_;
};

struct Pass {
  rocksdb::Status status;  // of the read-only open or the reads after it
  Seq head = 0;            // newest event seq (0: none)
  Seq count_after = 0;     // events with seq > the pass's `after` argument
  std::vector<Drop> drops;
  std::vector<std::pair<std::string, std::uint64_t>> per_file;
};

// One read-only open of the store in `mode`. `replay`: insert the WAL records into
// memtables as a real open does; otherwise only check and parse them. `after`:
// when set, count the events with a greater seq.
Pass run_pass(const std::string& path, rocksdb::Env* env, const std::vector<std::string>& cf_names,
              rocksdb::WALRecoveryMode mode, bool replay, std::optional<Seq> after) {
  Pass p;
  auto logger = std::make_shared<DropLogger>();
  RecordFilter filter(replay);
  rocksdb::DBOptions dbo;
  dbo.env = env;
  dbo.info_log = logger;
  dbo.wal_recovery_mode = mode;
  dbo.wal_filter = &filter;
  // Do not open every SST at open (the default, -1): each pass reads a few keys.
  // Measured on a store with 564 SSTs: 11 ms instead of 22 ms.
  dbo.max_open_files = 64;

  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const auto& n : cf_names) descs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  p.status = rocksdb::DB::OpenForReadOnly(dbo, path, descs, &handles, &raw);
  p.drops = logger->drops();
  p.per_file = filter.per_file();
  if (!p.status.ok()) return p;
  std::unique_ptr<rocksdb::DB> db(raw);

  for (std::size_t i = 0; i < cf_names.size() && p.status.ok(); ++i) {
    if (cf_names[i] != kEventsCf) continue;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[i]));
    it->SeekToLast();
    if (it->Valid() && it->key().size() == 8)
      p.head = EventLog::decode_seq_key(it->key().ToStringView());
    if (after) {
      for (it->Seek(EventLog::seq_key(*after + 1)); it->Valid(); it->Next()) {
        if (it->key().size() == 8) ++p.count_after;
      }
    }
    p.status = it->status();
  }
  p.head = std::max(p.head, filter.max_event_seq());
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  const rocksdb::Status closed = db->Close();
  if (p.status.ok() && !closed.ok()) p.status = closed;
  return p;
}

std::string base_name(const std::string& p) {
  const auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string join(const std::string& dir, const std::string& file) {
  if (!dir.empty() && dir.back() == '/') return dir + file;
  return dir + "/" + file;
}

// ---- the WAL's physical format (RocksDB's log_format.h, unchanged since LevelDB) ----
// 32 KiB blocks of records; a record never crosses a block; fewer than 7 bytes left
// in a block are a trailer that readers skip. Header: masked CRC32C (4, of the type
// byte and the data), length (2, little-endian), type (1); a logical record longer
// than a block's room is split into first/middle/last fragments.
constexpr std::size_t kWalBlock = 32768;
constexpr std::size_t kWalHeader = 7;
enum : unsigned char {
  kZeroType = 0,
  kFullType = 1,
  kFirstType = 2,
  kMiddleType = 3,
  kLastType = 4,
  kSetCompressionType = 9,
};

constexpr std::array<std::uint32_t, 256> make_crc32c_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<std::uint32_t, 256> kCrc32c = make_crc32c_table();

std::uint32_t crc32c(const unsigned char* p, std::size_t n) {
  std::uint32_t c = 0xffffffffu;
  for (std::size_t i = 0; i < n; ++i) c = kCrc32c[(c ^ p[i]) & 0xffu] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

// RocksDB stores CRCs masked (crc32c::Mask); this undoes it.
std::uint32_t unmask_crc(std::uint32_t masked) {
  const std::uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

std::uint32_t le32(const unsigned char* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
         std::uint32_t{p[3]} << 24;
}

// Reads `file` sequentially, `kWalBlock` bytes at a time (fewer only at its end).
class BlockReader {
 public:
  BlockReader(rocksdb::Env* env, const std::string& file) {
    status_ = env->NewSequentialFile(file, &file_, rocksdb::EnvOptions());
    buf_.resize(kWalBlock);
  }
  // The next block; empty at the end of the file or on an error (see status()).
  std::string_view next() {
    if (!status_.ok() || done_) return {};
    std::size_t have = 0;
    while (have < kWalBlock) {
      rocksdb::Slice got;
      status_ = file_->Read(kWalBlock - have, &got, buf_.data() + have);
      if (!status_.ok()) return {};
      if (got.empty()) break;
      if (got.data() != buf_.data() + have) {
        std::memmove(buf_.data() + have, got.data(), got.size());
      }
      have += got.size();
    }
    if (have < kWalBlock) done_ = true;
    return {buf_.data(), have};
  }
  const rocksdb::Status& status() const { return status_; }

 private:
  rocksdb::Status status_;
  std::unique_ptr<rocksdb::SequentialFile> file_;
  std::vector<char> buf_;
  bool done_ = false;
};

bool all_zero(std::string_view s) {
  static const std::array<char, kWalBlock> kZeros{};
  while (!s.empty()) {
    const std::size_t n = std::min(s.size(), kZeros.size());
    if (std::memcmp(s.data(), kZeros.data(), n) != 0) return false;
    s.remove_prefix(n);
  }
  return true;
}

// Whether `file`, a WAL RocksDB's log reader refused, is a torn tail in a
// preallocated WAL: its first bad record (a checksum mismatch, or zeros where a
// fragmented record's next fragment belongs) is followed by at least one byte and
// by nothing but zero bytes up to the end of the file. The log preallocates its WAL
// with the file size set (event_log.cc), so after a crash the records end in zeros
// up to the preallocated size, and a last write that did not fully reach the disk
// reads as a record whose last bytes are zeros: RocksDB's reader meets a checksum
// mismatch there, not the end of the file. Anything else is not a torn tail: a bad
// record followed by a readable record or any non-zero byte (e.g. in the rest of its
// 32 KiB block, which RocksDB's reader drops with it), one that ends exactly at the
// end of the file (a WAL closed cleanly is trimmed to its data, so its last record
// was written whole), a bad length, a broken fragment sequence, an unknown record
// type, no bad record found (RocksDB saw something this does not), a read error.
bool torn_tail_in_preallocated_wal(rocksdb::Env* env, const std::string& file) {
  BlockReader r(env, file);
  bool in_fragment = false;
  std::string_view block;
  std::size_t pos = 0;
  bool found = false;
  while (!found) {
    block = r.next();
    if (block.empty()) return false;  // the end (or a read error) before a bad record
    const bool last_block = block.size() < kWalBlock;
    const auto* b = reinterpret_cast<const unsigned char*>(block.data());
    for (pos = 0; block.size() - pos >= kWalHeader;) {
      const unsigned char* h = b + pos;
      const std::size_t len = std::size_t{h[4]} | std::size_t{h[5]} << 8;
      const unsigned char type = h[6];
      if (kWalHeader + len > block.size() - pos) {
        // A bad length inside the file (damage), or a record cut short by the end of
        // the file, which RocksDB's reader accepts: neither is what we look for.
        return false;
      }
      if (type == kZeroType && len == 0) {
        if (in_fragment) {  // the rest of a fragmented record reads as zeros
          found = true;
          break;
        }
        pos = block.size();  // the reader skips the rest of the block
        break;
      }
      if (unmask_crc(le32(h)) != crc32c(h + 6, len + 1)) {
        pos += kWalHeader + len;  // what follows the bad record must be zeros
        found = true;
        break;
      }
      switch (type) {
        case kFullType:
        case kFirstType:
          if (in_fragment) return false;  // "partial record without end"
          in_fragment = type == kFirstType;
          break;
        case kMiddleType:
        case kLastType:
          if (!in_fragment) return false;  // "missing start of fragmented record"
          in_fragment = type == kMiddleType;
          break;
        case kSetCompressionType:
          break;
        default:  // recycled-log records (none under point-in-time recovery), unknown types
          return false;
      }
      pos += kWalHeader + len;
    }
    if (!found && last_block) return false;
  }
  // The rest of the file after the bad record: at least one byte, all zeros.
  std::uint64_t zeros = block.size() - pos;
  if (!all_zero(block.substr(pos))) return false;
  while (block.size() == kWalBlock) {
    block = r.next();
    if (!all_zero(block)) return false;
    zeros += block.size();
  }
  return r.status().ok() && zeros > 0;
}

// WAL files are named <number>.log; 0 for any other name.
std::uint64_t wal_number(const std::string& name) {
  constexpr std::string_view kExt = ".log";
  if (name.size() <= kExt.size() ||
      name.compare(name.size() - kExt.size(), kExt.size(), kExt) != 0) {
    return 0;
  }
  std::uint64_t n = 0;
  for (std::size_t i = 0; i + kExt.size() < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return 0;
    n = n * 10 + static_cast<std::uint64_t>(name[i] - '0');
  }
  return n;
}

// Whether every WAL of `dir` newer than `wal` (a file name) holds only zero bytes
// (an empty file counts).
bool newer_wals_are_empty(rocksdb::Env* env, const std::string& dir, const std::string& wal) {
  const std::uint64_t number = wal_number(wal);
  if (number == 0) return false;
  std::vector<std::string> children;
  if (!env->GetChildren(dir, &children).ok()) return false;
  for (const auto& c : children) {
    const std::string name = base_name(c);
    if (wal_number(name) <= number) continue;
    BlockReader r(env, join(dir, name));
    for (std::string_view block = r.next(); !block.empty(); block = r.next()) {
      if (!all_zero(block)) return false;
    }
    if (!r.status().ok()) return false;
  }
  return true;
}

}  // namespace

Result<WalProbe> probe_wal(const std::string& path,
                           const std::vector<std::string>& /*column_families*/, rocksdb::Env* env) {
  if (env == nullptr) env = rocksdb::Env::Default();
  WalProbe probe;

  const rocksdb::Status current = env->FileExists(join(path, "CURRENT"));
  if (current.IsNotFound()) return probe;  // no store yet
  if (!current.ok()) return from_rocks(current, "probing the WAL of '" + path + "'");

  rocksdb::DBOptions list_opts;
  list_opts.env = env;
  list_opts.info_log = std::make_shared<DropLogger>();
  std::vector<std::string> cf_names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(list_opts, path, &cf_names);
  if (!s.ok()) return from_rocks(s, "listing the column families of '" + path + "'");

  // Pass 1: RocksDB accepts a torn tail and refuses any other bad record.
  Pass strict =
      run_pass(path, env, cf_names, rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords,
               /*replay=*/false, std::nullopt);
  if (strict.status.ok()) {
    probe.recovered_head = probe.head_beyond_damage = strict.head;
    return probe;
  }
  if (!strict.status.IsCorruption()) {
    return from_rocks(strict.status, "opening '" + path + "' read-only to probe its WAL");
  }

  // A torn last write in a preallocated WAL (see torn_tail_in_preallocated_wal) is a
  // torn tail, as a truncated last record is. Point-in-time recovery keeps every
  // event before it, and nothing readable lies beyond it. One more read-only open,
  // without memtable inserts, finds the head that open keeps.
  if (!strict.drops.empty() &&
      torn_tail_in_preallocated_wal(env, join(path, strict.drops.front().file)) &&
      newer_wals_are_empty(env, path, strict.drops.front().file)) {
    Pass tail = run_pass(path, env, cf_names, rocksdb::WALRecoveryMode::kPointInTimeRecovery,
                         /*replay=*/false, std::nullopt);
    if (tail.status.ok()) {
      probe.recovered_head = probe.head_beyond_damage = tail.head;
      return probe;
    }
  }

  // Passes 2 and 3. If even skipping every bad WAL record does not open the store,
  // the corruption is not (only) in a WAL.
  Pass pit = run_pass(path, env, cf_names, rocksdb::WALRecoveryMode::kPointInTimeRecovery,
                      /*replay=*/true, std::nullopt);
  Pass skip =
      run_pass(path, env, cf_names, rocksdb::WALRecoveryMode::kSkipAnyCorruptedRecords,
               /*replay=*/true, pit.status.ok() ? std::optional<Seq>(pit.head) : std::nullopt);
  if (!skip.status.ok()) {
    return Status::corruption("opening '" + path + "' read-only: " + strict.status.ToString() +
                              "; skipping bad WAL records does not help (" +
                              skip.status.ToString() + "), so the damage is not only in a WAL");
  }

  probe.damaged = true;
  probe.recoverable = pit.status.ok();
  probe.recovered_head = probe.recoverable ? pit.head : 0;
  probe.head_beyond_damage = skip.head;
  probe.events_beyond_damage = probe.recoverable ? skip.count_after : 0;

  // Where: the log reader's first report in pass 1. If RocksDB's info log did not
  // say, the first WAL of which pass 3 read more records than point-in-time
  // recovery did.
  std::string reason = strict.status.ToString();
  if (!strict.drops.empty()) {
    probe.wal_file = join(path, strict.drops.front().file);
    reason = strict.drops.front().reason;
  } else {
    for (std::size_t i = 0; i < skip.per_file.size(); ++i) {
      const std::uint64_t kept =
          i < pit.per_file.size() && pit.per_file[i].first == skip.per_file[i].first
              ? pit.per_file[i].second
              : 0;
      if (skip.per_file[i].second > kept) {
        probe.wal_file = join(path, base_name(skip.per_file[i].first));
        break;
      }
    }
  }
  if (!probe.wal_file.empty()) {
    std::uint64_t size = 0;
    if (env->GetFileSize(probe.wal_file, &size).ok()) probe.wal_bytes = size;
  }
  std::uint64_t unreadable = 0;
  for (const auto& d : skip.drops) unreadable += d.bytes;

  std::string& m = probe.detail;
  m = "WAL " + (probe.wal_file.empty() ? std::string("(file unknown)") : probe.wal_file);
  if (!probe.wal_file.empty()) m += " (" + std::to_string(probe.wal_bytes) + " bytes)";
  m += " is damaged before its end: " + reason;
  if (unreadable > 0) m += "; " + std::to_string(unreadable) + " bytes of WAL are unreadable";
  if (probe.recoverable) {
    m += "; point-in-time recovery keeps events up to seq " + std::to_string(probe.recovered_head);
    if (probe.events_beyond_damage > 0) {
      m += " and drops " + std::to_string(probe.events_beyond_damage) +
           " intact event(s) after the damage (up to seq " +
           std::to_string(probe.head_beyond_damage) + ")";
      const Seq span = probe.head_beyond_damage - probe.recovered_head;
      if (span > probe.events_beyond_damage) {
        m += "; " + std::to_string(span - probe.events_beyond_damage) +
             " seq(s) in between were in the damaged records";
      }
    } else {
      m += "; no event after it is readable";
    }
  } else {
    m += "; point-in-time recovery refuses the store (" + pit.status.ToString() +
         "); skipping the bad records reaches seq " + std::to_string(probe.head_beyond_damage);
  }
  return probe;
}

}  // namespace omni::log
