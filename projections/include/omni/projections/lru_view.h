// LruView: the in-memory view of recent documents in front of the state projection.
//
// O(1) get / put / erase: a hash map of nodes threaded on an intrusive recency list.
// Recency is by last promotion: a hit moves its entry to the front unless the entry
// is already among the capacity/2 most recently promoted or inserted ones (then it
// cannot be the next victim anyway). That spares hot entries the pointer writes to
// their neighbours; for capacities below 4 the order is exact LRU.
// An entry with a null document records "absent at seq" (deletes, and misses read
// from the state), so repeated misses are hits too.
//
// Never stale. Each entry carries the seq it reflects, and the view keeps, per hash
// bucket of keys, a watermark: the highest seq of any entry removed from that bucket
// by a write (invalidate) or by eviction. The group-commit leader invalidates a
// key with its new seq *before* the write becomes visible; afterwards every insert
// goes through fill(), which refuses a value read before a newer write of that
// bucket was invalidated or evicted. So neither a slow reader nor a slow writer of
// an older version can put that version back once a newer one is committed.
// A manual put() obeys the same watermarks: it cannot outlive a write that was
// invalidated after the head its caller observed.
//
// [Threading] All methods are thread-safe. The eviction callback runs after the
// view's lock is released, on the thread whose insert caused the eviction.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "omni/log/event.h"
#include "omni/projections/projection.h"

namespace omni::projections {

class LruView final : public View {
 public:
  using Doc = std::shared_ptr<const nlohmann::json>;
  struct Entry {
    Seq seq = 0;
    Doc doc;  // null = the key is absent as of seq
  };
  using EvictFn = std::function<void(const std::string& key, const Doc& doc)>;

  explicit LruView(std::size_t capacity) : capacity_(capacity) { head_.next = head_.prev = &head_; }
  LruView(const LruView&) = delete;  // owns a self-referential list
  LruView& operator=(const LruView&) = delete;

  // The entry for key, marking it most recently used; counts a hit or a miss.
  std::optional<Entry> get(std::string_view key);
  // Same as get() but changes neither recency nor counters.
  std::optional<Entry> peek(std::string_view key) const;

  // A manual put (cache().put()): the caller's document overrides what is cached, as
  // of read_snapshot, the log head it observed before the put (e.seq is normally
  // read_snapshot). Replaces an entry only if that entry's seq <= read_snapshot (an
  // entry of a newer committed write wins); inserts an absent key only if nothing in
  // its bucket with seq > read_snapshot was invalidated or evicted (a write
  // invalidated after the snapshot wins: the put counts as ordered before that write,
  // whose invalidation either already dropped the entry or refuses it here). Returns
  // whether it stored; false is conservative (another key of the bucket may have
  // raised the watermark), so a caller may retry with a fresher head.
  bool put(std::string_view key, Entry e, Seq read_snapshot);
  // A value read from the state, or a writer's own value after its commit: replaces
  // an entry only if e.seq is greater; inserts an absent key only if nothing in its
  // bucket with seq > read_snapshot was invalidated or evicted. read_snapshot is the
  // log head observed before the value was read. A writer passes its own seq, or its
  // request's last seq for the request's last write of the key (an earlier write of
  // the same key in the request would be let in by that snapshot, though stale).
  // Returns whether it stored.
  bool fill(std::string_view key, Entry e, Seq read_snapshot);
  // Drops key ahead of a write with sequence `seq` (see above).
  void invalidate(std::string_view key, Seq seq);
  // View: invalidates the key of each data event of the request.
  std::string_view name() const override { return "lru_view"; }
  void staging(const log::AppendRequest& req, Seq first_seq) override;
  // Drops key (manual invalidation; no write is coming).
  bool erase(std::string_view key);
  void clear();

  // Shrinking evicts least recently used entries (the callback sees each).
  void set_capacity(std::size_t capacity);
  void set_on_evict(EvictFn fn);

  std::size_t size() const;
  std::size_t capacity() const;
  // Counters are written under the lock (no atomic read-modify-write on the hit
  // path) and readable without it.
  std::uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  std::uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
  std::uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }

 private:
  struct Node {
    Entry entry;
    Node* prev = nullptr;
    Node* next = nullptr;
    const std::string* key = nullptr;  // the map's own key
    std::uint64_t stamp = 0;           // tick_ when last promoted or inserted
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, Node, Hash, std::equal_to<>>;
  using Evicted = std::vector<std::pair<std::string, Doc>>;

  void unlink(Node* n);
  void push_front(Node* n);
  static void bump(std::atomic<std::uint64_t>& c) {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  // Returns whether it stored (not with capacity 0).
  bool insert_locked(std::string_view key, Entry e, Evicted* evicted);
  void evict_locked(Evicted* evicted);
  void notify(Evicted& evicted);

  mutable std::mutex mu_;
  Map map_;
  Node head_;  // sentinel: head_.next is the most recent, head_.prev the least
  std::size_t capacity_;
  std::uint64_t tick_ = 0;
  static constexpr std::size_t kWatermarks = 1024;
  Seq& watermark(std::string_view key) { return watermarks_[Hash{}(key) % kWatermarks]; }
  std::array<Seq, kWatermarks> watermarks_{};
  std::shared_ptr<const EvictFn> on_evict_;
  std::atomic<std::uint64_t> hits_{0}, misses_{0}, evictions_{0};
};

}  // namespace omni::projections
