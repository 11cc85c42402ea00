// The state behind omni::Storage and its Cache/Audit/Notifications facades.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + g++ 12)

#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <spdlog/logger.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "metrics.h"
#include "omni/log/event_log.h"
#include "omni/options.h"
#include "omni/projections/lru_view.h"
#include "omni/projections/projection_set.h"
#include "omni/storage.h"

namespace omni::detail {

struct Callback {
  Notifications::CallbackId id;
  Notifications::DataChangedFn fn;
  bool async;
};
using CallbackList = std::vector<Callback>;

// One write of a commit: a store (doc set) or a delete (doc null). `owned` holds the
// document when the caller gave it up, so it can go into the LRU view.
struct Write {
  std::string_view key;
  const Json* doc = nullptr;
  std::shared_ptr<const Json> owned;
  std::optional<Seq> expected_version;
};

struct StorageImpl {
  explicit StorageImpl(Options o);

  // Validates, appends one atomic group, updates the LRU view, runs notifications.
  // Returns the seq of the last write.
  Result<Seq> commit(std::vector<Write>& writes, const WriteOptions& wo);
  // store_data / delete_data: one write, measured as `op`.
  Result<Seq> write_one(Op op, Write w, const WriteOptions& wo);
  Result<std::shared_ptr<const Json>> load(std::string_view key);
  Status preload(const std::vector<std::string>& patterns);
  void notify(std::vector<DataChanged> changes);

  Options options;
  std::shared_ptr<spdlog::logger> logger;
  std::unique_ptr<log::EventLog> log;
  std::unique_ptr<projections::ProjectionSet> projections;
  projections::LruView lru;

  boost::asio::thread_pool pool;
  // Async callbacks run one at a time in commit order.
  boost::asio::strand<boost::asio::thread_pool::executor_type> callback_strand;

  mutable std::mutex audit_mu;
  AuditConfig audit_config;  // every field set

  std::mutex callbacks_mu;
  std::shared_ptr<const CallbackList> callbacks;  // copy-on-write
  std::atomic<bool> has_callbacks{false};
  std::atomic<std::uint64_t> next_callback_id{1};

  std::mutex instrumentation_mu;
  std::shared_ptr<const std::vector<InstrumentationFn>> instrumentation;
  std::atomic<bool> has_instrumentation{false};

  MetricsRegistry metrics;
  std::atomic<bool> write_failing{false};  // the last write hit an IO error

  // Lifecycle: operations count themselves in; close() waits for them.
  std::atomic<bool> closing{false};
  std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::int64_t> pending_async{0};  // queued async callbacks and operations
  std::mutex life_mu;
  std::condition_variable life_cv;
  bool closed = false;  // guarded by life_mu
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
