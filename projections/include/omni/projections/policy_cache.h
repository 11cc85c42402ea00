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
// only briefly per decision; statistics are relaxed atomics. What changes the set
// of entries (the leader's inserts and invalidations, set_capacity, load, and a
// lookup dropping an expired entry) is serialised by one writer mutex that a hit
// never takes.
//
// Recency: each shard keeps an exact LRU list; across shards, entries carry a tick
// (an insert takes a new one; a hit takes "newer than every insert so far"), and
// the victim is the oldest of the shards' tails. So the order is exact LRU except
// that hits between two inserts count as equally recent.
#pragma once

#include <array>
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
#include <unordered_set>
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
  PolicyCacheView(const PolicyCacheView&) = delete;  // holds mutexes and self-referencing maps
  PolicyCacheView& operator=(const PolicyCacheView&) = delete;

  // The cached decision's `allowed`, or nullopt (not cached, expired, dropped).
  std::optional<bool> lookup(std::string_view principal, std::string_view action,
                             std::string_view resource);
  void set_capacity(std::size_t capacity);  // shrinking evicts the least recent
  PolicyCacheStats statistics() const;

  std::string_view name() const override { return "policy_cache"; }
  void staging(const log::AppendRequest& req, Seq first_seq) override;
  void finish_group(bool committed) override;
  Status load(const log::EventLog& log) override;

 private:
  struct Entry {
    std::string key;  // principal \0 action \0 resource
    Decision d;
    std::uint64_t tick = 0;
  };
  static constexpr std::size_t kShards = 32;
  struct alignas(64) Shard {
    std::mutex mu;
    std::list<Entry> lru;  // most recent first
    std::unordered_map<std::string_view, std::list<Entry>::iterator> map;  // views into lru
    std::atomic<std::uint64_t> hits{0}, misses{0}, expirations{0};
  };
  // A pending change of the group in progress (finish_group applies them in order).
  struct Pending {
    std::optional<Decision> decision;  // set: insert it
    std::vector<std::string> names;    // else: drop the decisions naming these
  };

  Shard& shard_of(std::string_view key);
  // The helpers below need writer_mu_ held.
  void insert_locked(Decision d);
  void drop_name_locked(std::string_view name);
  // Removes the entry at it from shard s (s.mu held) and from by_name_.
  void erase_locked(Shard& s, std::list<Entry>::iterator it);
  void evict_to_capacity_locked();

  const PolicyIndex& index_;
  Clock clock_;
  std::array<Shard, kShards> shards_;
  std::mutex writer_mu_;
  // name -> keys of the cached decisions naming it; guarded by writer_mu_.
  std::unordered_map<std::string, std::unordered_set<std::string>> by_name_;
  std::atomic<std::uint64_t> tick_{0};  // written under writer_mu_
  std::atomic<std::size_t> size_{0}, capacity_;
  std::atomic<std::uint64_t> invalidations_{0};
  std::vector<Pending> pending_;  // leader-only
};

}  // namespace omni::projections
