// EventLog: the append-only, hash-chained event log over RocksDB.
// Internal to the engine (not installed).
//
//   writers ──► queue ──► leader: check + stage (Projector) ──► one WriteBatch
//                          │  events (seq BE64 → FlatBuffer)
//                          │  derived rows (state, key index, …) from the Projector
//                          └► one rocksdb::DB::Write (fsync if any writer asked) ──► wake group
//
// Group commit follows LevelDB's DBImpl::Write: writers queue; the writer at the front
// becomes the leader, takes a group of queued writers, assigns them consecutive
// sequence numbers, chains their hashes, writes one batch and wakes the rest. A
// non-sync leader does not take sync writers (they lead the next group) so a sync
// write never waits behind a batch that will not fsync.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "omni/log/deadline.h"
#include "omni/log/event.h"

namespace omni::log {

// The log's own bookkeeping: reader cursors and projection checkpoints.
inline constexpr std::string_view kMetaCf = "meta";

// One event a writer asks to append.
struct EventDraft {
  EventType type = EventType::DataStored;
  std::string key;
  std::string payload;
  EventAttrs attrs;  // relationship, version and policy fields
};

// What the layer above attaches to a request for its Projector: the preconditions
// it checks going in and what staging learned coming out (a key's prior state, …).
// Opaque to the log, which only carries it.
class RequestContext {
 public:
  virtual ~RequestContext() = default;
};

// A writer's request: all its events are written atomically, with consecutive
// sequence numbers, or none is.
struct AppendRequest {
  std::vector<EventDraft> events;
  std::string identity;
  bool sync = false;  // fsync the WAL before returning
  // Tell the CommitListener when this request commits (see CommitListener).
  bool listen = false;
  // For the Projector; may be null. Borrowed: must outlive append().
  RequestContext* context = nullptr;
  // Outputs, valid when append() returned OK.
  Seq first_seq = 0;
  std::int64_t timestamp_ns = 0;
};

// Derives durable rows from events inside the log's WriteBatch. Implemented by the
// projections layer.
// [Threading] Called only by the current group leader, one group at a time, with
// requests in sequence order; never concurrently with itself.
class Projector {
 public:
  virtual ~Projector() = default;
  // Before req's events are encoded: may append events that the request implies
  // given committed state plus this group's earlier requests (a delete removes the
  // key's relationships), so they commit in the same group. Appended events follow
  // the caller's. On error the request fails and nothing of it is written.
  virtual Status expand(AppendRequest& req) {
    (void)req;
    return Status();
  }
  // Checks req's preconditions against committed state plus the requests staged
  // earlier in this group, then adds the derived rows for its events (the i-th has
  // seq first_seq + i) to *batch. On error it must leave no trace in its own
  // overlay; the log rolls *batch back to before the request.
  virtual Status stage(AppendRequest& req, Seq first_seq, rocksdb::WriteBatch* batch) = 0;
  // Once per group, after every request was staged and before the batch is
  // written, when at least one request was staged: last_seq is the group's last.
  virtual void before_write(Seq last_seq, rocksdb::WriteBatch* batch) { (void)last_seq, (void)batch; }
  // The group's batch was written (committed = true) or failed.
  virtual void finish_group(bool committed) = 0;
};

// Told of each committed request with `listen` set, by the group leader, in
// sequence order, before the next group can commit: what needs commit order (the
// ordered delivery of async notifications) takes its place in line here.
// [Threading] Never concurrently with itself; must be quick and must not append.
class CommitListener {
 public:
  virtual ~CommitListener() = default;
  virtual void committed(const AppendRequest& req) = 0;
};

struct EventLogOptions {
  // RocksDB directory, created with any missing parents (as `mkdir -p`). No NUL.
  std::string path;
  std::vector<std::string> extra_column_families;  // for the projections layer
  std::size_t max_group_bytes = 1 << 20;          // a group stops growing past this
  std::size_t write_buffer_size = 64 << 20;       // RocksDB memtable size per CF
  // RocksDB's block cache (uncompressed blocks), shared by every column family.
  // 0: RocksDB's own default (8 MiB per column family).
  std::size_t block_cache_size = 64 << 20;
  // Where RocksDB's own info log goes. Null: nowhere. RocksDB's default (a LOG file
  // in the store) is never used: on a full disk Debian's build aborts writing it.
  std::shared_ptr<rocksdb::Logger> info_log;
  // RocksDB's Env (null: the default). Tests inject faults through it.
  rocksdb::Env* env = nullptr;
  // While writes are refused after a failure, an append tries RocksDB's Resume() at
  // most this often (a disk that was full may have room again).
  std::chrono::milliseconds resume_interval{1000};
  // Damage inside a WAL (not a torn tail): false = point-in-time recovery keeps the
  // events before it, drops the rest, and open reports it (recovery_report());
  // true = open refuses with kCorruption.
  bool refuse_damaged_wal = false;
  // Open for reading only (RocksDB's OpenForReadOnly), as the `omni` tools do: no
  // lock is taken, so it works while another process (or a Storage in this one)
  // holds the store open for writing, and it sees the log as it was at open (the
  // WALs replayed into memory). Nothing is created or written: no directory,
  // column family, anchor or marker; append() is kInvalidArgument. A path with no
  // store is kNotFound. Every column family the store has is opened (requested
  // extra ones it lacks are left out: column_family() returns nullptr for them).
  bool read_only = false;
  // With read_only only: skip open's refusal of a log with a gap or one that
  // differs from its head anchor, for tools that check the log themselves and
  // must open a damaged store to say where it is damaged (`omni replay verify`).
  bool skip_open_checks = false;
};

// What open found in the WAL (see EventLogOptions::refuse_damaged_wal).
struct RecoveryReport {
  bool wal_damaged = false;
  Seq recovered_head = 0;      // the newest event kept
  Seq events_beyond_damage = 0;  // events in the WAL after the damage, dropped
  std::string detail;          // empty when nothing was wrong
};

// Bounds of one read_from() call. At least one event is returned when any is due,
// however large.
struct ReadLimits {
  std::size_t max_events = 1024;
  std::size_t max_bytes = 4u << 20;  // encoded event bytes
};

// What read_from() returns: events with consecutive seqs starting at the requested
// one, none past `head`.
struct EventBatch {
  std::vector<Event> events;
  Seq head = 0;  // the head when the read started
  Seq next = 0;  // where to read from next: the last event's seq + 1, or `from`
};

struct ChainCheck {
  Seq events_checked = 0;
  Seq first_bad_seq = 0;  // 0 = the chain is intact
  std::string problem;    // what was wrong at first_bad_seq
  Hash head_hash{};
};

struct ListenerState;  // event_log.cc
class EventLog;

// A forward pass over the events with seq in [from, to], from one RocksDB
// iterator (its own snapshot): the bulk pass of a rebuild, the tools' full
// passes. Not thread-safe; it must not outlive its EventLog.
class EventReader {
 public:
  // `with_payloads` false: events come without their payloads (decode_event_into).
  EventReader(const EventLog& log, Seq from, Seq to, bool with_payloads = true);
  // Decodes the next event into *out, reusing out's strings: true, or false after
  // `to`. kCorruption naming the seq when one is missing or undecodable (a `to`
  // past the head is missing events too: read head_seq() first).
  Result<bool> next(Event* out);

 private:
  std::string upper_;
  rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
  std::vector<std::uint64_t> scratch_;
  Seq next_;
  Seq to_;
  bool with_payloads_;
};

class EventLog {
 public:
  // Opens (creating if missing) the log at options.path. A torn WAL tail is dropped
  // (point-in-time recovery): the log reopens with its intact prefix. Refuses:
  // kInvalidArgument for a path with a NUL byte; kIOError when the directory cannot
  // be created or the store is already open in this process (under any spelling of
  // its path: it is canonicalised first); kCorruption when the directory holds a
  // store's files but no CURRENT file (never creates a new store over them).
  // Verifies what it will serve, refusing with kCorruption: the log must not end
  // before, or differ at, the head anchor (head_anchor.h), and must hold every seq
  // from 1 to its head (a lost WAL file leaves a gap). Cheap: the events are
  // counted from RocksDB's table properties; only a count that does not match
  // scans the keys, to name the first missing seq.
  static Result<std::unique_ptr<EventLog>> open(EventLogOptions options);

  EventLog(const EventLog&) = delete;  // owns the RocksDB handle
  EventLog& operator=(const EventLog&) = delete;
  // Closes without waiting for background work (see close()).
  ~EventLog();

  // Flushes the memtables (so the next open replays no WAL) and lets pending
  // compactions finish until `deadline` (so short sessions do not pile up L0
  // files), then closes the database. Appends must have stopped. Idempotent.
  Status close(std::chrono::steady_clock::time_point deadline);

  // Must be called before the first append; `p` must outlive the log.
  void set_projector(Projector* p) { projector_ = p; }
  // Must be called before the first append; `l` must outlive the log.
  void set_commit_listener(CommitListener* l) { listener_ = l; }

  // Appends req->events (see AppendRequest). kConflict/kInvalidArgument from the
  // Projector leave nothing written; kIOError when RocksDB failed the write.
  // A failed write is sticky (LevelDB's rule): every later append fails with the
  // same error until a Resume() succeeds (tried at most once per resume_interval,
  // by append or resume()) or the log is reopened — no seq or hash is reused
  // while the outcome of the failed batch is unknown.
  Status append(AppendRequest* req);
  // The error that stopped writes, or OK.
  Status write_error() const;
  // Tries RocksDB's Resume() and a flush now; on success writes are accepted again,
  // from the head re-read from disk. OK when writes were not stopped.
  Status resume();

  const RecoveryReport& recovery_report() const { return recovery_; }
  // Whether the log was opened with EventLogOptions::read_only.
  bool read_only() const { return read_only_; }

  // The event at `seq`: kNotFound when absent, kCorruption when its bytes fail
  // verification.
  Result<Event> read(Seq seq) const;
  // For sinks and tools: events with seq in [from, head at the call], oldest first,
  // up to `limits`. Later appends are not included (the head is read first and
  // bounds the scan), so a reader sees a consistent prefix. kCorruption when an
  // event is missing or fails verification (naming the seq).
  Result<EventBatch> read_from(Seq from, ReadLimits limits = {}) const;

  // Calls fn(OK) once head_seq() >= seq: at once on this thread if it already
  // is, else on the thread of the group leader that moved the head past it, so
  // fn must be quick (post to an executor). fn(kUnavailable) when
  // interrupt_waiters() runs (closing) before that.
  void notify_when(Seq seq, std::function<void(Status)> fn);

  // Calls fn on each event with seq >= from in order until fn returns false.
  // Stops with kCorruption at the first undecodable event.
  Status scan(Seq from, const std::function<bool(const Event&)>& fn) const;
  // Calls fn on every event with seq in [from, to], in order (an EventReader).
  // The Event passed is reused between calls: copy what must outlive the call.
  // Stops at fn's first error (returned) or the reader's.
  Status scan_range(Seq from, Seq to, const std::function<Status(const Event&)>& fn) const;

  Seq head_seq() const { return head_seq_.load(std::memory_order_acquire); }
  // Number of WriteBatches written (each holds one group of writers).
  std::uint64_t group_count() const { return groups_.load(std::memory_order_relaxed); }
  Hash head_hash() const;
  // Waits until head_seq() >= seq; kTimedOut after `timeout` (saturating: a huge
  // timeout waits as long as it takes); kUnavailable once interrupt_waiters() ran.
  template <typename Rep, typename Period>
  Status wait_for(Seq seq, std::chrono::duration<Rep, Period> timeout) const;
  // Wakes every wait_for() with kUnavailable, now and later (the store is closing).
  void interrupt_waiters();

  // Walks the log up to the head read at the call (safe on a live log: later
  // appends are not looked at) checking decode, seq continuity and the SHA-256
  // chain, and that the last event hashes to the head. IO errors are a non-OK
  // Result; a broken chain is reported in ChainCheck::first_bad_seq. ChainCheck::head_hash is the hash to anchor
  // externally (e.g. publish it) to detect a rewrite of the whole log.
  Result<ChainCheck> verify_chain() const;

  // For the layers above: the database and a column family by name (nullptr if the
  // name was not requested at open).
  rocksdb::DB* db() const { return db_.get(); }
  // The store's directory, canonical (scratch files of a bulk load go under it).
  const std::string& path() const { return canonical_path_; }
  rocksdb::ColumnFamilyHandle* column_family(std::string_view name) const;
  // The events' column family (seq_key(seq) -> encoded event), for tools that read
  // the stored bytes themselves (an event's hash is the SHA-256 of those bytes).
  rocksdb::ColumnFamilyHandle* events_column_family() const { return events_cf_; }
  // Every column family open now (open opens all the store has).
  std::vector<std::string> column_family_names() const;
  // The families open created because an existing store lacked them (a
  // projection new to the store, or one whose family was dropped behind its back).
  const std::vector<std::string>& created_at_open() const { return created_at_open_; }
  // A new column family with the log's options (the existing one if it is open).
  Result<rocksdb::ColumnFamilyHandle*> create_column_family(const std::string& name);
  // Drops it; its handle stays valid for reads until close (readers may hold it).
  Status drop_column_family(const std::string& name);
  // The same for several in one RocksDB call each (which rewrites and syncs the
  // OPTIONS file once, not once per family). Names not open are skipped by drop.
  Status create_column_families(const std::vector<std::string>& names);
  Status drop_column_families(const std::vector<std::string>& names);

  // Runs fn as if it were a group leader: after every group ahead of it committed
  // and before any later one starts, so the head and the projections stand still
  // while it runs (ProjectionSet::rebuild swaps generations this way). fn must
  // not append.
  Status exclusive(const std::function<Status()>& fn);

  // Big-endian seq: RocksDB's bytewise order is then sequence order.
  static std::string seq_key(Seq seq);
  // The inverse of seq_key; `key` must hold at least 8 bytes (the first 8 are read).
  static Seq decode_seq_key(std::string_view key);

 private:
  struct Writer;
  EventLog() = default;
  Status write_group(std::vector<Writer*>& group);
  Status load_head();                // head seq and hash from the newest event
  Status verify_at_open();           // the head anchor and a gap-free log (see open())
  Status find_gap(Seq expected) const;  // kCorruption naming the first missing seq
  Status resume_locked();            // mu_ held; no group in progress
  Status probe_space();              // whether the disk has room to resume
  Status check_background();         // whether RocksDB's Resume() can finish now
  Status bounded_resume();           // mu_ held: Resume(), waited for at most a few seconds
  Status put_marker();               // see event_log.cc
  Result<std::uint64_t> current_wal() const;
  void fail_queue_locked(Writer* w);  // mu_ held; w is the front writer

  std::string canonical_path_;
  bool read_only_ = false;  // see EventLogOptions::read_only
  rocksdb::Env* env_ = nullptr;
  RecoveryReport recovery_;
  std::chrono::milliseconds resume_interval_{1000};

  // The Env RocksDB is given: env_ with WAL preallocation that sets the file size
  // (see event_log.cc). Declared before db_, so it outlives the database.
  std::unique_ptr<rocksdb::Env> db_env_;
  std::unique_ptr<rocksdb::DB> db_;
  mutable std::mutex handles_mu_;  // handles_ and handle_names_ change at runtime (rebuild)
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::vector<std::string> handle_names_;
  std::vector<rocksdb::ColumnFamilyHandle*> dropped_;  // destroyed at close
  std::vector<std::string> created_at_open_;
  rocksdb::ColumnFamilyOptions cf_options_;
  rocksdb::ColumnFamilyHandle* events_cf_ = nullptr;
  Projector* projector_ = nullptr;
  CommitListener* listener_ = nullptr;
  std::size_t max_group_bytes_ = 0;

  Status wait_until(Seq seq, std::chrono::steady_clock::time_point deadline,
                    std::chrono::nanoseconds timeout) const;

  mutable std::mutex mu_;
  bool interrupted_ = false;     // guarded by mu_
  std::multimap<Seq, std::function<void(Status)>> head_waiters_;  // guarded by mu_
  mutable std::condition_variable committed_cv_;
  std::deque<Writer*> writers_;  // guarded by mu_
  Hash head_hash_{};             // guarded by mu_; written by the leader
  std::atomic<Seq> head_seq_{0};  // written under mu_ with head_hash_
  Status write_error_;           // guarded by mu_: sticky once a write failed
  bool resumable_ = true;        // guarded by mu_: false once only a reopen can help
  // What RocksDB's listener and info log saw (see event_log.cc).
  std::shared_ptr<ListenerState> listener_state_;
  std::chrono::steady_clock::time_point next_resume_;  // guarded by mu_
  std::thread stuck_resume_;  // guarded by mu_: a Resume() that did not return (joined at close)
  std::atomic<std::uint64_t> groups_{0};
};

template <typename Rep, typename Period>
Status EventLog::wait_for(Seq seq, std::chrono::duration<Rep, Period> timeout) const {
  const auto now = std::chrono::steady_clock::now();
  return wait_until(seq, deadline_after<std::chrono::steady_clock>(now, timeout),
                    saturating_cast<std::chrono::nanoseconds>(timeout));
}

}  // namespace omni::log
