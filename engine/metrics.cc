#include "metrics.h"

#include <bit>
#include <cstdio>
#include <string>
#include <vector>

namespace omni::detail {

std::string_view op_name(Op op) {
  switch (op) {
    case Op::kStoreData: return "store_data";
    case Op::kLoadData: return "load_data";
    case Op::kDeleteData: return "delete_data";
    case Op::kStoreBatch: return "store_batch";
    case Op::kGetAuditTrail: return "get_audit_trail";
    case Op::kStoreRelationship: return "store_relationship";
    case Op::kRemoveRelationship: return "remove_relationship";
    case Op::kGetRelated: return "get_related";
    case Op::kStoreVersion: return "store_version";
    case Op::kLoadVersion: return "load_version";
    case Op::kCachePolicyDecision: return "cache_policy_decision";
    case Op::kGetCachedPolicy: return "get_cached_policy";
    case Op::kCount: break;
  }
  return "unknown";
}

int LatencyHistogram::bucket_of(std::uint64_t ns) {
  if (ns < 16) return static_cast<int>(ns);
  const int e = 63 - std::countl_zero(ns);  // >= 4
  const int sub = static_cast<int>((ns >> (e - 2)) & 3);
  return 16 + (e - 4) * 4 + sub;
}

std::uint64_t LatencyHistogram::bucket_upper(int b) {
  if (b < 16) return static_cast<std::uint64_t>(b);
  const int e = (b - 16) / 4 + 4;
  const std::uint64_t sub = static_cast<std::uint64_t>((b - 16) % 4);
  // bucket covers [(4+sub) << (e-2), (5+sub) << (e-2))
  return ((5 + sub) << (e - 2)) - 1;
}

void LatencyHistogram::record(std::uint64_t ns) {
  counts_[bucket_of(ns)].fetch_add(1, std::memory_order_relaxed);
  std::uint64_t m = max_.load(std::memory_order_relaxed);
  while (ns > m && !max_.compare_exchange_weak(m, ns, std::memory_order_relaxed)) {
  }
}

std::uint64_t LatencyHistogram::percentile(double q) const {
  std::uint64_t total = 0;
  for (const auto& c : counts_) total += c.load(std::memory_order_relaxed);
  if (total == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total - 1)) + 1;
  std::uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += counts_[b].load(std::memory_order_relaxed);
    if (seen >= rank) return std::min(bucket_upper(b), max());
  }
  return max();
}

std::uint64_t Instrumentation::add(InstrumentationFn fn) {
  std::lock_guard l(mu_);
  auto next = std::make_shared<std::vector<InstrumentationFn>>(*fns_);
  next->push_back(std::move(fn));
  fns_ = std::move(next);
  any_.store(true, std::memory_order_release);
  return fns_->size();
}

void Instrumentation::run(std::string_view op, std::string_view key, std::chrono::nanoseconds d,
                          spdlog::logger& logger) const {
  std::shared_ptr<const std::vector<InstrumentationFn>> fns;
  {
    std::lock_guard l(mu_);
    fns = fns_;
  }
  for (const auto& fn : *fns) {
    try {
      fn(op, key, d);
    } catch (...) {
      logger.error("an instrumentation callback threw; ignored");
    }
  }
}

namespace {

// Slot numbers for threads, process-wide (the same number in every registry),
// returned when the thread exits. Never destroyed: threads may exit after main.
struct SlotPool {
  std::mutex mu;
  std::vector<std::size_t> free;
  std::size_t next = 0;
};
SlotPool& slot_pool() {
  static SlotPool* pool = new SlotPool;
  return *pool;
}

struct SlotLease {
  explicit SlotLease(std::size_t shared) : id(shared), shared_(shared) {
    SlotPool& p = slot_pool();
    std::lock_guard l(p.mu);
    if (!p.free.empty()) {
      id = p.free.back();
      p.free.pop_back();
    } else if (p.next < shared) {
      id = p.next++;
    }
  }
  SlotLease(const SlotLease&) = delete;  // returns its slot once
  SlotLease& operator=(const SlotLease&) = delete;
  ~SlotLease() {
    if (id == shared_) return;
    SlotPool& p = slot_pool();
    std::lock_guard l(p.mu);  // the next owner's lock orders its reads after our writes
    p.free.push_back(id);
  }
  std::size_t id;

 private:
  std::size_t shared_ = 0;
};

inline void add_owned(std::atomic<std::uint64_t>& c) {
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

}  // namespace

std::size_t MetricsRegistry::slot() {
  thread_local SlotLease lease(kSlots);
  return lease.id;
}

void MetricsRegistry::record(Op op, std::chrono::nanoseconds d, bool error) {
  const int i = static_cast<int>(op);
  const std::size_t s = slot();
  Counts& c = counts_[s];
  if (s < kSlots) {
    add_owned(c.count[i]);
    if (error) add_owned(c.errors[i]);
  } else {
    c.count[i].fetch_add(1, std::memory_order_relaxed);
    if (error) c.errors[i].fetch_add(1, std::memory_order_relaxed);
  }
  if (d.count() >= 0) latency_[i].record(static_cast<std::uint64_t>(d.count()));
}

Metrics MetricsRegistry::snapshot() const {
  Metrics m;
  m.uptime = std::chrono::steady_clock::now() - start_;
  const double secs = std::max(1e-9, std::chrono::duration<double>(m.uptime).count());
  for (int i = 0; i < kOps; ++i) {
    const LatencyHistogram& latency = latency_[i];
    OperationMetrics o;
    for (const Counts& c : counts_) {
      o.count += c.count[i].load(std::memory_order_relaxed);
      o.errors += c.errors[i].load(std::memory_order_relaxed);
    }
    o.ops_per_second = static_cast<double>(o.count) / secs;
    o.error_rate = o.count ? static_cast<double>(o.errors) / static_cast<double>(o.count) : 0;
    o.p50 = std::chrono::nanoseconds(latency.percentile(0.50));
    o.p95 = std::chrono::nanoseconds(latency.percentile(0.95));
    o.p99 = std::chrono::nanoseconds(latency.percentile(0.99));
    o.max = std::chrono::nanoseconds(latency.max());
    m.total_ops += o.count;
    m.total_errors += o.errors;
    m.operations.emplace(std::string(op_name(static_cast<Op>(i))), o);
  }
  m.ops_per_second = static_cast<double>(m.total_ops) / secs;
  m.error_rate = m.total_ops ? static_cast<double>(m.total_errors) / static_cast<double>(m.total_ops) : 0;
  return m;
}

std::string prometheus_text(const Metrics& m, const Statistics& s) {
  std::string out;
  char line[256];
  auto head = [&](const char* name, const char* type, const char* help) {
    std::snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    out += line;
  };
  head("omni_operations_total", "counter", "Operations by name.");
  for (const auto& [op, o] : m.operations) {
    std::snprintf(line, sizeof line, "omni_operations_total{op=\"%s\"} %llu\n", op.c_str(),
                  static_cast<unsigned long long>(o.count));
    out += line;
  }
  head("omni_operation_errors_total", "counter", "Failed operations by name.");
  for (const auto& [op, o] : m.operations) {
    std::snprintf(line, sizeof line, "omni_operation_errors_total{op=\"%s\"} %llu\n", op.c_str(),
                  static_cast<unsigned long long>(o.errors));
    out += line;
  }
  head("omni_operation_latency_seconds", "summary", "Operation latency quantiles.");
  for (const auto& [op, o] : m.operations) {
    const std::pair<const char*, std::chrono::nanoseconds> qs[] = {
        {"0.5", o.p50}, {"0.95", o.p95}, {"0.99", o.p99}};
    for (const auto& [q, v] : qs) {
      std::snprintf(line, sizeof line, "omni_operation_latency_seconds{op=\"%s\",quantile=\"%s\"} %.9f\n",
                    op.c_str(), q, std::chrono::duration<double>(v).count());
      out += line;
    }
  }
  auto gauge = [&](const char* name, const char* type, const char* help, double v) {
    head(name, type, help);
    std::snprintf(line, sizeof line, "%s %.17g\n", name, v);
    out += line;
  };
  gauge("omni_head_seq", "gauge", "Sequence number of the newest committed event.",
        static_cast<double>(s.head_seq));
  gauge("omni_cache_entries", "gauge", "Entries in the LRU view.", static_cast<double>(s.cache.size));
  gauge("omni_cache_hits_total", "counter", "LRU view hits.", static_cast<double>(s.cache.hits));
  gauge("omni_cache_misses_total", "counter", "LRU view misses.", static_cast<double>(s.cache.misses));
  gauge("omni_cache_evictions_total", "counter", "LRU view evictions.",
        static_cast<double>(s.cache.evictions));
  gauge("omni_disk_bytes", "gauge", "SST and live WAL bytes.", static_cast<double>(s.disk_bytes));
  gauge("omni_offline", "gauge", "1 while offline mode is on.", s.offline ? 1 : 0);
  // Per backend; names are [A-Za-z0-9_.-] (validated), so they need no escaping.
  auto per_backend = [&](const char* name, const char* type, const char* help, auto value) {
    if (s.backends.empty()) return;
    head(name, type, help);
    for (const BackendStatistics& b : s.backends) {
      std::snprintf(line, sizeof line, "%s{backend=\"%s\"} %.17g\n", name, b.name.c_str(),
                    static_cast<double>(value(b)));
      out += line;
    }
  };
  per_backend("omni_backend_cursor", "gauge", "Every event up to this seq is applied by the backend.",
              [](const BackendStatistics& b) { return b.cursor; });
  per_backend("omni_backend_lag_events", "gauge", "head_seq - cursor.", [](const BackendStatistics& b) { return b.lag; });
  per_backend("omni_backend_applied_events_total", "counter", "Changes the backend acknowledged.",
              [](const BackendStatistics& b) { return b.applied_events; });
  per_backend("omni_backend_batches_total", "counter", "Batches the backend acknowledged.",
              [](const BackendStatistics& b) { return b.batches; });
  per_backend("omni_backend_retries_total", "counter", "Failed attempts, each retried after a backoff.",
              [](const BackendStatistics& b) { return b.retries; });
  per_backend("omni_backend_dead_letters", "gauge", "Changes the backend rejected for good.",
              [](const BackendStatistics& b) { return b.dead_letters; });
  per_backend("omni_backend_healthy", "gauge", "1 when the backend's last attempt succeeded.",
              [](const BackendStatistics& b) { return b.healthy ? 1 : 0; });
  per_backend("omni_backend_ahead_of_log", "gauge", "1 when the backend holds seqs past the local head.",
              [](const BackendStatistics& b) { return b.ahead_of_log ? 1 : 0; });
  return out;
}

}  // namespace omni::detail
