// Policy cache view: the in-memory, LRU-bounded cache of live decisions that
// get_cached_policy() answers from. Filled at open from the PolicyIndex (load()),
// kept in step with the log by the group leader:
//  - staging(): every name a request's events invalidate (invalidated_names())
//    drops its decisions at once, even before the batch is written;
//  - finish_group(true): the group's decisions and invalidations are applied in
//    seq order, so a decision followed by an invalidating change in the same group
//    stays dropped. All before the writers return.
// TTL is judged on lookup against the injected clock; an expired decision counts
// as an expiration and is dropped.
// [Threading] lookup() takes only the lock of its shard, which the leader holds
// only briefly per decision; statistics are relaxed atomics.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "omni/log/event_log.h"
#include "omni/projections/policy_index.h"
#include "omni/projections/projection.h"

namespace omni::projections {

struct PolicyCacheStats {
  std::size_t size = 0;
  std::size_t capacity = 0;
  std::uint64_t hits = 0, misses = 0, expirations = 0, invalidations = 0;
};

class PolicyCacheView final : public View {
 public:
  using Clock = std::function<std::int64_t()>;  // ns since the UNIX epoch
  // `index` is where load() reads from; it must outlive this object.
  PolicyCacheView(const PolicyIndex& index, std::size_t capacity, Clock clock);

  // The cached decision's `allowed`, or nullopt (not cached, expired, dropped).
  std::optional<bool> lookup(std::string_view principal, std::string_view action,
                             std::string_view resource);
  void set_capacity(std::size_t capacity);  // shrinking evicts the least recent
  PolicyCacheStats statistics() const;

  std::string_view name() const override { return "policy_cache"; }
  void staging(const log::AppendRequest& req, Seq first_seq) override;
  void finish_group(bool committed) override;
  Status load(const log::EventLog& log) override;
};

}  // namespace omni::projections
