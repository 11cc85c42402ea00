#include "omni/projections/lru_view.h"

#include <algorithm>

namespace omni::projections {

void LruView::unlink(Node* n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
}

void LruView::push_front(Node* n) {
  n->prev = &head_;
  n->next = head_.next;
  head_.next->prev = n;
  head_.next = n;
  n->stamp = ++tick_;
}

std::optional<LruView::Entry> LruView::get(std::string_view key) {
  std::lock_guard l(mu_);
  auto it = map_.find(key);
  if (it == map_.end()) {
    bump(misses_);
    return std::nullopt;
  }
  bump(hits_);
  Node* n = &it->second;
  if (tick_ - n->stamp >= std::max<std::size_t>(1, capacity_ / 2)) {
    unlink(n);
    push_front(n);
  }
  return n->entry;
}

std::optional<LruView::Entry> LruView::peek(std::string_view key) const {
  std::lock_guard l(mu_);
  auto it = map_.find(key);
  if (it == map_.end()) return std::nullopt;
  return it->second.entry;
}

bool LruView::insert_locked(std::string_view key, Entry e, Evicted* evicted) {
  if (capacity_ == 0) return false;
  auto [it, inserted] = map_.try_emplace(std::string(key));
  Node* n = &it->second;
  if (inserted) {
    n->key = &it->first;
  } else {
    unlink(n);
  }
  n->entry = std::move(e);
  push_front(n);
  evict_locked(evicted);
  return true;
}

void LruView::evict_locked(Evicted* evicted) {
  while (map_.size() > capacity_) {
    Node* victim = head_.prev;
    unlink(victim);
    auto it = map_.find(*victim->key);
    Seq& w = watermark(it->first);
    if (victim->entry.seq > w) w = victim->entry.seq;
    if (on_evict_) evicted->emplace_back(it->first, std::move(victim->entry.doc));
    map_.erase(it);
    bump(evictions_);
  }
}

void LruView::notify(Evicted& evicted) {
  if (evicted.empty()) return;
  std::shared_ptr<const EvictFn> fn;
  {
    std::lock_guard l(mu_);
    fn = on_evict_;
  }
  if (!fn) return;
  for (auto& [k, d] : evicted) (*fn)(k, d);
}

bool LruView::put(std::string_view key, Entry e, Seq read_snapshot) {
  Evicted evicted;
  bool stored = false;
  {
    std::lock_guard l(mu_);
    auto it = map_.find(key);
    // Absent: a write of the bucket invalidated (or an entry evicted) after the
    // caller's snapshot may be this key's newer version, so the put loses to it.
    // Present: the entry's seq says which is newer; equal means the same version, and
    // then the caller's document overrides the cached one (that is what put is for).
    const Seq newest = it == map_.end() ? watermark(key) : it->second.entry.seq;
    if (newest <= read_snapshot) stored = insert_locked(key, std::move(e), &evicted);
  }
  notify(evicted);
  return stored;
}

bool LruView::fill(std::string_view key, Entry e, Seq read_snapshot) {
  Evicted evicted;
  bool stored = false;
  {
    std::lock_guard l(mu_);
    auto it = map_.find(key);
    // Absent: as in put(). Present: only a strictly newer version replaces, so a
    // refill of the same version never undoes a manual put().
    const bool admit =
        it == map_.end() ? watermark(key) <= read_snapshot : it->second.entry.seq < e.seq;
    if (admit) stored = insert_locked(key, std::move(e), &evicted);
  }
  notify(evicted);
  return stored;
}

void LruView::staging(const log::AppendRequest& req, Seq first_seq) {
  for (std::size_t i = 0; i < req.events.size(); ++i) {
    const log::EventDraft& d = req.events[i];
    if (d.type == log::EventType::DataStored || d.type == log::EventType::DataDeleted) {
      invalidate(d.key, first_seq + i);
    }
  }
}

void LruView::invalidate(std::string_view key, Seq seq) {
  std::lock_guard l(mu_);
  Seq& w = watermark(key);
  if (seq > w) w = seq;
  auto it = map_.find(key);
  if (it == map_.end()) return;
  unlink(&it->second);
  map_.erase(it);
}

bool LruView::erase(std::string_view key) {
  std::lock_guard l(mu_);
  auto it = map_.find(key);
  if (it == map_.end()) return false;
  unlink(&it->second);
  map_.erase(it);
  return true;
}

void LruView::clear() {
  std::lock_guard l(mu_);
  map_.clear();
  head_.next = head_.prev = &head_;
}

void LruView::set_capacity(std::size_t capacity) {
  Evicted evicted;
  {
    std::lock_guard l(mu_);
    capacity_ = capacity;
    evict_locked(&evicted);
  }
  notify(evicted);
}

void LruView::set_on_evict(EvictFn fn) {
  std::lock_guard l(mu_);
  on_evict_ = fn ? std::make_shared<const EvictFn>(std::move(fn)) : nullptr;
}

std::size_t LruView::size() const {
  std::lock_guard l(mu_);
  return map_.size();
}

std::size_t LruView::capacity() const {
  std::lock_guard l(mu_);
  return capacity_;
}

}  // namespace omni::projections
