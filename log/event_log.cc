#include "omni/log/event_log.h"

#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/file_system.h>
#include <rocksdb/table.h>
#include <rocksdb/table_properties.h>
#include <sys/resource.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <future>
#include <set>
#include <thread>

#include "omni/log/head_anchor.h"
#include "omni/log/rocks_status.h"
#include "omni/log/wal_probe.h"

namespace omni::log {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kEventsCf = "events";
// close() merges a column family's L0 and L1 files once there are more than this
// many of them holding less than this many bytes (see close()).
constexpr std::size_t kMaxSmallFiles = 8;
constexpr std::uint64_t kSmallFilesBytes = 64u << 20;
// How long a resume waits for RocksDB's Resume() (see bounded_resume()).
constexpr std::chrono::seconds kResumeTimeout{5};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// RocksDB's info log with nowhere to go (EventLogOptions::info_log unset).
class NullLogger final : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

// RocksDB starts its own recovery from a no-space error at once; if the disk is
// still full that attempt fails and the error becomes permanent (only a reopen
// clears it). We resume ourselves instead, once a probe found room (resume_locked).
// The listener also watches the default column family, which holds only the
// WAL-switch marker (see put_marker): when a flush took the marker, the log puts
// it back.
//
// Every resume must move to a new WAL (resume_locked): writing through a WAL
// writer that failed aborts Debian's build. Requiring it only after a reported
// WAL failure (kWriteCallback) was tried: under load a writer failed without that
// report and the next write aborted the process.
//
// RocksDB 7.8 loses a flush request when a flush job scheduled before a hard
// error starts after it: DBImpl::BackgroundFlush returns the error without taking
// the request off the flush queue or giving back its slot (the compaction path
// does: unscheduled_compactions_++). From then on the queue holds one request more
// than there are jobs for it, and the oldest is served first: Resume() (or any
// Flush() that waits) queues its request behind the stale one, the one job run
// serves the stale request, and the caller waits for its own memtables for ever
// (DBImpl::WaitForFlushMemTables, every background thread idle). That job logs
// "Waiting after background flush error" without having begun a flush (no
// OnFlushBegin on its thread), which is how the log sees it (flush_bailouts).
}  // namespace

struct ListenerState {
  std::atomic<bool> marker_needed{false};
  std::atomic<std::uint64_t> flush_bailouts{0};
};

namespace {

// Set on a background thread between OnFlushBegin and the end of that flush.
thread_local bool t_flush_began = false;

class LogListener final : public rocksdb::EventListener {
 public:
  explicit LogListener(std::shared_ptr<ListenerState> state) : state_(std::move(state)) {}
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status,
                            bool* auto_recovery) override {
    *auto_recovery = false;
  }
  void OnFlushBegin(rocksdb::DB*, const rocksdb::FlushJobInfo&) override { t_flush_began = true; }
  void OnFlushCompleted(rocksdb::DB*, const rocksdb::FlushJobInfo& info) override {
    t_flush_began = false;
    if (info.cf_name == rocksdb::kDefaultColumnFamilyName) state_->marker_needed.store(true);
  }

 private:
  std::shared_ptr<ListenerState> state_;
};

// Passes RocksDB's info log on to `inner` and counts the flush jobs that gave up
// on a background error without flushing (see ListenerState).
class WatchingLogger final : public rocksdb::Logger {
 public:
  WatchingLogger(std::shared_ptr<rocksdb::Logger> inner, std::shared_ptr<ListenerState> state)
      : rocksdb::Logger(std::min(inner->GetInfoLogLevel(), rocksdb::InfoLogLevel::ERROR_LEVEL)),
        inner_(std::move(inner)),
        state_(std::move(state)) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override { inner_->Logv(format, ap); }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    static constexpr std::string_view kFlushWait = "Waiting after background flush error";
    if (level == rocksdb::InfoLogLevel::ERROR_LEVEL && format != nullptr &&
        std::string_view(format).starts_with(kFlushWait)) {
      if (!t_flush_began) state_->flush_bailouts.fetch_add(1);
      t_flush_began = false;
    }
    if (level >= inner_->GetInfoLogLevel()) inner_->Logv(level, format, ap);
  }
  void LogHeader(const char* format, va_list ap) override { inner_->LogHeader(format, ap); }
  rocksdb::Status Close() override { return inner_->Close(); }
  void Flush() override { inner_->Flush(); }

 private:
  std::shared_ptr<rocksdb::Logger> inner_;
  std::shared_ptr<ListenerState> state_;
};

// Sync writes: RocksDB preallocates each WAL (fallocate, about 1.1x the memtable
// size) but by default keeps the file size (FALLOC_FL_KEEP_SIZE), so every append
// grows the size and every fdatasync must also commit the inode's new size to the
// ext4 journal. Preallocating with the size set leaves each fdatasync only the data
// (and the conversion of its preallocated extent). A WAL closed cleanly is trimmed to
// its data (PosixWritableFile::Close); after a crash its tail reads as zeros, which
// RocksDB's log reader skips in every recovery mode. (RocksDB's own answer,
// recycle_log_file_num, is switched off by RocksDB 7.8 under point-in-time recovery.)
class WalSizeFs final : public rocksdb::FileSystemWrapper {
 public:
  using rocksdb::FileSystemWrapper::FileSystemWrapper;
  static const char* kClassName() { return "OmniWalSizeFs"; }
  const char* Name() const override { return kClassName(); }
  rocksdb::FileOptions OptimizeForLogWrite(const rocksdb::FileOptions& file_options,
                                           const rocksdb::DBOptions& db_options) const override {
    rocksdb::FileOptions o = target()->OptimizeForLogWrite(file_options, db_options);
    o.fallocate_with_keep_size = false;
    return o;
  }
};

// `base` with its FileSystem behind WalSizeFs; everything else (threads, clock) is
// base's.
class WalSizeEnv final : public rocksdb::EnvWrapper {
 public:
  explicit WalSizeEnv(rocksdb::Env* base) : rocksdb::EnvWrapper(base) {
    file_system_ = std::make_shared<WalSizeFs>(base->GetFileSystem());
  }
  static const char* kClassName() { return "OmniWalSizeEnv"; }
  const char* Name() const override { return kClassName(); }
};

constexpr std::string_view kWalSwitchMarker = "omni:wal-switch-marker";

// Stores open in this process, by canonical path. RocksDB's own lock is keyed by
// the path as spelt, so "dir" and "dir/" would both get it; this set refuses the
// second one by the path they resolve to.
std::mutex& open_paths_mu() {
  static std::mutex mu;
  return mu;
}
std::set<std::string>& open_paths() {
  static std::set<std::string> paths;
  return paths;
}

// A store's directory without CURRENT but with its other files lost its manifest
// pointer: creating a new store there would let RocksDB delete the old SST files.
Status check_not_orphaned(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir / "CURRENT", ec)) return Status();
  std::vector<std::string> found;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    const std::string name = f.path().filename().string();
    const std::string ext = f.path().extension().string();
    if (ext == ".sst" || ext == ".log" || name.starts_with("MANIFEST-") ||
        name.starts_with("OPTIONS-") || name == "IDENTITY") {
      found.push_back(name);
    }
  }
  if (ec) return Status::io_error("listing '" + dir.string() + "': " + ec.message());
  if (found.empty()) return Status();
  std::sort(found.begin(), found.end());
  std::string list;
  for (std::size_t i = 0; i < found.size() && i < 5; ++i) list += (i ? ", " : "") + found[i];
  if (found.size() > 5) list += ", …";
  return Status::corruption("'" + dir.string() + "' holds a store's files (" + list +
                            ") but its CURRENT file is missing; refusing to create a new store "
                            "over them (restore CURRENT, or move the files away)");
}

// Keeps the table cache's file descriptors well inside the process's limit: the
// default (-1, every SST open) ran a store of many small files into EMFILE.
int max_open_files() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1000;
  return static_cast<int>(std::clamp<rlim_t>(rl.rlim_cur / 4, 32, 1000));
}

}  // namespace

struct EventLog::Writer {
  AppendRequest* req;
  Status status;
  bool done = false;
  std::condition_variable cv;
  std::size_t bytes = 0;
};

std::string EventLog::seq_key(Seq seq) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i) {
    k[i] = static_cast<char>(seq & 0xff);
    seq >>= 8;
  }
  return k;
}

Seq EventLog::decode_seq_key(std::string_view key) {
  Seq v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint8_t>(key[i]);
  return v;
}

Result<std::unique_ptr<EventLog>> EventLog::open(EventLogOptions options) {
  const std::string& path = options.path;
  if (path.empty()) return Status::invalid_argument("the store path is empty");
  if (auto nul = path.find('\0'); nul != std::string::npos) {
    return Status::invalid_argument("the store path contains a NUL byte at offset " +
                                    std::to_string(nul));
  }
  if (options.skip_open_checks && !options.read_only) {
    return Status::invalid_argument("skip_open_checks is only for a read-only open");
  }
  std::error_code ec;
  if (options.read_only) {
    if (!fs::is_directory(path, ec)) return Status::not_found("no store at '" + path + "'");
  } else {
    fs::create_directories(path, ec);
    if (ec) {
      return Status::io_error("cannot create the store directory '" + path +
                              "' (or a missing parent): " + ec.message());
    }
  }
  const fs::path canonical = fs::canonical(path, ec);
  if (ec) return Status::io_error("resolving '" + path + "': " + ec.message());
  if (!fs::is_directory(canonical, ec)) {
    return Status::io_error("'" + canonical.string() + "' is not a directory");
  }
  OMNI_RETURN_IF_ERROR(check_not_orphaned(canonical));
  if (options.read_only && !fs::exists(canonical / "CURRENT", ec)) {
    return Status::not_found("no store at '" + canonical.string() + "' (no CURRENT file)");
  }

  std::unique_ptr<EventLog> log(new EventLog());
  log->read_only_ = options.read_only;
  // A read-only open takes no lock and writes nothing, so it may share the store
  // with a writer in this process; it is not registered as open.
  if (!options.read_only) {
    std::lock_guard l(open_paths_mu());
    if (!open_paths().insert(canonical.string()).second) {
      return Status::io_error("the store at '" + canonical.string() +
                              "' is already open in this process" +
                              (canonical.string() == path ? "" : " (opened as '" + path + "')"));
    }
  }
  log->canonical_path_ = canonical.string();  // from here the destructor unregisters it (unless read-only)
  log->listener_state_ = std::make_shared<ListenerState>();
  log->resume_interval_ = options.resume_interval;
  log->env_ = options.env ? options.env : rocksdb::Env::Default();

  std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName, std::string(kEventsCf),
                                    std::string(kMetaCf)};
  for (const auto& n : options.extra_column_families) {
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  }
  // RocksDB opens a store only with all of its column families: those of another
  // generation of the projections (see ProjectionSet::rebuild) too.
  {
    std::vector<std::string> existing;
    const bool listed = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), log->canonical_path_, &existing).ok();
    if (options.read_only) {  // nothing can be created: open what the store has
      for (std::string_view required : {kEventsCf, kMetaCf}) {
        if (std::find(existing.begin(), existing.end(), required) == existing.end()) {
          return Status::corruption("'" + log->canonical_path_ + "' is not an Omni store (no '" +
                                    std::string(required) + "' column family)");
        }
      }
      std::erase_if(names, [&](const std::string& n) {
        return std::find(existing.begin(), existing.end(), n) == existing.end();
      });
    }
    if (listed) {
      for (const auto& n : names) {
        if (std::find(existing.begin(), existing.end(), n) == existing.end()) log->created_at_open_.push_back(n);
      }
      for (auto& n : existing) {
        if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(std::move(n));
      }
    }
  }

  // Damage inside a WAL is found before the real open, which would drop what
  // follows it for good (see wal_probe.h).
  Result<WalProbe> probe = probe_wal(log->canonical_path_, names, options.env);
  if (!probe.ok()) return probe.status();
  if (probe->damaged) {
    log->recovery_.wal_damaged = true;
    log->recovery_.recovered_head = probe->recovered_head;
    log->recovery_.events_beyond_damage = probe->lost_events();
    log->recovery_.detail = probe->detail;
    if (options.refuse_damaged_wal) {
      return Status::corruption("the WAL of '" + log->canonical_path_ + "' is damaged: " +
                                probe->detail + " (refuse_damaged_wal is set; nothing was changed)");
    }
  }

  rocksdb::DBOptions dbo;
  dbo.create_if_missing = true;
  dbo.create_missing_column_families = true;
  // A torn or corrupt WAL tail (crash mid-write) is dropped; everything before it
  // is recovered. Acknowledged sync writes are never in a torn tail.
  dbo.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  dbo.IncreaseParallelism(2);
  std::shared_ptr<rocksdb::Logger> info_log = options.info_log ? options.info_log : std::make_shared<NullLogger>();
  dbo.info_log = std::make_shared<WatchingLogger>(std::move(info_log), log->listener_state_);
  log->db_env_ = std::make_unique<WalSizeEnv>(log->env_);
  dbo.env = log->db_env_.get();
  dbo.max_open_files = max_open_files();
  dbo.listeners.push_back(std::make_shared<LogListener>(log->listener_state_));
  // The WAL-less marker would otherwise make RocksDB flush everything at Close()
  // (it flushes when unlogged data exists); close() flushes when it chooses to.
  dbo.avoid_flush_during_shutdown = true;
  // The column families flush together: the small state and key-index memtables
  // never fill on their own, so they kept every WAL file alive (417 bytes on disk
  // per event instead of ~110, and a reopen replayed all of it). Flushing together
  // also keeps the projections' SSTs at the same seq as the events'.
  dbo.atomic_flush = true;

  rocksdb::ColumnFamilyOptions cfo;
  cfo.write_buffer_size = options.write_buffer_size;
  // Disk bytes per event. An event is a document plus 32 bytes of SHA-256 and a
  // timestamp that do not compress; with RocksDB's defaults (Snappy, 4 KiB blocks)
  // a fully compacted store took 3.1x the bytes of a raw Put of the same documents
  // (122 vs 39 B per event, bench/README.md). The bottom level (where compaction
  // leaves nearly everything) in ZSTD and 16 KiB blocks: 66 B, 1.7x. Upper levels
  // stay Snappy: they are rewritten often, and ZSTD's compression costs CPU the
  // writers share. Bigger blocks cost a point read more decompression on a block
  // cache miss; the block cache below keeps hot blocks uncompressed.
  const auto supported = rocksdb::GetSupportedCompressions();
  if (std::find(supported.begin(), supported.end(), rocksdb::kZSTD) != supported.end()) {
    cfo.bottommost_compression = rocksdb::kZSTD;
  }
  rocksdb::BlockBasedTableOptions table;
  table.block_size = 16 << 10;
  if (options.block_cache_size > 0) table.block_cache = rocksdb::NewLRUCache(options.block_cache_size);
  cfo.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const auto& n : names) descs.emplace_back(n, cfo);
  log->cf_options_ = cfo;

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (options.read_only) {
    dbo.create_if_missing = false;
    dbo.create_missing_column_families = false;
    // Every table file is opened now and kept open, so a writer's compaction that
    // deletes files during a long read (a verify of the whole log) cannot pull
    // them away; the tools raise the process's file limit for it.
    dbo.max_open_files = -1;
    s = rocksdb::DB::OpenForReadOnly(dbo, log->canonical_path_, descs, &log->handles_, &raw);
  } else {
    s = rocksdb::DB::Open(dbo, log->canonical_path_, descs, &log->handles_, &raw);
  }
  if (!s.ok()) return from_rocks(s, "opening the log at '" + log->canonical_path_ + "'");
  log->db_.reset(raw);
  log->handle_names_ = names;
  log->events_cf_ = log->handles_[1];
  log->max_group_bytes_ = options.max_group_bytes;
  {
    std::lock_guard l(log->mu_);
    OMNI_RETURN_IF_ERROR(log->load_head());
  }
  if (!options.skip_open_checks) OMNI_RETURN_IF_ERROR(log->verify_at_open());
  if (!options.read_only) OMNI_RETURN_IF_ERROR(log->put_marker());
  return log;
}

// RocksDB's Resume() moves to a new WAL only if some memtable holds data; with
// every memtable empty (just after open or a flush) it keeps writing to the WAL
// whose writer failed, and Debian's RocksDB then aborts on the next write. A
// WAL-less row in the otherwise unused default column family keeps one memtable
// non-empty at all times, so Resume() always switches.
Status EventLog::put_marker() {
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  rocksdb::Status s = db_->Put(wo, handles_[0], std::string(kWalSwitchMarker), rocksdb::Slice());
  if (!s.ok()) return from_rocks(s, "writing the WAL-switch marker");
  return Status();
}

Result<std::uint64_t> EventLog::current_wal() const {
  std::unique_ptr<rocksdb::LogFile> f;
  rocksdb::Status s = db_->GetCurrentWalFile(&f);
  if (!s.ok()) return from_rocks(s, "finding the current WAL");
  return f->LogNumber();
}

// The head is derived from the newest event rather than stored separately: the
// seq is its key, the hash is the SHA-256 of its bytes. One row less per group,
// and nothing that could disagree with the log.
Status EventLog::load_head() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_cf_));
  it->SeekToLast();
  if (!it->status().ok()) return from_rocks(it->status(), "reading the newest event");
  Seq seq = 0;
  Hash hash{};
  if (it->Valid()) {
    if (it->key().size() != 8) {
      return Status::corruption("newest event key has " + std::to_string(it->key().size()) +
                                " bytes, expected 8");
    }
    seq = decode_seq_key(it->key().ToStringView());
    hash = sha256(it->value().ToStringView());
  }
  head_hash_ = hash;
  head_seq_.store(seq, std::memory_order_release);
  return Status();
}

Status EventLog::verify_at_open() {
  const Seq head = head_seq();
  OMNI_ASSIGN_OR_RETURN(const std::optional<HeadAnchor> anchor, read_head_anchor(canonical_path_));
  if (anchor && anchor->seq > head) {
    return Status::corruption(
        "the log ends at seq " + std::to_string(head) + " but seq " + std::to_string(anchor->seq) +
        " was durable when the store was last closed or opened (" + std::string(kHeadAnchorFile) +
        "): " + std::to_string(anchor->seq - head) +
        " acknowledged event(s) are lost (a truncated MANIFEST or lost files); refusing to serve "
        "an older log as if it were current");
  }
  if (anchor && anchor->seq > 0) {
    rocksdb::PinnableSlice bytes;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), events_cf_, seq_key(anchor->seq), &bytes);
    if (s.IsNotFound()) OMNI_RETURN_IF_ERROR(find_gap(head));
    if (!s.ok()) return from_rocks(s, "reading event seq " + std::to_string(anchor->seq));
    if (sha256(bytes.ToStringView()) != anchor->hash) {
      return Status::corruption("event seq " + std::to_string(anchor->seq) +
                                " differs from the one recorded in " + std::string(kHeadAnchorFile) +
                                " (hash " + to_hex(anchor->hash) + "): the log was rewritten");
    }
  }
  // Every seq from 1 to the head is stored exactly once and never deleted, so the
  // events column family holds exactly `head` entries. Counting them costs one
  // table-properties read per SST file; only a mismatch (a gap, or the rare
  // over-count of a rewritten event) pays for a scan.
  rocksdb::TablePropertiesCollection props;
  rocksdb::Status s = db_->GetPropertiesOfAllTables(events_cf_, &props);
  if (!s.ok()) return from_rocks(s, "reading the event files' properties");
  std::int64_t count = 0;
  for (const auto& [file, p] : props) {
    count += static_cast<std::int64_t>(p->num_entries) - static_cast<std::int64_t>(p->num_deletions);
  }
  std::uint64_t v = 0;
  for (const char* prop : {"rocksdb.num-entries-active-mem-table", "rocksdb.num-entries-imm-mem-tables"}) {
    if (db_->GetIntProperty(events_cf_, prop, &v)) count += static_cast<std::int64_t>(v);
  }
  for (const char* prop : {"rocksdb.num-deletes-active-mem-table", "rocksdb.num-deletes-imm-mem-tables"}) {
    if (db_->GetIntProperty(events_cf_, prop, &v)) count -= static_cast<std::int64_t>(v);
  }
  if (count != static_cast<std::int64_t>(head)) OMNI_RETURN_IF_ERROR(find_gap(head));
  if (!read_only_ && (!anchor || anchor->seq != head)) {
    // What open recovered is durable now (RocksDB flushed the replayed WAL), so it
    // becomes the anchor. Failing to write it only weakens the next open's check.
    if (Status w = write_head_anchor(canonical_path_, {head, head_hash_}); !w.ok()) {
      rocksdb::Log(rocksdb::InfoLogLevel::WARN_LEVEL, db_->GetOptions().info_log, "%s",
                   w.to_string().c_str());
    }
  }
  return Status();
}

Status EventLog::find_gap(Seq head) const {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, events_cf_));
  Seq expected = 1;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != 8) {
      return Status::corruption("event key of " + std::to_string(it->key().size()) + " bytes");
    }
    const Seq seq = decode_seq_key(it->key().ToStringView());
    if (seq != expected) {
      return Status::corruption("the log has lost events: seq " + std::to_string(expected) +
                                (seq - 1 > expected ? ".." + std::to_string(seq - 1) : std::string()) +
                                " missing (the next present is " + std::to_string(seq) +
                                ", the head " + std::to_string(head) +
                                "), e.g. a WAL file was deleted; refusing to serve a log with a gap");
    }
    ++expected;
  }
  if (!it->status().ok()) return from_rocks(it->status(), "scanning the event keys");
  return Status();
}

EventLog::~EventLog() {
  if (db_) {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    for (auto* h : dropped_) db_->DestroyColumnFamilyHandle(h);
    db_->Close().PermitUncheckedError();
    if (stuck_resume_.joinable()) stuck_resume_.join();
    db_.reset();
  }
  if (!canonical_path_.empty() && !read_only_) {
    std::lock_guard l(open_paths_mu());
    open_paths().erase(canonical_path_);
  }
}

Status EventLog::close(std::chrono::steady_clock::time_point deadline) {
  if (!db_) return Status();
  Status result;
  bool writable = false;
  if (!read_only_) {
    std::lock_guard l(mu_);
    // Writes stopped: resume if the disk allows, so the flush below makes a batch
    // that reached the WAL before its write failed obsolete (otherwise the next
    // open replays it: the outcome of a write whose fsync failed is unknown).
    if (!write_error_.ok()) (void)resume_locked();
    writable = write_error_.ok();
  }
  if (writable) {
    rocksdb::FlushOptions fo;
    fo.allow_write_stall = true;
    rocksdb::Status s = db_->Flush(fo, handles_);
    if (!s.ok()) {
      result = from_rocks(s, "flushing at close (the WAL still holds every event)");
    } else {
      // Flushed: the head is in SST files now, and becomes the anchor open checks.
      result = write_head_anchor(canonical_path_, {head_seq(), head_hash()});
    }
  }
  // Background compactions are cancelled by Close(): let pending ones finish.
  auto wait_for_background = [&] {
    while (std::chrono::steady_clock::now() < deadline) {
      std::uint64_t busy = 0, v = 0;
      for (auto* h : handles_) {
        if (db_->GetIntProperty(h, "rocksdb.compaction-pending", &v)) busy += v;
      }
      if (db_->GetIntProperty("rocksdb.num-running-compactions", &v)) busy += v;
      if (db_->GetIntProperty("rocksdb.num-running-flushes", &v)) busy += v;
      if (busy == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  if (!read_only_) wait_for_background();
  // Each session's flush leaves one small file per column family, and since
  // event keys only grow RocksDB moves them down to L1 unmerged (a trivial move),
  // where nothing merges them until L1 reaches its 256 MB target: a store opened
  // and closed thousands of times piled up thousands of files. Merge a pile of
  // small L0/L1 files into one L1 file (cheap: they are small by definition).
  if (writable) {
    for (auto* h : handles_) {
      if (std::chrono::steady_clock::now() >= deadline) break;
      rocksdb::ColumnFamilyMetaData md;
      db_->GetColumnFamilyMetaData(h, &md);
      std::vector<std::string> files;
      std::uint64_t bytes = 0;
      for (const auto& level : md.levels) {
        if (level.level > 1) continue;
        for (const auto& f : level.files) {
          files.push_back(f.name);
          bytes += f.size;
        }
      }
      if (files.size() > kMaxSmallFiles && bytes < kSmallFilesBytes) {
        rocksdb::CompactionOptions co;
        co.compression = rocksdb::kDisableCompressionOption;  // the column family's, by level
        rocksdb::Status cs = db_->CompactFiles(co, h, files, 1);
        // Aborted: a background compaction took some of the files first, which
        // merges them as well. Anything else is the disk's trouble: report it.
        if (!cs.ok() && !cs.IsAborted() && !cs.IsBusy() && result.ok()) {
          result = from_rocks(cs, "merging small files at close");
        }
      }
    }
    wait_for_background();
  }
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  handles_.clear();
  for (auto* h : dropped_) db_->DestroyColumnFamilyHandle(h);
  dropped_.clear();
  rocksdb::Status s = db_->Close();
  if (stuck_resume_.joinable()) stuck_resume_.join();
  db_.reset();
  if (!s.ok() && result.ok()) result = from_rocks(s, "closing the log");
  return result;
}

rocksdb::ColumnFamilyHandle* EventLog::column_family(std::string_view name) const {
  std::lock_guard l(handles_mu_);
  for (std::size_t i = 0; i < handle_names_.size() && i < handles_.size(); ++i) {
    if (handle_names_[i] == name) return handles_[i];
  }
  return nullptr;
}

std::vector<std::string> EventLog::column_family_names() const {
  std::lock_guard l(handles_mu_);
  return handle_names_;
}

Result<rocksdb::ColumnFamilyHandle*> EventLog::create_column_family(const std::string& name) {
  OMNI_RETURN_IF_ERROR(create_column_families({name}));
  return column_family(name);
}

Status EventLog::create_column_families(const std::vector<std::string>& names) {
  std::vector<std::string> missing;
  for (const std::string& n : names) {
    if (column_family(n) == nullptr) missing.push_back(n);
  }
  if (missing.empty()) return Status();
  // One call: RocksDB rewrites its OPTIONS file (and syncs it) once per call.
  std::vector<rocksdb::ColumnFamilyHandle*> made;
  rocksdb::Status s = db_->CreateColumnFamilies(cf_options_, missing, &made);
  std::lock_guard l(handles_mu_);
  for (rocksdb::ColumnFamilyHandle* h : made) {  // those made before a failure too
    handles_.push_back(h);
    handle_names_.push_back(h->GetName());
  }
  if (!s.ok()) return from_rocks(s, "creating column families");
  return Status();
}

Status EventLog::drop_column_family(const std::string& name) { return drop_column_families({name}); }

Status EventLog::drop_column_families(const std::vector<std::string>& names) {
  std::vector<rocksdb::ColumnFamilyHandle*> drop;
  {
    std::lock_guard l(handles_mu_);
    for (const std::string& name : names) {
      for (std::size_t i = 0; i < handle_names_.size(); ++i) {
        if (handle_names_[i] != name) continue;
        rocksdb::ColumnFamilyHandle* h = handles_[i];
        // Out of handles_ (close flushes those) but alive until close: a reader may
        // still hold it, and RocksDB serves reads through a dropped family's handle.
        handles_.erase(handles_.begin() + static_cast<std::ptrdiff_t>(i));
        handle_names_.erase(handle_names_.begin() + static_cast<std::ptrdiff_t>(i));
        dropped_.push_back(h);
        drop.push_back(h);
        break;
      }
    }
  }
  if (drop.empty()) return Status();
  rocksdb::Status s = db_->DropColumnFamilies(drop);  // one OPTIONS rewrite, as above
  if (!s.ok()) return from_rocks(s, "dropping column families");
  return Status();
}

Status EventLog::exclusive(const std::function<Status()>& fn) {
  Writer w;
  w.req = nullptr;  // marks it: never part of a group
  std::unique_lock l(mu_);
  writers_.push_back(&w);
  while (&w != writers_.front()) w.cv.wait(l);
  l.unlock();
  Status s = fn();
  l.lock();
  writers_.pop_front();
  if (!writers_.empty()) writers_.front()->cv.notify_one();
  return s;
}

Hash EventLog::head_hash() const {
  std::lock_guard l(mu_);
  return head_hash_;
}

Status EventLog::write_error() const {
  std::lock_guard l(mu_);
  return write_error_;
}

Status EventLog::resume() {
  std::lock_guard l(mu_);
  // With write_error_ set no leader writes (each checks it under mu_ first), so no
  // group is in progress here.
  if (write_error_.ok()) return Status();
  return resume_locked();
}

Status EventLog::probe_space() {
  // A Resume() that fails for want of space makes RocksDB's error permanent, so
  // look first: the memtables must fit on disk (the flush that follows), and a
  // file the size of a small write must be writable and syncable through the Env.
  std::uint64_t mem = 0;
  db_->GetAggregatedIntProperty("rocksdb.cur-size-all-mem-tables", &mem);
  struct statvfs vfs {};
  if (statvfs(canonical_path_.c_str(), &vfs) == 0) {
    const std::uint64_t avail = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    const std::uint64_t need = mem + (4u << 20);
    if (avail < need) {
      return Status::io_error("not resuming writes: " + std::to_string(avail) +
                              " bytes free on the store's disk, " + std::to_string(need) + " needed");
    }
  }
  const std::string probe = canonical_path_ + "/RESUME-PROBE";
  std::unique_ptr<rocksdb::WritableFile> f;
  rocksdb::Status s = env_->NewWritableFile(probe, &f, rocksdb::EnvOptions());
  if (s.ok()) {
    const std::string block(1u << 20, '\0');
    s = f->Append(block);
    if (s.ok()) s = f->Sync();
    rocksdb::Status c = f->Close();
    if (s.ok()) s = c;
  }
  env_->DeleteFile(probe).PermitUncheckedError();
  if (!s.ok()) return from_rocks(s, "not resuming writes: a probe write failed");
  return Status();
}

Status EventLog::check_background() {  // mu_ held
  // Resume() first waits for every running flush and compaction, then flushes
  // every memtable and waits for that: a flush that can never finish would hold
  // it (and the log's mutex, and so every writer) for good. Look first, and
  // retry later instead of waiting.
  std::uint64_t flushes = 0, compactions = 0;
  db_->GetIntProperty("rocksdb.num-running-flushes", &flushes);
  db_->GetIntProperty("rocksdb.num-running-compactions", &compactions);
  if (flushes + compactions > 0) {
    return Status::io_error("not resuming writes yet: RocksDB is still running " + std::to_string(flushes) +
                            " flush(es) and " + std::to_string(compactions) +
                            " compaction(s) started before the failure");
  }
  // With nothing running, an immutable memtable that no flush is pending for was
  // left marked as being flushed by a flush that failed without rolling back
  // (RocksDB 7.8's atomic flush, PR 11872; see LogListener): Resume() would wait
  // for it for ever. Only a reopen clears that.
  for (std::size_t i = 0; i < handles_.size(); ++i) {
    std::uint64_t imm = 0, pending = 0;
    if (db_->GetIntProperty(handles_[i], "rocksdb.num-immutable-mem-table", &imm) && imm > 0 &&
        db_->GetIntProperty(handles_[i], "rocksdb.mem-table-flush-pending", &pending) && pending == 0) {
      resumable_ = false;
      write_error_ = Status(write_error_.code(),
                            write_error_.message() + "; RocksDB left " + std::to_string(imm) +
                                " immutable memtable(s) of column family '" + handle_names_[i] +
                                "' that no flush will pick up (a failed atomic flush that RocksDB "
                                "7.8 does not roll back), so writes stay stopped until the store is "
                                "reopened");
      return write_error_;
    }
  }
  return Status();
}

Status EventLog::bounded_resume() {
  // RocksDB 7.8 can wait for ever inside Resume() after a failed atomic flush on a
  // full disk (DBImpl::WaitForFlushMemTables with every background thread idle:
  // a flush request lost to the error; see LogListener). The signs are checked
  // first (check_background, flush_bailouts) but do not catch every case (a hang
  // was seen under load without them), so Resume() runs on a thread of its own and
  // the log waits for it at most kResumeTimeout. One that does not return leaves
  // writes stopped until a reopen; its thread is joined after the database closes
  // (Close() wakes a waiting flush with ShutdownInProgress).
  auto done = std::make_shared<std::promise<rocksdb::Status>>();
  std::future<rocksdb::Status> result = done->get_future();
  std::thread t([db = db_.get(), done] { done->set_value(db->Resume()); });
  if (result.wait_for(kResumeTimeout) == std::future_status::timeout) {
    stuck_resume_ = std::move(t);
    resumable_ = false;
    write_error_ = Status(write_error_.code(),
                          write_error_.message() + "; RocksDB's Resume() did not return within " +
                              std::to_string(kResumeTimeout.count()) +
                              " s (a RocksDB 7.8 recovery bug), so writes stay stopped until the "
                              "store is reopened");
    return write_error_;
  }
  t.join();
  rocksdb::Status s = result.get();
  if (!s.ok()) return from_rocks(s, "resuming writes");
  return Status();
}

Status EventLog::resume_locked() {
  next_resume_ = std::chrono::steady_clock::now() + resume_interval_;
  if (!resumable_) return write_error_;
  OMNI_RETURN_IF_ERROR(probe_space());
  if (const std::uint64_t n = listener_state_->flush_bailouts.load(); n > 0) {
    // Resume() would wait for ever (see ListenerState): fail fast instead.
    resumable_ = false;
    write_error_ = Status(write_error_.code(),
                          write_error_.message() + "; RocksDB 7.8 lost " + std::to_string(n) +
                              " flush request(s) to that error (a flush job that gave up without "
                              "flushing), after which its Resume() never returns, so writes stay "
                              "stopped until the store is reopened");
    return write_error_;
  }
  OMNI_RETURN_IF_ERROR(check_background());
  // Only a failed WAL append or sync (see LogListener) leaves a WAL writer that
  // must not be written through again; after a failed flush or compaction the
  // writes that were refused never reached the WAL, and keeping it is fine.
  Result<std::uint64_t> failed_wal = current_wal();
  OMNI_RETURN_IF_ERROR(bounded_resume());
  rocksdb::Status s;
  // The failed batch may lie in a WAL (written, then its sync failed). A flush
  // makes every WAL written so far obsolete, so it can never be replayed over the
  // seqs we are about to hand out again.
  rocksdb::FlushOptions fo;
  fo.allow_write_stall = true;
  s = db_->Flush(fo, handles_);
  if (!s.ok()) return from_rocks(s, "flushing to resume writes");
  OMNI_RETURN_IF_ERROR(put_marker());
  // Writing on through a writer that failed would abort the process. Resume()
  // moves to a new WAL only when some memtable holds data (the marker, unless a
  // memtable switch had just taken it); RocksDB 7.8 offers no other way to leave
  // a failed WAL writer than a reopen.
  Result<std::uint64_t> wal = current_wal();
  if (!failed_wal.ok() || !wal.ok() || *wal == *failed_wal) {
    resumable_ = false;
    write_error_ = Status(write_error_.code(), write_error_.message() +
                                                   "; RocksDB kept the WAL that failed, so writes "
                                                   "stay stopped until the store is reopened");
    return write_error_;
  }
  OMNI_RETURN_IF_ERROR(load_head());
  write_error_ = Status();
  return Status();
}

void EventLog::fail_queue_locked(Writer* w) {
  writers_.pop_front();
  if (!writers_.empty()) writers_.front()->cv.notify_one();
  w->status = Status(write_error_.code(), "writes are stopped until the log can resume (" +
                                              write_error_.message() + ")");
}

Status EventLog::append(AppendRequest* req) {
  if (req->events.empty()) return Status::invalid_argument("append of an empty request");
  if (read_only_) return Status::invalid_argument("the log at '" + canonical_path_ + "' is open read-only");
  Writer w;
  w.req = req;
  for (const auto& e : req->events) w.bytes += e.key.size() + e.payload.size() + 128;

  std::unique_lock l(mu_);
  writers_.push_back(&w);
  while (!w.done && &w != writers_.front()) w.cv.wait(l);
  if (w.done) return w.status;

  // We lead. After a failed write nothing is written until Resume() succeeds.
  if (!write_error_.ok()) {
    if (std::chrono::steady_clock::now() >= next_resume_) (void)resume_locked();  // on failure write_error_ stays
    if (!write_error_.ok()) {
      fail_queue_locked(&w);
      return w.status;
    }
  }

  if (listener_state_->marker_needed.exchange(false)) {
    if (Status m = put_marker(); !m.ok()) {
      write_error_ = m;
      fail_queue_locked(&w);
      return w.status;
    }
  }

  // Take a group: everyone queued behind us, up to max_group_bytes, and no sync
  // writer when we are not syncing.
  std::vector<Writer*> group;
  std::size_t bytes = 0;
  for (Writer* x : writers_) {
    if (!group.empty()) {
      if (!x->req) break;  // exclusive(): runs alone when it reaches the front
      if (x->req->sync && !w.req->sync) break;
      if (bytes + x->bytes > max_group_bytes_) break;
    }
    group.push_back(x);
    bytes += x->bytes;
  }
  l.unlock();

  // Only the front writer runs this, so the head and the projector are ours.
  Status group_status = write_group(group);

  l.lock();
  if (!group_status.ok()) {
    write_error_ = group_status;
    next_resume_ = std::chrono::steady_clock::now() + resume_interval_;
  }
  for (Writer* x : group) {
    writers_.pop_front();
    if (x != &w) {
      if (!group_status.ok() && x->status.ok()) x->status = group_status;
      x->done = true;
      x->cv.notify_one();
    }
  }
  if (!writers_.empty()) writers_.front()->cv.notify_one();
  committed_cv_.notify_all();
  if (!group_status.ok() && w.status.ok()) w.status = group_status;
  return w.status;
}

Status EventLog::write_group(std::vector<Writer*>& group) {
  rocksdb::WriteBatch batch;
  Seq seq = head_seq_.load(std::memory_order_relaxed);
  Hash hash;
  {
    std::lock_guard l(mu_);
    hash = head_hash_;
  }
  const std::int64_t ts = now_ns();
  bool sync = false;
  bool any = false;
  std::string encoded;
  encoded.reserve(512);

  for (Writer* w : group) {
    AppendRequest& req = *w->req;
    const Seq first = seq + 1;
    if (projector_) {
      if (Status st = projector_->expand(req); !st.ok()) {
        w->status = st;
        continue;
      }
    }
    const Hash hash_before = hash;
    batch.SetSavePoint();
    for (std::size_t i = 0; i < req.events.size(); ++i) {
      const EventDraft& d = req.events[i];
      EventView v{first + i, ts, d.type, req.identity, d.key, d.payload, &hash, &d.attrs};
      encode_event(v, &encoded);
      batch.Put(events_cf_, seq_key(first + i), encoded);
      hash = sha256(encoded);
    }
    // Set before staging: views keep the timestamp (a decision's TTL runs from it).
    req.first_seq = first;
    req.timestamp_ns = ts;
    Status st = projector_ ? projector_->stage(req, first, &batch) : Status();
    if (!st.ok()) {
      batch.RollbackToSavePoint().PermitUncheckedError();
      hash = hash_before;
      req.first_seq = 0;
      w->status = st;
      continue;
    }
    batch.PopSavePoint().PermitUncheckedError();
    seq = first + req.events.size() - 1;
    sync = sync || req.sync;
    any = true;
  }
  if (!any) {
    if (projector_) projector_->finish_group(false);
    return Status();  // every writer failed its own precondition
  }

  if (projector_) projector_->before_write(seq, &batch);
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  rocksdb::Status s = db_->Write(wo, &batch);
  groups_.fetch_add(1, std::memory_order_relaxed);
  if (projector_) projector_->finish_group(s.ok());
  if (!s.ok()) {
    for (Writer* w : group) {
      if (w->status.ok()) w->req->first_seq = 0;
    }
    return from_rocks(s, "writing a group of " + std::to_string(group.size()) + " writer(s)");
  }
  // The hash and seq change together under mu_, so verify_chain() and the next
  // leader always read a matching pair.
  std::vector<std::function<void(Status)>> ready;
  {
    std::lock_guard l(mu_);
    head_hash_ = hash;
    head_seq_.store(seq, std::memory_order_release);
    while (!head_waiters_.empty() && head_waiters_.begin()->first <= seq) {
      ready.push_back(std::move(head_waiters_.begin()->second));
      head_waiters_.erase(head_waiters_.begin());
    }
  }
  for (auto& fn : ready) fn(Status());
  if (listener_) {
    for (Writer* w : group) {
      if (w->status.ok() && w->req->listen) listener_->committed(*w->req);
    }
  }
  return Status();
}

Result<Event> EventLog::read(Seq seq) const {
  rocksdb::PinnableSlice v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), events_cf_, seq_key(seq), &v);
  if (s.IsNotFound()) return Status::not_found("no event with seq " + std::to_string(seq));
  if (!s.ok()) return from_rocks(s, "reading event seq " + std::to_string(seq));
  return decode_event(v.ToStringView(), seq);
}

Status EventLog::scan(Seq from, const std::function<bool(const Event&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_cf_));
  Event e;
  std::vector<std::uint64_t> scratch;
  for (it->Seek(seq_key(from)); it->Valid(); it->Next()) {
    if (it->key().size() != 8) {
      return Status::corruption("event key of " + std::to_string(it->key().size()) + " bytes");
    }
    OMNI_RETURN_IF_ERROR(
        decode_event_into(it->value().ToStringView(), decode_seq_key(it->key().ToStringView()), &e, &scratch));
    if (!fn(e)) return Status();
  }
  if (!it->status().ok()) return from_rocks(it->status(), "scanning the log");
  return Status();
}

EventReader::EventReader(const EventLog& log, Seq from, Seq to, bool with_payloads)
    : upper_(EventLog::seq_key(to + 1)), upper_slice_(upper_), next_(from), to_(to), with_payloads_(with_payloads) {
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice_;
  ro.readahead_size = 2 << 20;  // one long forward pass: read ahead in big steps
  ro.fill_cache = false;         // ... whose blocks are not read again soon
  it_.reset(log.db()->NewIterator(ro, log.events_column_family()));
  it_->Seek(EventLog::seq_key(from));
}

Result<bool> EventReader::next(Event* out) {
  if (next_ > to_) return false;
  if (!it_->Valid()) {
    if (!it_->status().ok()) return from_rocks(it_->status(), "reading the log");
    return Status::corruption("event seq " + std::to_string(next_) + " is missing (the read ends at " +
                              std::to_string(to_) + ")");
  }
  const Seq seq = it_->key().size() == 8 ? EventLog::decode_seq_key(it_->key().ToStringView()) : 0;
  if (seq != next_) {
    return Status::corruption("event seq " + std::to_string(next_) + " is missing (found " +
                              (seq == 0 ? std::string("a malformed key") : std::to_string(seq)) + ")");
  }
  OMNI_RETURN_IF_ERROR(decode_event_into(it_->value().ToStringView(), seq, out, &scratch_, with_payloads_));
  ++next_;
  it_->Next();
  return true;
}

Status EventLog::scan_range(Seq from, Seq to, const std::function<Status(const Event&)>& fn) const {
  if (from == 0) return Status::invalid_argument("scan_range(0, ...): seqs start at 1");
  EventReader reader(*this, from, to);
  Event e;
  for (;;) {
    OMNI_ASSIGN_OR_RETURN(const bool more, reader.next(&e));
    if (!more) return Status();
    OMNI_RETURN_IF_ERROR(fn(e));
  }
}

void EventLog::interrupt_waiters() {
  std::multimap<Seq, std::function<void(Status)>> waiters;
  {
    std::lock_guard l(mu_);
    interrupted_ = true;
    committed_cv_.notify_all();
    waiters.swap(head_waiters_);
  }
  for (auto& [seq, fn] : waiters) fn(Status::unavailable("the store is closing"));
}

void EventLog::notify_when(Seq seq, std::function<void(Status)> fn) {
  {
    std::lock_guard l(mu_);
    if (!interrupted_ && head_seq() < seq) {
      head_waiters_.emplace(seq, std::move(fn));
      return;
    }
  }
  fn(head_seq() >= seq ? Status() : Status::unavailable("the store is closing"));
}

Result<EventBatch> EventLog::read_from(Seq from, ReadLimits limits) const {
  EventBatch b;
  b.head = head_seq();  // events up to it are visible: the head is published after
  b.next = from;
  if (from == 0) return Status::invalid_argument("read_from(0): seqs start at 1");
  if (from > b.head) return b;
  const std::string upper = seq_key(b.head + 1);
  const rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, events_cf_));
  std::size_t bytes = 0;
  // Decoded in place, with one aligned copy buffer for the whole read: a sink
  // worker reads a thousand events per batch, and a scratch buffer and two moves
  // of every Event were a tenth of its time.
  b.events.reserve(static_cast<std::size_t>(std::min<Seq>({b.head - from + 1, limits.max_events, 4096})));
  std::vector<std::uint64_t> scratch;
  for (it->Seek(seq_key(from)); it->Valid(); it->Next()) {
    const Seq seq = it->key().size() == 8 ? decode_seq_key(it->key().ToStringView()) : 0;
    if (seq != b.next) {
      return Status::corruption("event seq " + std::to_string(b.next) + " is missing (found " +
                                (seq == 0 ? std::string("a malformed key") : std::to_string(seq)) +
                                ")");
    }
    const std::size_t size = it->value().size();
    if (!b.events.empty() &&
        (b.events.size() >= limits.max_events || bytes + size > limits.max_bytes)) {
      break;
    }
    OMNI_RETURN_IF_ERROR(decode_event_into(it->value().ToStringView(), seq, &b.events.emplace_back(), &scratch));
    bytes += size;
    b.next = seq + 1;
  }
  if (!it->status().ok()) return from_rocks(it->status(), "reading the log");
  if (!it->Valid() && b.next <= b.head) {  // ran out of events before the head
    return Status::corruption("event seq " + std::to_string(b.next) + " is missing (the head is " +
                              std::to_string(b.head) + ")");
  }
  return b;
}

Status EventLog::wait_until(Seq seq, std::chrono::steady_clock::time_point deadline,
                            std::chrono::nanoseconds timeout) const {
  std::unique_lock l(mu_);
  auto done = [&] { return interrupted_ || head_seq() >= seq; };
  if (deadline == std::chrono::steady_clock::time_point::max()) {
    committed_cv_.wait(l, done);
  } else {
    committed_cv_.wait_until(l, deadline, done);
  }
  if (head_seq() >= seq) return Status();
  if (interrupted_) return Status::unavailable("the store is closing");
  return Status::timed_out("seq " + std::to_string(seq) + " not committed within " +
                           std::to_string(timeout.count() / 1000000) + " ms (head is " +
                           std::to_string(head_seq()) + ")");
}

Result<ChainCheck> EventLog::verify_chain() const {
  // The head first, then a scan bounded by it: a batch is visible in RocksDB
  // before the head is published, so events past this head may exist already.
  Seq head;
  Hash head_hash;
  {
    std::lock_guard l(mu_);
    head = head_seq_.load(std::memory_order_relaxed);
    head_hash = head_hash_;
  }
  ChainCheck c;
  Hash prev{};
  Seq expect = 1;
  const std::string upper = seq_key(head + 1);
  const rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, events_cf_));
  auto fail = [&](Seq at, std::string problem) {
    c.first_bad_seq = at;
    c.problem = std::move(problem);
    return c;
  };
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const Seq seq = it->key().size() == 8 ? decode_seq_key(it->key().ToStringView()) : 0;
    if (seq != expect) {
      return fail(expect, "expected seq " + std::to_string(expect) + ", found " +
                              (seq == 0 ? std::string("a malformed key") : std::to_string(seq)));
    }
    std::string_view bytes = it->value().ToStringView();
    Result<Event> e = decode_event(bytes, seq);
    if (!e.ok()) return fail(seq, e.status().message());
    if (e->prev_hash != prev) {
      return fail(seq, "prev_hash " + to_hex(e->prev_hash) + " does not match the hash of seq " +
                           std::to_string(seq - 1) + " (" + to_hex(prev) + ")");
    }
    prev = sha256(bytes);
    ++c.events_checked;
    ++expect;
  }
  if (!it->status().ok()) return from_rocks(it->status(), "verifying the log");
  c.head_hash = prev;
  if (c.events_checked != head) {
    return fail(expect, "the log ends at seq " + std::to_string(c.events_checked) +
                            " but its head is seq " + std::to_string(head));
  }
  if (prev != head_hash) {
    return fail(head, "the newest event hashes to " + to_hex(prev) + ", not the head hash " +
                          to_hex(head_hash));
  }
  return c;
}

}  // namespace omni::log
