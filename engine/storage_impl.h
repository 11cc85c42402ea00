// StorageImpl: what stands behind omni::Storage and its Cache/Audit/Notifications
// facades — the store's parts, each with one job and its own state:
//
//   Lifecycle    admission of calls, close deadline, in-flight and async counting
//   WritePath    validate → drafts → EventLog::append → after commit
//   ReadPath     the LRU view, the state projection, preloading
//   Notifier     callback registry, ordered async delivery
//   AuditTrail   trails, audit configuration, retention passes
//   HealthRecord damage met by reads and writes
//
// Relationships, versions and policy decisions are projections registered with
// the ProjectionSet at open; their facade methods live in engine/relationships.cc,
// engine/versions.cc and engine/policy.cc and write through WritePath::append.
//
// and the open/close sequence that wires them to the log and the projections.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + g++ 12)

#include <boost/asio/thread_pool.hpp>
#include <spdlog/logger.h>

#include <memory>
#include <mutex>
#include <thread>

#include "audit_trail.h"
#include "backend_registry.h"
#include "health_record.h"
#include "lifecycle.h"
#include "metrics.h"
#include "notifier.h"
#include "omni/log/event_log.h"
#include "omni/options.h"
#include "omni/projections/policy_cache.h"
#include "omni/projections/projection_set.h"
#include "omni/storage.h"
#include "policy_keeper.h"
#include "read_path.h"
#include "version_keeper.h"
#include "write_path.h"

namespace omni::detail {

inline Status closed_status() { return Status::unavailable("the store is closed"); }

class StorageImpl {
 public:
  // Throws std::system_error when the executor's threads cannot be started
  // (Storage::open turns that into a Status).
  explicit StorageImpl(Options o);
  StorageImpl(const StorageImpl&) = delete;  // its parts point at each other
  StorageImpl& operator=(const StorageImpl&) = delete;

  // Opens the log, catches the projections up and wires the parts together.
  // Once, before anything else; on error the store must not be used.
  Status open();

  const Options& options() const { return options_; }
  spdlog::logger& logger() { return *logger_; }
  Lifecycle& life() { return life_; }
  HealthRecord& health() { return health_; }
  MetricsRegistry& metrics() { return metrics_; }
  Instrumentation& instrumentation() { return instrumentation_; }
  Notifier& notifier() { return notifier_; }
  ReadPath& reads() { return reads_; }
  // The parts below exist between a successful open() and close() (the audit
  // trail's configuration stays readable after close); calls reach them only once
  // admitted by life().
  WritePath& writes() { return *writes_; }
  AuditTrail& audit() { return *audit_; }
  log::EventLog& log() { return *log_; }
  boost::asio::thread_pool& pool() const { return pool_; }
  projections::ProjectionSet& projections() { return *projections_; }
  // The live instances (a rebuild swaps them): fetch per call, never keep.
  projections::RelationshipIndex& relationships() {
    return projections_->get<projections::RelationshipIndex>(relationships_slot_);
  }
  projections::VersionIndex& versions() { return projections_->get<projections::VersionIndex>(versions_slot_); }
  VersionKeeper& version_keeper() { return *version_keeper_; }  // stays after close (config())
  projections::PolicyIndex& policy_index() { return projections_->get<projections::PolicyIndex>(policy_slot_); }
  projections::PolicyCacheView& policy_view() { return *policy_view_; }
  PolicyKeeper& policy() { return policy_; }
  BackendRegistry& backends() { return *backends_; }
  // Options::clock as ns since the UNIX epoch.
  std::int64_t now_ns() const;

  Statistics statistics();  // the log must be open

  // Whether this thread must not wait for the store's work: it is one of the
  // executor's threads, or it is running one of the store's callbacks.
  bool on_engine_thread() const;
  // close() from a thread that may wait; with_deadline = false waits as long as
  // running calls take (the destructor).
  Status close(bool with_deadline);
  // close() from an engine thread: finishes on a thread of its own.
  void close_in_background();
  void join_closer();
  // Statistics as of close (get_statistics() after close).
  Statistics final_statistics();

 private:
  Options options_;
  PolicyKeeper policy_{options_.default_ttl};
  std::shared_ptr<spdlog::logger> logger_;
  Lifecycle life_;
  mutable boost::asio::thread_pool pool_;  // mutable: get_executor() is non-const
  HealthRecord health_;
  MetricsRegistry metrics_;
  Instrumentation instrumentation_;
  Notifier notifier_;
  ReadPath reads_;
  std::unique_ptr<log::EventLog> log_;
  std::unique_ptr<projections::PolicyCacheView> policy_view_;  // registered with projections_
  std::unique_ptr<projections::ProjectionSet> projections_;
  // Slots of the projections added to projections_.
  std::size_t versions_slot_ = 0, relationships_slot_ = 0, policy_slot_ = 0;
  std::unique_ptr<AuditTrail> audit_;
  std::unique_ptr<WritePath> writes_;
  std::unique_ptr<VersionKeeper> version_keeper_;
  std::unique_ptr<BackendRegistry> backends_;

  std::mutex close_mu_;   // one close at a time
  bool closed_ = false;   // guarded by close_mu_
  std::mutex stats_mu_;
  Statistics final_statistics_;  // guarded by stats_mu_
  std::mutex closer_mu_;
  std::thread closer_;  // guarded by closer_mu_
};

// load_data's fallback to the backends for a key the local log never had (engine/backends.cc).
std::shared_ptr<const Json> read_fallback(StorageImpl& impl, std::string_view key);

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
