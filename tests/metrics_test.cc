#include "metrics.h"

#include <gtest/gtest.h>

namespace omni::detail {
namespace {

TEST(LatencyHistogramTest, BucketsCoverEveryValueMonotonically) {
  int last = -1;
  for (std::uint64_t ns : {0ull, 1ull, 15ull, 16ull, 17ull, 100ull, 1000ull, 123456789ull,
                           (1ull << 62)}) {
    const int b = LatencyHistogram::bucket_of(ns);
    EXPECT_GE(b, last);
    EXPECT_LT(b, LatencyHistogram::kBuckets);
    EXPECT_GE(LatencyHistogram::bucket_upper(b), ns);
    last = b;
  }
}

TEST(LatencyHistogramTest, BucketBoundsAreContiguous) {
  for (int b = 16; b + 1 < LatencyHistogram::kBuckets; ++b) {
    const std::uint64_t upper = LatencyHistogram::bucket_upper(b);
    EXPECT_EQ(LatencyHistogram::bucket_of(upper), b);
    EXPECT_EQ(LatencyHistogram::bucket_of(upper + 1), b + 1);
  }
}

TEST(LatencyHistogramTest, PercentilesWithinBucketError) {
  LatencyHistogram h;
  for (std::uint64_t i = 1; i <= 1000; ++i) h.record(i * 1000);  // 1us..1ms
  const double p50 = static_cast<double>(h.percentile(0.5));
  const double p99 = static_cast<double>(h.percentile(0.99));
  EXPECT_NEAR(p50, 500000, 500000 * 0.25);
  EXPECT_NEAR(p99, 990000, 990000 * 0.25);
  EXPECT_EQ(h.max(), 1000000u);
}

TEST(MetricsRegistryTest, CountsOpsAndErrors) {
  MetricsRegistry r;
  r.record(Op::kStoreData, std::chrono::microseconds(5), false);
  r.record(Op::kStoreData, std::chrono::microseconds(7), true);
  r.record(Op::kLoadData, std::chrono::microseconds(1), false);
  Metrics m = r.snapshot();
  EXPECT_EQ(m.total_ops, 3u);
  EXPECT_EQ(m.total_errors, 1u);
  EXPECT_EQ(m.operations["store_data"].count, 2u);
  EXPECT_DOUBLE_EQ(m.operations["store_data"].error_rate, 0.5);
  EXPECT_GT(m.ops_per_second, 0);
  std::string text = prometheus_text(m, Statistics{});
  EXPECT_NE(text.find("omni_operations_total{op=\"store_data\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE omni_operation_errors_total counter"), std::string::npos);
}

}  // namespace
}  // namespace omni::detail
