// Per-operation counters and latency histograms behind get_metrics() and
// metrics_text(). Lock-free: recording is a few relaxed atomic increments.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <string_view>

#include "omni/types.h"

namespace omni::detail {

enum class Op { kStoreData, kLoadData, kDeleteData, kStoreBatch, kGetAuditTrail, kCount };
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
  struct PerOp {
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::uint64_t> errors{0};
    LatencyHistogram latency;
  };
  std::chrono::steady_clock::time_point start_;
  std::array<PerOp, static_cast<int>(Op::kCount)> ops_;
};

// Prometheus text exposition of metrics and statistics.
std::string prometheus_text(const Metrics& m, const Statistics& s);

}  // namespace omni::detail
