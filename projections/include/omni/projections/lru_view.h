// LruView: the in-memory view of recent documents in front of the state projection.
//
// O(1) get / put / erase: a hash map of nodes threaded on an intrusive recency list.
// Each entry carries the seq it reflects; writes use put_if_newer so concurrent
// writers and readers can update the view in any order and it still converges to the
// newest committed value. An entry with a null document records "absent at seq"
// (deletes, and misses read from the state), so repeated misses are hits too.
//
// [Threading] All methods are thread-safe. The eviction callback runs after the
// view's lock is released, on the thread whose insert caused the eviction.
#pragma once

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

namespace omni::projections {

class LruView {
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

  // Inserts or replaces unconditionally (manual cache().put()).
  void put(std::string_view key, Entry e);
  // Inserts, or replaces an entry with a smaller seq. Returns whether it stored.
  bool put_if_newer(std::string_view key, Entry e);
  // For the read path: like put_if_newer, but an absent key is only inserted if no
  // entry with seq > read_snapshot has been evicted since - otherwise a value read
  // before a newer write could come back after that newer write was evicted.
  // `read_snapshot` is the log head observed before the state was read.
  bool fill(std::string_view key, Entry e, Seq read_snapshot);
  bool erase(std::string_view key);
  void clear();

  // Shrinking evicts least recently used entries (the callback sees each).
  void set_capacity(std::size_t capacity);
  void set_on_evict(EvictFn fn);

  std::size_t size() const;
  std::size_t capacity() const;
  std::uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  std::uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
  std::uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }

 private:
  struct Node {
    Entry entry;
    Node* prev = nullptr;
    Node* next = nullptr;
    const std::string* key = nullptr;  // the map's own key
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, Node, Hash, std::equal_to<>>;
  using Evicted = std::vector<std::pair<std::string, Doc>>;

  void unlink(Node* n);
  void push_front(Node* n);
  void insert_locked(std::string_view key, Entry e, Evicted* evicted);
  void evict_locked(Evicted* evicted);
  void notify(Evicted& evicted);

  mutable std::mutex mu_;
  Map map_;
  Node head_;  // sentinel: head_.next is the most recent, head_.prev the least
  std::size_t capacity_;
  Seq max_evicted_seq_ = 0;
  std::shared_ptr<const EvictFn> on_evict_;
  std::atomic<std::uint64_t> hits_{0}, misses_{0}, evictions_{0};
};

}  // namespace omni::projections
