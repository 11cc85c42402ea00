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
#include <rocksdb/write_batch.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "omni/log/event.h"

namespace omni::log {

// One event a writer asks to append.
struct EventDraft {
  EventType type = EventType::kDataStored;
  std::string key;
  std::string payload;
  // Precondition, checked by the Projector against committed state plus the earlier
  // writes of the same group: the version the key must be at (0 = must not exist).
  std::optional<Seq> expected_version;
  // Set by the caller when it wants prior_version/prior_payload filled in.
  bool want_prior = false;
  // Filled by the Projector while staging: the key's state before this event.
  Seq prior_version = 0;
  std::optional<std::string> prior_payload;
};

// A writer's request: all its events are written atomically, with consecutive
// sequence numbers, or none is.
struct AppendRequest {
  std::vector<EventDraft> events;
  std::string identity;
  bool sync = false;  // fsync the WAL before returning
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
  // Checks req's preconditions against committed state plus the requests staged
  // earlier in this group, then adds the derived rows for its events (the i-th has
  // seq first_seq + i) to *batch. On error it must leave no trace in its own
  // overlay; the log rolls *batch back to before the request.
  virtual Status stage(AppendRequest& req, Seq first_seq, rocksdb::WriteBatch* batch) = 0;
  // The group's batch was written (committed = true) or failed.
  virtual void finish_group(bool committed) = 0;
};

struct EventLogOptions {
  std::string path;                               // RocksDB directory (created if missing)
  std::vector<std::string> extra_column_families;  // for the projections layer
  std::size_t max_group_bytes = 1 << 20;          // a group stops growing past this
  std::size_t write_buffer_size = 64 << 20;       // RocksDB memtable size per CF
};

struct ChainCheck {
  Seq events_checked = 0;
  Seq first_bad_seq = 0;  // 0 = the chain is intact
  std::string problem;    // what was wrong at first_bad_seq
  Hash head_hash{};
};

class EventLog {
 public:
  // Opens (creating if missing) the log at options.path. A torn WAL tail is dropped
  // (point-in-time recovery): the log reopens with its intact prefix.
  static Result<std::unique_ptr<EventLog>> open(EventLogOptions options);

  EventLog(const EventLog&) = delete;  // owns the RocksDB handle
  EventLog& operator=(const EventLog&) = delete;
  ~EventLog();

  // Must be called before the first append; `p` must outlive the log.
  void set_projector(Projector* p) { projector_ = p; }

  // Appends req->events (see AppendRequest). kConflict/kInvalidArgument from the
  // Projector leave nothing written; kIOError when RocksDB failed the write.
  Status append(AppendRequest* req);

  // The event at `seq`: kNotFound when absent, kCorruption when its bytes fail
  // verification.
  Result<Event> read(Seq seq) const;
  // Calls fn on each event with seq >= from in order until fn returns false.
  // Stops with kCorruption at the first undecodable event.
  Status scan(Seq from, const std::function<bool(const Event&)>& fn) const;

  Seq head_seq() const { return head_seq_.load(std::memory_order_acquire); }
  // Number of WriteBatches written (each holds one group of writers).
  std::uint64_t group_count() const { return groups_.load(std::memory_order_relaxed); }
  Hash head_hash() const;
  // Waits until head_seq() >= seq; kTimedOut after `timeout`.
  Status wait_for(Seq seq, std::chrono::nanoseconds timeout) const;

  // Walks the whole log checking decode, seq continuity and the SHA-256 chain. IO
  // errors are a non-OK Result; a broken chain is reported in
  // ChainCheck::first_bad_seq. ChainCheck::head_hash is the hash to anchor
  // externally (e.g. publish it) to detect a rewrite of the whole log.
  Result<ChainCheck> verify_chain() const;

  // For the layers above: the database and a column family by name (nullptr if the
  // name was not requested at open).
  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* column_family(std::string_view name) const;

  // Big-endian seq: RocksDB's bytewise order is then sequence order.
  static std::string seq_key(Seq seq);
  // The inverse of seq_key; `key` must hold at least 8 bytes (the first 8 are read).
  static Seq decode_seq_key(std::string_view key);

 private:
  struct Writer;
  EventLog() = default;
  Status write_group(std::vector<Writer*>& group);

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::vector<std::string> handle_names_;
  rocksdb::ColumnFamilyHandle* events_cf_ = nullptr;
  Projector* projector_ = nullptr;
  std::size_t max_group_bytes_ = 0;

  mutable std::mutex mu_;
  mutable std::condition_variable committed_cv_;
  std::deque<Writer*> writers_;  // guarded by mu_
  Hash head_hash_{};             // guarded by mu_; written by the leader
  std::atomic<Seq> head_seq_{0};
  std::atomic<std::uint64_t> groups_{0};
};

}  // namespace omni::log
