// Options of Storage::open() and of each write. Plain structs: every field has a
// default and says what it does.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "omni/types.h"

namespace spdlog {
class logger;
}

namespace omni {

struct Options {
  // RocksDB directory holding the log and its projections; created if missing.
  // Required.
  std::string path;
  // Capacity of the LRU view, in entries (documents and remembered misses).
  // 0 disables the view.
  std::size_t cache_size = 10000;
  // Keys matching these glob patterns ("critical:*") are loaded into the LRU view at
  // open, up to its capacity.
  std::vector<std::string> preload_keys;
  // Default time-to-live for TTL-governed projections (the policy-decision cache).
  std::chrono::seconds default_ttl{3600};
  // Default durability of writes: true fsyncs the WAL before a write returns
  // (survives power loss); false survives a process crash. WriteOptions::sync
  // overrides it per write.
  bool sync = false;
  // Largest accepted document, as compact JSON.
  std::size_t max_value_bytes = 16u << 20;
  // Identity recorded for writes whose WriteOptions::identity is empty.
  std::string default_identity = "anonymous";
  // Threads of the engine's Asio executor (async API and async callbacks).
  std::size_t executor_threads = 2;
  // How long close() waits for in-flight operations and queued async callbacks.
  std::chrono::milliseconds close_timeout{5000};
  // RocksDB memtable size per column family.
  std::size_t write_buffer_size = 64u << 20;
  // Where the engine logs (open, close, errors). Null: a logger that drops everything.
  std::shared_ptr<spdlog::logger> logger;
};

struct WriteOptions {
  // Who is writing; recorded in the event and the audit trail. Empty: the store's
  // default_identity.
  std::string identity;
  // Optimistic concurrency: the write succeeds only if the key is at this version
  // (the seq of its last write; 0 = the key must not exist). Otherwise kConflict and
  // nothing is written. Unset: unconditional.
  std::optional<Seq> expected_version;
  // Overrides Options::sync for this write.
  std::optional<bool> sync;
};

struct CacheConfig {
  std::optional<std::size_t> max_size;  // new capacity; shrinking evicts
  // Called with each evicted document (not for remembered misses), after the view's
  // lock is released, on the thread that caused the eviction.
  std::function<void(const std::string& key, const Json& doc)> on_evict;
  // Glob patterns loaded into the view now ("critical:*").
  std::vector<std::string> preload_keys;
};

struct AuditConfig {
  // Entries older than this are dropped from the audit index (the log keeps them).
  // Zero: keep forever.
  std::optional<std::chrono::seconds> retention;
  // Include each write's document in AuditEntry::data.
  std::optional<bool> include_data_snapshots;
  // Keep at most this many newest entries per key in the audit index. 0: no limit.
  std::optional<std::size_t> max_entries_per_key;
};

}  // namespace omni
