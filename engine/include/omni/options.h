// Options of Storage::open() and of each write. Plain structs: every field has a
// default and says what it does.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "omni/types.h"

namespace spdlog {
class logger;
}
namespace rocksdb {
class Env;
}

namespace omni {

// How open treats damage inside a WAL file (a bad record before its end; a torn
// tail from a crash mid-write is always dropped quietly).
enum class WalRecovery {
  // Keep the events before the damage and drop the rest (RocksDB's point-in-time
  // recovery); open succeeds, logs how many events were dropped and check_health()
  // reports it as degraded.
  kPointInTime,
  // Refuse to open (kCorruption) and change nothing, so the files can be saved.
  kAbsoluteConsistency,
};

// How a write involves the backends (set_sync_strategy() changes it at runtime).
// Whatever the strategy, the write is in the local log first and every backend
// catches up from the log; the strategy decides what the call waits for.
enum class SyncStrategy {
  // Returns once the event is in the log and applied by the highest-priority
  // healthy backend (StrategyOptions::all_backends: by every healthy one). No
  // healthy backend and offline mode off: kUnavailable before anything is written.
  write_through,
  // Returns after the log append; backends are fed in flushes, one at most every
  // StrategyOptions::interval (from the start of the last), sooner at batch_size
  // pending events, repeated writes of one key coalesced to the newest.
  write_behind,
  // As write_through, but the LRU view is not filled with the written document
  // (the next load_data reads it from the state).
  write_around,
};
std::string_view sync_strategy_name(SyncStrategy s);

struct StrategyOptions {
  std::chrono::milliseconds interval{1000};  // write_behind: flush period (> 0)
  std::size_t batch_size = 1000;             // write_behind: flush at this many pending events (>= 1)
  bool all_backends = false;                 // write_through/around: wait for every healthy backend
  // write_through/around: how long a write waits for a backend to apply it; then
  // kTimedOut (the write is committed and will be applied). Saturating.
  std::chrono::milliseconds write_timeout{5000};
};

// The sink workers that replay the log into backends.
struct ReplicationOptions {
  std::size_t threads = 2;  // of the workers' own executor (backend calls may block): 1..64
  std::size_t max_batch_events = 1000;        // events per apply(): 1..1,000,000
  std::size_t max_batch_bytes = 4u << 20;     // encoded event bytes per apply(): >= 1
  std::chrono::milliseconds initial_backoff{50};  // after a failure, doubling ...
  std::chrono::milliseconds max_backoff{5000};    // ... up to this (with jitter)
  // A change a backend rejects for good (kBackend, kInvalidArgument) this many
  // times goes to the dead letters: 1..1000.
  std::uint32_t max_attempts = 5;
  // While idle, each backend's health_check() runs this often (0: never).
  std::chrono::milliseconds health_interval{2000};
};

// Every field is checked at open against the limits given here; a value outside
// them is kInvalidArgument naming the field.
struct Options {
  // Directory holding the log and its projections; created with any missing
  // parents. Canonicalised (symlinks, "dir/" and "./dir" resolve to one path), so
  // one store cannot be opened twice in a process under two spellings. No NUL.
  // Required.
  std::string path;
  // Capacity of the LRU view, in entries (documents and remembered misses).
  // 0 disables the view. At most 2^32.
  std::size_t cache_size = 10000;
  // Keys matching these glob patterns ("critical:*") are loaded into the LRU view at
  // open, up to its capacity.
  std::vector<std::string> preload_keys;
  // Default time-to-live of cached policy decisions (policy_cache().configure
  // changes it): 1 s .. 100 years.
  std::chrono::seconds default_ttl{3600};
  // Capacity of the in-memory policy-decision cache, in decisions (LRU): 1 .. 2^32.
  std::size_t policy_cache_size = 10000;
  // Keep at most this many newest versions per key (0: no limit); older ones are
  // pruned on write and by a background pass (versioning().configure changes both).
  std::size_t max_versions_per_key = 0;
  std::chrono::seconds version_cleanup_interval{3600};
  // The wall clock policy TTLs are judged by (null: std::chrono::system_clock).
  // Tests inject one to expire decisions without sleeping.
  std::function<std::chrono::system_clock::time_point()> clock;
  // Default durability of writes: true fsyncs the WAL before a write returns
  // (survives power loss); false survives a process crash. WriteOptions::sync
  // overrides it per write.
  bool sync = false;
  // Largest accepted document, as compact JSON: 2 bytes .. 1 GiB.
  std::size_t max_value_bytes = 16u << 20;
  // Identity recorded for writes whose WriteOptions::identity is empty. Follows
  // the key rules.
  std::string default_identity = "anonymous";
  // Threads of the engine's Asio executor (async API and async callbacks): 1..1024.
  std::size_t executor_threads = 2;
  // How long close() waits for in-flight operations, queued async callbacks and
  // the final flush. Saturating: milliseconds::max() waits as long as it takes.
  std::chrono::milliseconds close_timeout{5000};
  // RocksDB memtable size per column family: 64 KiB .. 4 GiB.
  std::size_t write_buffer_size = 64u << 20;
  // RocksDB's block cache, in bytes, shared by the log and the projections: recent
  // blocks kept uncompressed, so a read that misses the LRU view rarely reads or
  // decompresses a file block. 0: RocksDB's default (8 MiB per column family).
  // At most 1 TiB.
  std::size_t block_cache_size = 64u << 20;
  // Damage inside a WAL at open: see WalRecovery.
  WalRecovery wal_recovery = WalRecovery::kPointInTime;
  // With an audit retention set, a write starts a background pass that prunes the
  // audit index at most this often (0: after every write).
  std::chrono::seconds audit_prune_interval{60};
  // Advanced: the RocksDB Env to run on (null: RocksDB's default). Must outlive
  // the store. Tests inject faults through it.
  rocksdb::Env* rocksdb_env = nullptr;
  // What a write waits for when backends are added (see SyncStrategy).
  SyncStrategy sync_strategy = SyncStrategy::write_through;
  StrategyOptions strategy_options;
  ReplicationOptions replication;
  // Where the engine logs (open, close, errors). Null: a logger that drops everything.
  std::shared_ptr<spdlog::logger> logger;
};

struct WriteOptions {
  // Who is writing; recorded in the event and the audit trail. Empty: the store's
  // default_identity. Follows the key rules (1..1024 bytes of UTF-8 without control
  // characters); anything else is kInvalidArgument.
  std::string identity;
  // Optimistic concurrency: the write succeeds only if the key is at this version
  // (the seq of its last write; 0 = the key must not exist). Otherwise kConflict and
  // nothing is written. Unset: unconditional.
  std::optional<Seq> expected_version;
  // Overrides Options::sync for this write.
  std::optional<bool> sync;
};

// Reads: `as_of` returns what the store held right after that seq (unset: now).
struct ReadOptions {
  std::optional<Seq> as_of;
};

struct VersionWriteOptions {
  std::string identity;  // as WriteOptions::identity
  std::optional<bool> sync;  // as WriteOptions::sync
  // Storing a label the key already has is kConflict unless this is set; then the
  // label names the new document and becomes the newest version.
  bool overwrite = false;
};

struct VersioningConfig {
  std::optional<std::size_t> max_versions_per_key;  // 0: no limit
  std::optional<std::chrono::seconds> cleanup_interval;  // the background pass; > 0
};

struct PolicyOptions {
  // How long the decision holds, from its event's timestamp (unset: the policy
  // cache's default_ttl): 1 s .. 100 years.
  std::optional<std::chrono::seconds> ttl;
  // Keys whose change (a relationship change or delete_data naming them) drops the
  // decision, besides its identity and resource. Each follows the key rules; at
  // most 64.
  std::vector<std::string> depends_on;
  std::optional<bool> sync;  // as WriteOptions::sync
};

struct PolicyCacheConfig {
  std::optional<std::chrono::seconds> default_ttl;  // for later decisions
  std::optional<std::size_t> max_entries;           // shrinking evicts the least recent
};

struct RebuildOptions {
  // Called on the rebuilding thread as the rebuild advances (every few thousand
  // events and once caught up). Must not throw.
  std::function<void(const RebuildProgress&)> progress;
};

struct CacheConfig {
  std::optional<std::size_t> max_size;  // new capacity; shrinking evicts
  // Called with each evicted document (not for remembered misses), after the view's
  // lock is released, on the thread that caused the eviction.
  std::function<void(const std::string& key, const Json& doc)> on_evict;
  // Glob patterns loaded into the view now ("critical:*").
  std::vector<std::string> preload_keys;
};

// Retention is a function of the log alone (each event's time and each key's
// count), never of when trails were read: get_audit_trail() leaves out what the
// configuration excludes, and the audit index is pruned to match at write time
// (per-key limit) and by a background pass (age). The log keeps every event.
struct AuditConfig {
  // Entries older than this are left out of trails and pruned from the audit
  // index. Zero: keep forever. Saturating: 400 years means "nothing is that old".
  // Negative: kInvalidArgument. Pruning is for good: raising the retention later
  // does not bring pruned entries back.
  std::optional<std::chrono::seconds> retention;
  // Include each write's document in AuditEntry::data.
  std::optional<bool> include_data_snapshots;
  // Keep at most this many newest entries per key in the audit index. 0: no limit.
  std::optional<std::size_t> max_entries_per_key;
};

}  // namespace omni
