// PolicyKeeper: the engine's side of the policy cache — the TTL later decisions
// get when they name none (Options::default_ttl until policy_cache().configure
// changes it). The decisions themselves live in the PolicyIndex (durable) and the
// PolicyCacheView (in memory).
// [Threading] Thread-safe.
#pragma once

#include <atomic>
#include <chrono>

#include "omni/projections/policy_cache.h"
#include "omni/types.h"

namespace omni::detail {

class PolicyKeeper {
 public:
  explicit PolicyKeeper(std::chrono::seconds default_ttl) : default_ttl_(default_ttl.count()) {}
  std::chrono::seconds default_ttl() const {
    return std::chrono::seconds(default_ttl_.load(std::memory_order_relaxed));
  }
  void set_default_ttl(std::chrono::seconds ttl) { default_ttl_.store(ttl.count(), std::memory_order_relaxed); }

  static PolicyCacheStatistics statistics(const projections::PolicyCacheView& view) {
    const projections::PolicyCacheStats s = view.statistics();
    return {s.size, s.capacity, s.hits, s.misses, s.expirations, s.invalidations};
  }

 private:
  std::atomic<std::chrono::seconds::rep> default_ttl_;
};

}  // namespace omni::detail
