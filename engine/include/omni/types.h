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
  std::string operation;  // "store" or "delete"
  std::string identity;
  std::optional<Json> data;  // the stored document, when include_data_snapshots
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

struct Health {
  HealthStatus status = HealthStatus::kHealthy;
  std::string detail;  // why, when not healthy
  Seq head_seq = 0;
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
  Seq head_seq = 0;
  std::uint64_t event_count = 0;
  std::uint64_t approximate_keys = 0;  // RocksDB's estimate for the state projection
  std::uint64_t disk_bytes = 0;        // SST files + live WAL
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
