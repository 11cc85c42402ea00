// Policy cache view: the in-memory, LRU-bounded cache of live decisions that
// get_cached_policy() answers from. Filled at open from the PolicyIndex (load()),
// kept in step with the log by the group leader:
//  - staging(): every name a request's events invalidate (invalidated_names())
//    drops its decisions at once, even before the batch is written;
//  - finish_group(true): the group's decisions and invalidations are applied in
//    seq order, so a decision followed by an invalidating change in the same group
//    stays dropped. All before the writers return.
// TTL is judged on lookup against the clock: the injected one when given, else
// the coarse wall clock plus its resolution (a few ms), so a decision may be
// judged expired up to one clock tick early, never late.
// [Threading] lookup() takes only the lock of its shard, which the leader holds
// only briefly per decision; statistics are relaxed atomics. What changes the set
// of entries (the leader's inserts and invalidations, set_capacity, load, and a
// lookup dropping an expired entry) is serialised by one writer mutex that a hit
// never takes.
//
// Recency: each shard keeps an exact LRU list; across shards, entries carry a tick
// (an insert takes a new one; a hit takes "newer than every insert so far"), and
// the victim is the oldest of the shards' tails. So the order is exact LRU except
// that hits between two inserts count as equally recent — which is also why a hit
// on an entry already hit since the last insert writes nothing.
//
// Layout (the hit path, measured in bench/policy_bench.cc): the three parts are
// hashed in place (no key string is built); a shard is an open-addressing table of
// (hash, entry) slots; an entry is one allocation holding its expiry, `allowed`
// and the key bytes, so a hit reads the slot array and one entry.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
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
  // `index` is where load() reads from; it must outlive this object. An empty
  // `clock` is the coarse wall clock (see above).
  PolicyCacheView(const PolicyIndex& index, std::size_t capacity, Clock clock);
  PolicyCacheView(const PolicyCacheView&) = delete;  // holds mutexes and owns raw entries
  PolicyCacheView& operator=(const PolicyCacheView&) = delete;
  ~PolicyCacheView() override;

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
  // One 64-byte aligned allocation: Entry (what every lookup reads), then the key
  // bytes (principal, action, resource, back to back), then Cold (what the writer
  // and the LRU order need). A key of up to 32 bytes shares one cache line with
  // the fields a hit reads. Lives from insert to erase.
  struct Entry;
  struct Cold {
    std::uint64_t hash = 0;
    Seq seq = 0;
    Entry* newer = nullptr;  // towards the shard's most recent
    Entry* older = nullptr;
    std::vector<std::string> depends_on;
  };
  struct Entry {
    std::uint32_t principal_len = 0, action_len = 0, resource_len = 0;
    bool allowed = false;
    std::int64_t expires_ns = 0;
    std::uint64_t tick = 0;

    const char* key() const { return reinterpret_cast<const char*>(this + 1); }
    static std::size_t cold_offset(std::size_t key_bytes) {
      return (sizeof(Entry) + key_bytes + alignof(Cold) - 1) / alignof(Cold) * alignof(Cold);
    }
    Cold& cold() const {
      return *reinterpret_cast<Cold*>(
          reinterpret_cast<char*>(const_cast<Entry*>(this)) +
          cold_offset(std::size_t{principal_len} + action_len + resource_len));
    }
    bool matches(std::string_view principal, std::string_view action,
                 std::string_view resource) const;
    Decision decision() const;  // a copy (the writer's rare paths)
  };
  static_assert(sizeof(Entry) == 32);
  static Entry* make_entry(const Decision& d, std::uint64_t hash);
  static void free_entry(Entry* e);

  // A shard's lock: held for a probe and a few pointer moves (a table growth, the
  // longest, moves its slots once), so a waiter spins briefly, then yields. Taking
  // it is one locked instruction and releasing it a plain store, where a
  // std::mutex costs two locked instructions per hit.
  class SpinLock {
   public:
    void lock() {
      while (locked_.exchange(true, std::memory_order_acquire)) {
        for (int i = 0; locked_.load(std::memory_order_relaxed); ++i) {
          if (i >= 64) std::this_thread::yield();
        }
      }
    }
    void unlock() { locked_.store(false, std::memory_order_release); }

   private:
    std::atomic<bool> locked_{false};
  };

  static constexpr std::size_t kShards = 32;
  // Open addressing, linear probing, at most half full; slot.e == nullptr: empty.
  struct Slot {
    std::uint64_t hash = 0;
    Entry* e = nullptr;
  };
  struct alignas(64) Shard {
    SpinLock mu;
    std::vector<Slot> slots;  // size a power of two (or 0)
    std::size_t count = 0;
    Entry* newest = nullptr;  // LRU list: newest .. oldest
    Entry* oldest = nullptr;
    // Written under mu (a load and a store, no read-modify-write), read without it.
    std::atomic<std::uint64_t> hits{0}, misses{0};
    std::atomic<std::uint64_t> expirations{0};

    Entry* find(std::uint64_t hash, std::string_view principal, std::string_view action,
                std::string_view resource) const;
    void insert(Entry* e);  // not present yet
    void remove(Entry* e);  // present
    void push_newest(Entry* e);
    void unlink(Entry* e);
  };
  // A pending change of the group in progress (finish_group applies them in order).
  struct Pending {
    std::optional<Decision> decision;  // set: insert it
    std::vector<std::string> names;    // else: drop the decisions naming these
  };

  // The top 5 bits pick the shard, the low bits the slot.
  Shard& shard_of(std::uint64_t hash) { return shards_[hash >> 59]; }
  static_assert(kShards == 32);
  std::int64_t now() const;
  // The helpers below need writer_mu_ held.
  void insert_locked(Decision d);
  void drop_name_locked(std::string_view name);
  // Removes e from shard s (s.mu held) and from by_name_, and frees it.
  void erase_locked(Shard& s, Entry* e);
  void evict_to_capacity_locked();

  const PolicyIndex& index_;
  Clock clock_;
  std::array<Shard, kShards> shards_;
  std::mutex writer_mu_;
  // name -> the cached decisions naming it; guarded by writer_mu_.
  std::unordered_map<std::string, std::unordered_set<Entry*>> by_name_;
  std::atomic<std::uint64_t> tick_{0};  // written under writer_mu_
  std::atomic<std::size_t> size_{0}, capacity_;
  std::atomic<std::uint64_t> invalidations_{0};
  std::vector<Pending> pending_;  // leader-only
};

}  // namespace omni::projections
