// Value types of the public API: documents, audit entries, notifications, health,
// statistics and metrics.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "omni/seq.h"  // Seq: position in the log; a write's consistency token
#include "omni/sink_types.h"  // DeadLetter, BackendStatistics

namespace omni {

using Json = nlohmann::json;  // documents are JSON objects

// One item of store_batch().
struct BatchItem {
  std::string key;
  Json doc;
  std::optional<Seq> expected_version;  // as WriteOptions::expected_version, per item
};

// One entry of get_audit_trail(), oldest first.
struct AuditEntry {
  Seq seq = 0;
  std::chrono::system_clock::time_point timestamp;
  // "store", "delete", "relationship_added", "relationship_removed",
  // "version_stored", "versions_pruned" or "policy_decided".
  std::string operation;
  std::string identity;
  std::optional<Json> data;  // the stored document, when include_data_snapshots
  // Relationship events: the edge (the trail's key is its subject or object).
  std::string predicate, subject, object;
  std::string label;  // version_stored
  std::vector<std::string> labels;  // versions_pruned: the labels removed
};

// An edge subject --predicate--> object, and the seq of the event that added it.
struct Relationship {
  std::string subject;
  std::string predicate;
  std::string object;
  Seq seq = 0;
  friend bool operator==(const Relationship&, const Relationship&) = default;
};

// Delivered to "relationship_changed" callbacks after the write committed (also
// for each edge a delete_data removed).
struct RelationshipChanged {
  std::string subject;
  std::string predicate;
  std::string object;
  std::string operation;  // "added" or "removed"
  Seq seq = 0;
  std::string identity;
};

// Paging of relationship queries: results are in byte order; at most `limit`
// (0: all) of those after `start_after` (exclusive; unset: from the first).
struct ListOptions {
  std::size_t limit = 0;
  std::optional<std::string> start_after;
};

// One entry of list_versions(), oldest first.
struct VersionInfo {
  std::string label;
  Seq seq = 0;  // of the version_stored event
  std::chrono::system_clock::time_point timestamp;
  friend bool operator==(const VersionInfo&, const VersionInfo&) = default;
};

struct PolicyCacheStatistics {
  std::size_t size = 0;
  std::size_t capacity = 0;
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;         // not cached (never, evicted, or dropped before)
  std::uint64_t expirations = 0;    // lookups that found the decision past its TTL
  std::uint64_t invalidations = 0;  // decisions dropped by a change of a name they depend on
};

// rebuild_projections() progress: events applied of the log's head when it started.
struct RebuildProgress {
  Seq applied = 0;
  Seq target = 0;
  bool caught_up = false;  // the final catch-up with concurrent writes is done
};

// Delivered to "data_changed" callbacks after the write committed.
struct DataChanged {
  std::string key;
  std::optional<Json> old_data;  // nullopt when the key did not exist (or see below)
  // Set when the key existed but its previous document could not be read back
  // (its stored bytes are damaged): old_data is then nullopt and this says why.
  std::optional<std::string> old_data_error;
  std::optional<Json> new_data;  // nullopt for a delete
  Seq seq = 0;
  std::string identity;
};

enum class HealthStatus { kHealthy, kDegraded, kOffline };
std::string_view health_status_name(HealthStatus s);

// One backend in check_health().
struct BackendHealth {
  std::string name;
  // "healthy", "unhealthy", "paused" (offline mode) or "ahead_of_log" (the target
  // has applied seqs the local log no longer has).
  std::string status;
  Seq cursor = 0;
  Seq lag = 0;  // head - cursor
  std::string last_error;
};

struct Health {
  // kDegraded: local damage, stopped writes, or a backend that is not healthy;
  // kOffline: offline mode is on (or the store is closed).
  HealthStatus status = HealthStatus::kHealthy;
  std::string detail;  // why, when not healthy
  Seq head_seq = 0;
  std::vector<BackendHealth> backends;  // by priority
};

struct CacheStatistics {
  std::size_t size = 0;
  std::size_t capacity = 0;
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t evictions = 0;
  double hit_ratio = 0;  // hits / (hits + misses); 0 before the first lookup
};

struct Statistics {
  // After close(): the figures as of close, with closed = true.
  bool closed = false;
  CacheStatistics cache;
  PolicyCacheStatistics policy_cache;
  Seq head_seq = 0;
  std::uint64_t event_count = 0;
  std::uint64_t approximate_keys = 0;  // RocksDB's estimate for the state projection
  std::uint64_t disk_bytes = 0;        // SST files + live WAL
  bool offline = false;                // offline mode
  std::vector<BackendStatistics> backends;  // by priority
};

struct OperationMetrics {
  std::uint64_t count = 0;
  std::uint64_t errors = 0;
  double ops_per_second = 0;  // count / seconds since open
  double error_rate = 0;      // errors / count
  std::chrono::nanoseconds p50{0}, p95{0}, p99{0}, max{0};
};

struct Metrics {
  double ops_per_second = 0;
  double error_rate = 0;
  std::uint64_t total_ops = 0;
  std::uint64_t total_errors = 0;
  std::chrono::nanoseconds uptime{0};
  std::map<std::string, OperationMetrics> operations;  // by name: "store_data", …
};

using InstrumentationFn =
    std::function<void(std::string_view op, std::string_view key, std::chrono::nanoseconds d)>;

}  // namespace omni
