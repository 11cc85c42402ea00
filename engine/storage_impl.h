// The state behind omni::Storage and its Cache/Audit/Notifications facades.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + g++ 12)

#include <boost/asio/thread_pool.hpp>
#include <spdlog/logger.h>

#include <atomic>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "lifecycle.h"
#include "metrics.h"
#include "notifier.h"
#include "omni/log/event_log.h"
#include "omni/options.h"
#include "omni/projections/lru_view.h"
#include "omni/projections/projection_set.h"
#include "omni/storage.h"

namespace omni::detail {

// One write of a commit: a store (doc set) or a delete (doc null). `owned` holds the
// document when the caller gave it up, so it can go into the LRU view.
struct Write {
  std::string_view key;
  const Json* doc = nullptr;
  std::shared_ptr<const Json> owned;
  std::optional<Seq> expected_version;
};

inline Status closed_status() { return Status::unavailable("the store is closed"); }

struct StorageImpl {
  // Throws std::system_error when the executor's threads cannot be started
  // (Storage::open turns that into a Status).
  explicit StorageImpl(Options o);

  // Validates, appends one atomic group, updates the LRU view, runs notifications.
  // Returns the seq of the last write.
  Result<Seq> commit(std::vector<Write>& writes, const WriteOptions& wo);
  // store_data / delete_data: one write, measured as `op`.
  Result<Seq> write_one(Op op, Write w, const WriteOptions& wo);
  Result<std::shared_ptr<const Json>> load(std::string_view key);
  Status preload(const std::vector<std::string>& patterns);
  Statistics statistics();  // the log must be open

  // Health: what a read or write found wrong. Corruption and IO errors stay on
  // record (check_health() reports them) until the store is reopened.
  Status note(Status s);

  // Whether this thread must not wait for the store's work: it is one of the
  // executor's threads, or it is running one of the store's callbacks.
  bool on_engine_thread() const;
  // close() from a thread that may wait; with_deadline = false waits as long as
  // running calls take (the destructor).
  Status close(bool with_deadline);
  // close() from an engine thread: finishes on a thread of its own.
  void close_in_background();
  void join_closer();

  // Retention: prunes the audit index of events older than the retention (a
  // pass over the log from where the last one stopped). Never run by a read.
  Status apply_retention();
  void maybe_schedule_retention();

  Options options;
  std::shared_ptr<spdlog::logger> logger;
  std::unique_ptr<log::EventLog> log;
  std::unique_ptr<projections::ProjectionSet> projections;
  projections::LruView lru;

  Lifecycle life;
  mutable boost::asio::thread_pool pool;  // mutable: get_executor() is non-const
  Notifier notifier;

  mutable std::mutex audit_mu;
  AuditConfig audit_config;  // every field set
  std::atomic<bool> retention_running{false};
  // When a write may start the next retention pass (steady clock ticks); max: never
  // (no retention or per-key limit is configured).
  std::atomic<std::int64_t> next_retention_ns{std::numeric_limits<std::int64_t>::max()};

  std::mutex instrumentation_mu;
  std::shared_ptr<const std::vector<InstrumentationFn>> instrumentation;
  std::atomic<bool> has_instrumentation{false};

  MetricsRegistry metrics;
  std::mutex health_mu;
  Status damage;  // guarded by health_mu: the first corruption or IO error a read met

  std::mutex close_mu;   // one close at a time
  bool closed = false;   // guarded by close_mu
  std::mutex stats_mu;
  Statistics final_statistics;  // guarded by stats_mu: as of close
  std::mutex closer_mu;
  std::thread closer;  // guarded by closer_mu
};

// Counts an operation in for its lifetime and records its metrics on the way out.
class OpScope {
 public:
  OpScope(StorageImpl& impl, Op op, std::string_view key);
  OpScope(const OpScope&) = delete;  // pins the store open for its lifetime
  OpScope& operator=(const OpScope&) = delete;
  ~OpScope();
  bool admitted() const { return admitted_; }
  template <typename R>
  R finish(R r) {
    failed_ = !r.ok();
    return r;
  }

 private:
  StorageImpl& impl_;
  Op op_;
  std::string_view key_;
  std::chrono::steady_clock::time_point start_;
  bool timed_;  // latency is sampled (1 op in 8) unless instrumentation needs every one
  bool admitted_;
  bool failed_ = false;
};

}  // namespace omni::detail
