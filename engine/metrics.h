// Per-operation counters and latency histograms behind get_metrics() and
// metrics_text(). Lock-free: recording is a few relaxed atomic increments.
#pragma once

#include <spdlog/logger.h>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "omni/types.h"

namespace omni::detail {

enum class Op {
  kStoreData,
  kLoadData,
  kDeleteData,
  kStoreBatch,
  kGetAuditTrail,
  kStoreRelationship,
  kRemoveRelationship,
  kGetRelated,  // get_related, get_related_reverse, get_relationships
  kStoreVersion,
  kLoadVersion,  // load_version, list_versions
  kCachePolicyDecision,
  kGetCachedPolicy,
  kCount
};
// Pseudo-op for calls that are neither measured nor instrumented (statistics, health).
inline constexpr Op kUnmeasured = Op::kCount;
std::string_view op_name(Op op);

// Log-linear histogram: exact below 16 ns, then 4 buckets per power of two
// (<= 19% relative error on percentiles).
class LatencyHistogram {
 public:
  static constexpr int kBuckets = 16 + 60 * 4;
  void record(std::uint64_t ns);
  // Upper bound of the bucket holding quantile q (0..1) of the recorded values.
  std::uint64_t percentile(double q) const;
  std::uint64_t max() const { return max_.load(std::memory_order_relaxed); }
  static int bucket_of(std::uint64_t ns);
  static std::uint64_t bucket_upper(int bucket);

 private:
  std::array<std::atomic<std::uint64_t>, kBuckets> counts_{};
  std::atomic<std::uint64_t> max_{0};
};

class MetricsRegistry {
 public:
  MetricsRegistry() : start_(std::chrono::steady_clock::now()) {}
  // Counts one operation; a negative d (not timed) skips the latency histogram.
  void record(Op op, std::chrono::nanoseconds d, bool error);
  Metrics snapshot() const;

 private:
  static constexpr int kOps = static_cast<int>(Op::kCount);
  // Every call is counted, and a locked increment of one shared line costs more
  // than a cached policy hit itself (bench/policy_bench.cc). So each of the first
  // kSlots live threads has counts of its own, which only it writes (a load and a
  // store, no locked instruction); further threads share the last slot with
  // atomic increments. snapshot() sums them. A slot is handed to another thread
  // only after its owner exited. Latency is sampled, so its histogram stays shared.
  static constexpr std::size_t kSlots = 32;
  struct alignas(64) Counts {
    std::array<std::atomic<std::uint64_t>, kOps> count{};
    std::array<std::atomic<std::uint64_t>, kOps> errors{};
  };
  // This thread's slot; kSlots: the shared one.
  static std::size_t slot();
  std::chrono::steady_clock::time_point start_;
  std::array<Counts, kSlots + 1> counts_;
  std::array<LatencyHistogram, kOps> latency_;
};

// The callbacks of add_instrumentation_callback(), copy-on-write: running them
// takes the lock only to copy a shared pointer.
class Instrumentation {
 public:
  // Returns the callback's number (1-based).
  std::uint64_t add(InstrumentationFn fn);
  // Whether any callback is registered (then every operation is timed).
  bool any() const { return any_.load(std::memory_order_acquire); }
  // Runs each callback, containing whatever it throws (logged).
  void run(std::string_view op, std::string_view key, std::chrono::nanoseconds d,
           spdlog::logger& logger) const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const std::vector<InstrumentationFn>> fns_ =
      std::make_shared<const std::vector<InstrumentationFn>>();  // guarded by mu_
  std::atomic<bool> any_{false};
};

// Prometheus text exposition of metrics and statistics.
std::string prometheus_text(const Metrics& m, const Statistics& s);

}  // namespace omni::detail
