#include "omni/projections/policy_cache.h"

#include <algorithm>
#include <limits>

namespace omni::projections {
namespace {

void make_key(std::string* k, std::string_view principal, std::string_view action, std::string_view resource) {
  k->clear();
  k->append(principal).push_back('\0');
  k->append(action).push_back('\0');
  k->append(resource);
}

}  // namespace

PolicyCacheView::PolicyCacheView(const PolicyIndex& index, std::size_t capacity, Clock clock)
    : index_(index), clock_(std::move(clock)), capacity_(capacity) {}

PolicyCacheView::Shard& PolicyCacheView::shard_of(std::string_view key) {
  // The high bits: the shard's own map buckets by the low ones.
  return shards_[(std::hash<std::string_view>{}(key) >> 20) % kShards];
}

std::optional<bool> PolicyCacheView::lookup(std::string_view principal, std::string_view action,
                                            std::string_view resource) {
  // Reused per thread: a hit allocates nothing.
  thread_local std::string key;
  make_key(&key, principal, action, resource);
  const std::int64_t now = clock_();
  Shard& s = shard_of(key);
  Seq expired = 0;
  {
    std::lock_guard l(s.mu);
    auto it = s.map.find(key);
    if (it == s.map.end()) {
      s.misses.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    Entry& e = *it->second;
    if (now < e.d.expires_ns) {
      s.hits.fetch_add(1, std::memory_order_relaxed);
      e.tick = tick_.load(std::memory_order_relaxed) + 1;  // newer than every insert so far
      if (it->second != s.lru.begin()) s.lru.splice(s.lru.begin(), s.lru, it->second);
      return e.d.allowed;
    }
    expired = e.d.seq;
  }
  // Each decision expires once, so taking the writer mutex here is rare; the shard
  // lock was released first (the writer mutex is always taken before a shard's).
  s.expirations.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard w(writer_mu_);
  std::lock_guard l(s.mu);
  if (auto it = s.map.find(key); it != s.map.end() && it->second->d.seq == expired) {
    erase_locked(s, it->second);
  }
  return std::nullopt;
}

void PolicyCacheView::erase_locked(Shard& s, std::list<Entry>::iterator it) {
  for (std::string_view n : decision_names(it->d)) {
    auto f = by_name_.find(std::string(n));
    if (f == by_name_.end()) continue;
    f->second.erase(it->key);
    if (f->second.empty()) by_name_.erase(f);
  }
  s.map.erase(it->key);
  s.lru.erase(it);
  size_.fetch_sub(1, std::memory_order_relaxed);
}

void PolicyCacheView::insert_locked(Decision d) {
  std::string key;
  make_key(&key, d.principal, d.action, d.resource);
  const std::uint64_t tick = tick_.load(std::memory_order_relaxed) + 2;
  tick_.store(tick, std::memory_order_relaxed);
  const std::vector<std::string_view> views = decision_names(d);
  const std::vector<std::string> names(views.begin(), views.end());  // before d moves
  Shard& s = shard_of(key);
  {
    std::lock_guard l(s.mu);
    // A newer decision of the triple replaces the older one (and its names).
    if (auto it = s.map.find(key); it != s.map.end()) erase_locked(s, it->second);
    s.lru.push_front(Entry{key, std::move(d), tick});
    s.map.emplace(s.lru.front().key, s.lru.begin());
    size_.fetch_add(1, std::memory_order_relaxed);
  }
  for (const std::string& n : names) by_name_[n].insert(key);
  evict_to_capacity_locked();
}

void PolicyCacheView::evict_to_capacity_locked() {
  while (size_.load(std::memory_order_relaxed) > capacity_.load(std::memory_order_relaxed)) {
    // The victim: the oldest of the shards' least recent entries.
    Shard* victim = nullptr;
    std::uint64_t oldest = std::numeric_limits<std::uint64_t>::max();
    for (Shard& s : shards_) {
      std::lock_guard l(s.mu);
      if (!s.lru.empty() && s.lru.back().tick < oldest) {
        oldest = s.lru.back().tick;
        victim = &s;
      }
    }
    if (!victim) return;
    std::lock_guard l(victim->mu);
    if (!victim->lru.empty()) erase_locked(*victim, std::prev(victim->lru.end()));
  }
}

void PolicyCacheView::drop_name_locked(std::string_view name) {
  auto f = by_name_.find(std::string(name));
  if (f == by_name_.end()) return;
  const std::unordered_set<std::string> keys = std::move(f->second);
  by_name_.erase(f);
  for (const std::string& key : keys) {
    Shard& s = shard_of(key);
    std::lock_guard l(s.mu);
    if (auto it = s.map.find(key); it != s.map.end()) {
      erase_locked(s, it->second);
      invalidations_.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void PolicyCacheView::set_capacity(std::size_t capacity) {
  std::lock_guard w(writer_mu_);
  capacity_.store(capacity, std::memory_order_relaxed);
  evict_to_capacity_locked();
}

PolicyCacheStats PolicyCacheView::statistics() const {
  PolicyCacheStats st;
  st.size = size_.load(std::memory_order_relaxed);
  st.capacity = capacity_.load(std::memory_order_relaxed);
  st.invalidations = invalidations_.load(std::memory_order_relaxed);
  for (const Shard& s : shards_) {
    st.hits += s.hits.load(std::memory_order_relaxed);
    st.misses += s.misses.load(std::memory_order_relaxed);
    st.expirations += s.expirations.load(std::memory_order_relaxed);
  }
  return st;
}

void PolicyCacheView::staging(const log::AppendRequest& req, Seq first_seq) {
  for (std::size_t i = 0; i < req.events.size(); ++i) {
    const log::EventDraft& d = req.events[i];
    // A store (the common write) costs one comparison here.
    if (d.type == log::EventType::DataStored) continue;
    const std::vector<std::string_view> names = invalidated_names(d);
    if (!names.empty()) {
      // Dropped now, before the batch is visible: no reader can be answered from a
      // decision this write revokes once the write returns, even if it fails.
      std::lock_guard w(writer_mu_);
      for (std::string_view n : names) drop_name_locked(n);
      pending_.push_back({std::nullopt, std::vector<std::string>(names.begin(), names.end())});
    }
    if (d.type == log::EventType::PolicyDecided) {
      Decision dec;
      dec.principal = d.attrs.principal;
      dec.action = d.attrs.action;
      dec.resource = d.key;
      dec.allowed = d.attrs.allowed;
      dec.seq = first_seq + i;
      dec.expires_ns = req.timestamp_ns > std::numeric_limits<std::int64_t>::max() - d.attrs.ttl_ns
                           ? std::numeric_limits<std::int64_t>::max()
                           : req.timestamp_ns + d.attrs.ttl_ns;
      dec.depends_on = d.attrs.names;
      pending_.push_back({std::move(dec), {}});
    }
  }
}

void PolicyCacheView::finish_group(bool committed) {
  if (committed && !pending_.empty()) {
    // In seq order: a decision followed by an invalidating change of the same group
    // is inserted, then dropped again.
    std::lock_guard w(writer_mu_);
    for (Pending& p : pending_) {
      if (p.decision) {
        insert_locked(std::move(*p.decision));
      } else {
        for (const std::string& n : p.names) drop_name_locked(n);
      }
    }
  }
  pending_.clear();
}

Status PolicyCacheView::load(const log::EventLog&) {
  const std::int64_t now = clock_();
  std::vector<Decision> live;
  OMNI_RETURN_IF_ERROR(index_.for_each([&](const Decision& d) {
    if (now < d.expires_ns) live.push_back(d);
    return true;
  }));
  // The newest up to capacity, inserted oldest first so the newest are the most recent.
  std::sort(live.begin(), live.end(), [](const Decision& a, const Decision& b) { return a.seq > b.seq; });
  if (live.size() > capacity_.load()) live.resize(capacity_.load());
  std::lock_guard w(writer_mu_);
  for (auto it = live.rbegin(); it != live.rend(); ++it) insert_locked(std::move(*it));
  return Status();
}

}  // namespace omni::projections
