// AuditTrail: get_audit_trail() and storage->audit(). A key's history is read from
// the audit index (which seqs touched it) and the log (what each event was).
// Retention is a function of the log and the configuration only (see AuditConfig):
// a read leaves out what the configuration excludes and never writes; the index is
// pruned at write time (per-key limit, in the projection) and by a background pass
// (age) that writes schedule through after_write().
// [Threading] Thread-safe.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + g++ 12)

#include <boost/asio/thread_pool.hpp>
#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <limits>
#include <mutex>
#include <vector>

#include "health_record.h"
#include "lifecycle.h"
#include "omni/log/event_log.h"
#include "omni/options.h"
#include "omni/projections/audit_index.h"
#include "omni/types.h"

namespace omni::detail {

class AuditTrail {
 public:
  // Everything borrowed must outlive this object.
  AuditTrail(const log::EventLog& log, std::function<projections::AuditIndex&()> index, Lifecycle& life,
             boost::asio::thread_pool& pool, HealthRecord& health,
             std::shared_ptr<spdlog::logger> logger, std::chrono::seconds prune_interval);

  // Changes the fields that are set. kInvalidArgument for a negative retention.
  Status configure(const AuditConfig& config);
  AuditConfig config() const;  // every field set

  // The key's entries, oldest first, as the configuration shows them.
  Result<std::vector<AuditEntry>> trail(std::string_view key) const;

  // Prunes the audit index of events older than the retention (a pass over the
  // log from where the last one stopped) and trims keys after a lowered per-key
  // limit. Never run by a read.
  Status apply_retention();
  // After each write: starts a background retention pass when one is due.
  void after_write();

 private:
  const log::EventLog& log_;
  std::function<projections::AuditIndex&()> index_;  // the live instance (rebuild swaps it)
  Lifecycle& life_;
  boost::asio::thread_pool& pool_;
  HealthRecord& health_;
  std::shared_ptr<spdlog::logger> logger_;
  const std::chrono::steady_clock::duration prune_interval_;

  mutable std::mutex mu_;
  AuditConfig config_;  // guarded by mu_; every field set
  std::atomic<bool> running_{false};
  // When a write may start the next retention pass (steady clock ticks); max: never
  // (no retention or per-key limit is configured).
  std::atomic<std::int64_t> next_pass_{std::numeric_limits<std::int64_t>::max()};
};

}  // namespace omni::detail
