#include "omni/projections/policy_cache.h"

#include <time.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <random>
#include <utility>

namespace omni::projections {
namespace {

// A 64x64 -> 128-bit multiply folded to 64 bits (wyhash's "mum"): one round mixes
// a word into the state in a few cycles. Seeded per process, so the slots a
// caller's keys land in cannot be planned from outside.
inline std::uint64_t mum(std::uint64_t a, std::uint64_t b) {
  const unsigned __int128 m = static_cast<unsigned __int128>(a) * b;
  return static_cast<std::uint64_t>(m) ^ static_cast<std::uint64_t>(m >> 64);
}
constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ull;

std::uint64_t process_seed() {
  static const std::uint64_t seed = [] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^ 0xA0761D6478BD642Full;
  }();
  return seed;
}

inline std::uint64_t read64(const char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}
inline std::uint64_t read32(const char* p) {
  std::uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

// One part: its bytes read as words (short parts by overlapping reads, as wyhash
// does, so a part of up to 8 bytes costs one round), its length mixed in so that
// ("ab", "c") and ("a", "bc") differ.
inline std::uint64_t hash_part(std::uint64_t h, std::string_view s) {
  const char* p = s.data();
  const std::size_t n = s.size();
  h ^= n * 0xff51afd7ed558ccdull;
  if (n > 8) {
    std::size_t i = 0;
    for (; i + 8 < n; i += 8) h = mum(h ^ read64(p + i), kMul);
    return mum(h ^ read64(p + n - 8), kMul);
  }
  std::uint64_t w = 0;
  if (n >= 4) {
    w = (read32(p) << 32) | read32(p + n - 4);
  } else if (n > 0) {
    const auto b = [&](std::size_t i) {
      return static_cast<std::uint64_t>(static_cast<unsigned char>(p[i]));
    };
    w = (b(0) << 16) | (b(n >> 1) << 8) | b(n - 1);
  }
  return mum(h ^ w, kMul);
}

std::uint64_t hash_of(std::string_view principal, std::string_view action,
                      std::string_view resource) {
  std::uint64_t h = hash_part(process_seed(), principal);
  h = hash_part(h, action);
  h = hash_part(h, resource);
  // Final avalanche (MurmurHash3's fmix64): the shard takes the top bits, the
  // slot the low ones.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

// The coarse wall clock is read from the vDSO without a system call and without
// reading the (paravirtual) clock source: 6 ns a read against 31 ns for
// CLOCK_REALTIME on the cpp machine. It trails the true time by up to one tick
// (4 ms there, its resolution): adding the tick makes a decision expire up to a
// tick early, never late.
std::int64_t coarse_now_upper_bound() {
  static const std::int64_t tick_ns = [] {
    timespec res{};
    if (clock_getres(CLOCK_REALTIME_COARSE, &res) != 0) return std::int64_t{10'000'000};
    return static_cast<std::int64_t>(res.tv_sec) * 1'000'000'000 + res.tv_nsec;
  }();
  timespec t{};
  clock_gettime(CLOCK_REALTIME_COARSE, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec + tick_ns;
}

// Equality of short byte strings without a call per part: 8 bytes at a time.
inline bool same_bytes(const char* a, const char* b, std::size_t n) {
  std::uint64_t diff = 0;
  for (; n >= 8; a += 8, b += 8, n -= 8) {
    std::uint64_t x, y;
    std::memcpy(&x, a, 8);
    std::memcpy(&y, b, 8);
    diff |= x ^ y;
  }
  for (; n != 0; ++a, ++b, --n) diff |= static_cast<unsigned char>(*a ^ *b);
  return diff == 0;
}

// A relaxed increment for a counter whose writers hold a lock: no locked
// instruction on the hit path.
inline void bump(std::atomic<std::uint64_t>& c) {
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

}  // namespace

// --- Entries

bool PolicyCacheView::Entry::matches(std::string_view principal, std::string_view action,
                                     std::string_view resource) const {
  if (principal.size() != principal_len || action.size() != action_len ||
      resource.size() != resource_len) {
    return false;
  }
  const char* k = key();
  return same_bytes(k, principal.data(), principal_len) &&
         same_bytes(k + principal_len, action.data(), action_len) &&
         same_bytes(k + principal_len + action_len, resource.data(), resource_len);
}

Decision PolicyCacheView::Entry::decision() const {
  Decision d;
  const char* k = key();
  d.principal.assign(k, principal_len);
  d.action.assign(k + principal_len, action_len);
  d.resource.assign(k + principal_len + action_len, resource_len);
  d.allowed = allowed;
  d.seq = cold().seq;
  d.expires_ns = expires_ns;
  d.depends_on = cold().depends_on;
  return d;
}

namespace {
constexpr std::align_val_t kEntryAlign{64};
}  // namespace

PolicyCacheView::Entry* PolicyCacheView::make_entry(const Decision& d, std::uint64_t hash) {
  const std::size_t key_bytes = d.principal.size() + d.action.size() + d.resource.size();
  char* mem =
      static_cast<char*>(::operator new(Entry::cold_offset(key_bytes) + sizeof(Cold), kEntryAlign));
  Entry* e = new (mem) Entry;
  e->principal_len = static_cast<std::uint32_t>(d.principal.size());
  e->action_len = static_cast<std::uint32_t>(d.action.size());
  e->resource_len = static_cast<std::uint32_t>(d.resource.size());
  e->allowed = d.allowed;
  e->expires_ns = d.expires_ns;
  char* k = mem + sizeof(Entry);
  std::memcpy(k, d.principal.data(), d.principal.size());
  std::memcpy(k + d.principal.size(), d.action.data(), d.action.size());
  std::memcpy(k + d.principal.size() + d.action.size(), d.resource.data(), d.resource.size());
  Cold* c = new (mem + Entry::cold_offset(key_bytes)) Cold;
  c->hash = hash;
  c->seq = d.seq;
  c->depends_on = d.depends_on;
  return e;
}

void PolicyCacheView::free_entry(Entry* e) {
  e->cold().~Cold();
  e->~Entry();
  ::operator delete(static_cast<void*>(e), kEntryAlign);
}

// --- A shard: open-addressing table and LRU list

PolicyCacheView::Entry* PolicyCacheView::Shard::find(std::uint64_t hash, std::string_view principal,
                                                     std::string_view action,
                                                     std::string_view resource) const {
  if (slots.empty()) return nullptr;
  const std::size_t mask = slots.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& s = slots[i];
    if (s.e == nullptr) return nullptr;
    if (s.hash == hash && s.e->matches(principal, action, resource)) return s.e;
  }
}

void PolicyCacheView::Shard::insert(Entry* e) {
  if ((count + 1) * 2 > slots.size()) {
    std::vector<Slot> old =
        std::exchange(slots, std::vector<Slot>(std::max<std::size_t>(16, slots.size() * 2)));
    count = 0;
    for (const Slot& s : old) {
      if (s.e) insert(s.e);
    }
  }
  const std::size_t mask = slots.size() - 1;
  std::size_t i = e->cold().hash & mask;
  while (slots[i].e != nullptr) i = (i + 1) & mask;
  slots[i] = Slot{e->cold().hash, e};
  ++count;
}

void PolicyCacheView::Shard::remove(Entry* e) {
  const std::size_t mask = slots.size() - 1;
  std::size_t i = e->cold().hash & mask;
  while (slots[i].e != e) i = (i + 1) & mask;
  // Backward-shift deletion: later slots of the probe run move up into the hole
  // unless their home lies cyclically in (hole, slot], so no tombstones are needed.
  for (std::size_t j = (i + 1) & mask; slots[j].e != nullptr; j = (j + 1) & mask) {
    const std::size_t home = slots[j].hash & mask;
    const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    slots[i] = slots[j];
    i = j;
  }
  slots[i] = Slot{};
  --count;
}

void PolicyCacheView::Shard::push_newest(Entry* e) {
  Cold& c = e->cold();
  c.older = newest;
  c.newer = nullptr;
  if (newest) newest->cold().newer = e;
  newest = e;
  if (!oldest) oldest = e;
}

void PolicyCacheView::Shard::unlink(Entry* e) {
  Cold& c = e->cold();
  (c.newer ? c.newer->cold().older : newest) = c.older;
  (c.older ? c.older->cold().newer : oldest) = c.newer;
  c.newer = c.older = nullptr;
}

// --- The view

PolicyCacheView::PolicyCacheView(const PolicyIndex& index, std::size_t capacity, Clock clock)
    : index_(index), clock_(std::move(clock)), capacity_(capacity) {}

PolicyCacheView::~PolicyCacheView() {
  for (Shard& s : shards_) {
    for (Entry* e = s.newest; e != nullptr;) free_entry(std::exchange(e, e->cold().older));
  }
}

std::int64_t PolicyCacheView::now() const { return clock_ ? clock_() : coarse_now_upper_bound(); }

std::optional<bool> PolicyCacheView::lookup(std::string_view principal, std::string_view action,
                                            std::string_view resource) {
  const std::uint64_t hash = hash_of(principal, action, resource);
  const std::int64_t t = now();
  Shard& s = shard_of(hash);
  Seq expired = 0;
  {
    std::lock_guard l(s.mu);
    Entry* e = s.find(hash, principal, action, resource);
    if (e == nullptr) {
      bump(s.misses);
      return std::nullopt;
    }
    if (t < e->expires_ns) {
      bump(s.hits);
      // Newer than every insert so far; an entry already hit since the last insert
      // is at that rank (and in place in its list) and is left alone.
      const std::uint64_t tick = tick_.load(std::memory_order_relaxed) + 1;
      if (e->tick != tick) {
        e->tick = tick;
        if (s.newest != e) {
          s.unlink(e);
          s.push_newest(e);
        }
      }
      return e->allowed;
    }
    expired = e->cold().seq;
  }
  // Each decision expires once, so taking the writer mutex here is rare; the shard
  // lock was released first (the writer mutex is always taken before a shard's).
  s.expirations.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard w(writer_mu_);
  std::lock_guard l(s.mu);
  if (Entry* e = s.find(hash, principal, action, resource);
      e != nullptr && e->cold().seq == expired) {
    erase_locked(s, e);
  }
  return std::nullopt;
}

void PolicyCacheView::erase_locked(Shard& s, Entry* e) {
  const Decision d = e->decision();
  for (std::string_view n : decision_names(d)) {
    auto f = by_name_.find(std::string(n));
    if (f == by_name_.end()) continue;
    f->second.erase(e);
    if (f->second.empty()) by_name_.erase(f);
  }
  s.remove(e);
  s.unlink(e);
  free_entry(e);
  size_.fetch_sub(1, std::memory_order_relaxed);
}

void PolicyCacheView::insert_locked(Decision d) {
  const std::uint64_t hash = hash_of(d.principal, d.action, d.resource);
  Shard& s = shard_of(hash);
  Entry* e = make_entry(d, hash);
  {
    std::lock_guard l(s.mu);
    // A newer decision of the triple replaces the older one (and its names).
    if (Entry* old = s.find(hash, d.principal, d.action, d.resource)) erase_locked(s, old);
    // Under the shard lock, so a hit of this shard never ranks above the insert
    // with a tick taken before it.
    const std::uint64_t tick = tick_.load(std::memory_order_relaxed) + 2;
    tick_.store(tick, std::memory_order_relaxed);
    e->tick = tick;
    s.insert(e);
    s.push_newest(e);
    size_.fetch_add(1, std::memory_order_relaxed);
  }
  for (std::string_view n : decision_names(d)) by_name_[std::string(n)].insert(e);
  evict_to_capacity_locked();
}

void PolicyCacheView::evict_to_capacity_locked() {
  while (size_.load(std::memory_order_relaxed) > capacity_.load(std::memory_order_relaxed)) {
    // The victim: the oldest of the shards' least recent entries.
    Shard* victim = nullptr;
    std::uint64_t oldest = std::numeric_limits<std::uint64_t>::max();
    for (Shard& s : shards_) {
      std::lock_guard l(s.mu);
      if (s.oldest && s.oldest->tick < oldest) {
        oldest = s.oldest->tick;
        victim = &s;
      }
    }
    if (!victim) return;
    std::lock_guard l(victim->mu);
    if (victim->oldest) erase_locked(*victim, victim->oldest);
  }
}

void PolicyCacheView::drop_name_locked(std::string_view name) {
  auto f = by_name_.find(std::string(name));
  if (f == by_name_.end()) return;
  const std::unordered_set<Entry*> entries = std::move(f->second);
  by_name_.erase(f);
  for (Entry* e : entries) {
    Shard& s = shard_of(e->cold().hash);
    std::lock_guard l(s.mu);
    erase_locked(s, e);
    invalidations_.fetch_add(1, std::memory_order_relaxed);
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
  const std::int64_t now = this->now();
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
