#include "redis_in_order.h"

#include <algorithm>

#include "redis_json_fields.h"
#include "redis_script_call.h"

namespace omni::sinks::redis {

KnownFields::KnownFields(std::size_t entries) {
  std::size_t n = 1;
  while (n * 4 < entries) n *= 2;
  if (entries > 0) {
    buckets_ = std::make_unique<Bucket[]>(n);
    mask_ = n - 1;
  }
}

std::uint64_t KnownFields::id(std::string_view key) {
  const std::uint64_t h = std::hash<std::string_view>{}(key);
  return h == 0 ? 1 : h;  // 0 marks an empty slot
}

bool KnownFields::matches(std::uint64_t k, std::uint64_t fingerprint) const {
  if (!buckets_) return false;
  std::lock_guard l(mu_);
  for (const Slot& s : bucket(k)->slots) {
    if (s.key == k) return s.fingerprint == fingerprint;
  }
  return false;
}

void KnownFields::prefetch(std::uint64_t k) const {
  if (buckets_) __builtin_prefetch(bucket(k));
}

void KnownFields::put(std::uint64_t k, std::uint64_t fingerprint) {
  if (!buckets_) return;
  std::lock_guard l(mu_);
  Slot* slots = bucket(k)->slots;
  Slot* free = nullptr;
  for (int i = 0; i < 4; ++i) {
    if (slots[i].key == k) {
      slots[i].fingerprint = fingerprint;
      return;
    }
    if (slots[i].key == 0 && !free) free = &slots[i];
  }
  // Full: one of the four makes room (chosen by the key's other bits).
  if (!free) free = &slots[(k >> 60) & 3];
  *free = {k, fingerprint};
}

void KnownFields::forget(std::string_view key) {
  if (!buckets_) return;
  const std::uint64_t k = id(key);
  std::lock_guard l(mu_);
  for (Slot& s : bucket(k)->slots) {
    if (s.key == k) s = Slot{};
  }
}

void KnownFields::clear() {
  if (!buckets_) return;
  std::lock_guard l(mu_);
  std::fill(buckets_.get(), buckets_.get() + mask_ + 1, Bucket{});
}

bool in_order_eligible(const ChangeBatch& batch, std::size_t min_changes) {
  if (batch.reseed || !batch.expected_watermark || batch.through == 0 || batch.through > kMaxSeq ||
      batch.changes.empty() || batch.changes.size() < min_changes) {
    return false;
  }
  const Seq above = batch.expected_watermark->value_or(0);
  Seq prev = above;
  for (const Change& c : batch.changes) {
    if (c.type != ChangeType::kStore || c.seq <= prev || c.seq > batch.through) return false;
    prev = c.seq;
  }
  return true;
}

namespace {

// Of the stored field names, in order (nlohmann writes an object's fields sorted,
// so one document shape always gives one fingerprint). Lengths are mixed in, so
// no two lists of names concatenate alike.
std::uint64_t fingerprint(const std::string* names, std::size_t n) {
  std::uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t x = std::hash<std::string_view>{}(names[i]) ^ (std::uint64_t{names[i].size()} << 48);
    h = (h ^ x) * 0xff51afd7ed558ccdull;
    h ^= h >> 33;
  }
  return h;
}

// Where `key` is in block->planned, or the empty slot where it goes.
std::uint32_t* planned_slot(InOrderBlock& block, std::uint64_t id, std::string_view key) {
  const std::size_t mask = block.planned.size() - 1;
  std::size_t i = id & mask;
  while (block.planned[i] != 0 && block.stores[block.planned[i] - 1].key != key) i = (i + 1) & mask;
  return &block.planned[i];
}

// `slots` slots, every key's last store put back.
void refill_planned(std::size_t slots, InOrderBlock* block) {
  block->planned.assign(slots, 0);
  for (std::size_t i = 0; i < block->stores.size(); ++i) {
    *planned_slot(*block, block->stores[i].id, block->stores[i].key) = static_cast<std::uint32_t>(i + 1);
  }
}

// Past what the block applies: the whole batch, or up to the next change still to come.
void set_through(const ChangeBatch& batch, InOrderBlock* block) {
  block->through =
      std::to_string(block->end == batch.changes.size() ? batch.through : batch.changes[block->end].seq - 1);
}

}  // namespace

void start_in_order(std::size_t first, InOrderBlock* block) {
  block->first = block->end = first;
  block->through.clear();
  block->bytes = 0;
  block->stores.clear();
  block->names.clear();
  block->values.clear();
  block->unknown.clear();
  // Room for a block of 1,000 stores at most half full; emptied, not freed.
  if (block->planned.empty()) {
    block->planned.assign(2048, 0);
  } else {
    std::fill(block->planned.begin(), block->planned.end(), 0);
  }
  block->commands.clear();
  block->reply_change.clear();
}

std::size_t plan_in_order(const Layout& layout, const KnownFields& known, const ChangeBatch& batch,
                          std::size_t max_changes, std::size_t max_bytes, InOrderBlock* block) {
  const std::size_t from = block->end;
  const std::size_t last = std::min(batch.changes.size(), from + max_changes);
  // The batch's keys are random rows of a table of megabytes: one cache (and
  // TLB) miss each, which made the lookups a quarter of the worker's CPU on a
  // Redis drain. Fetched all at once first, the misses overlap.
  thread_local std::vector<std::uint64_t> ids;
  ids.clear();
  for (std::size_t i = from; i < last; ++i) {
    ids.push_back(KnownFields::id(batch.changes[i].key));
    known.prefetch(ids.back());
  }
  thread_local std::vector<JsonField> fields;
  std::size_t i = from;
  for (; i < last && block->bytes < max_bytes; ++i) {
    const Change& c = batch.changes[i];
    if (!split_compact_object(c.json, &fields)) break;
    InOrderBlock::Store st;
    st.head = layout.document_head(c.key);
    st.key = c.key;
    st.id = ids[i - from];
    st.fields_begin = block->names.size();
    for (JsonField& f : fields) {
      block->names.push_back(Layout::field(f.name));
      block->values.push_back(f.value);
    }
    st.fields_end = block->names.size();
    st.fingerprint = fingerprint(block->names.data() + st.fields_begin, st.fields_end - st.fields_begin);
    st.known = false;
    st.before = InOrderBlock::kNone;
    st.unknown = InOrderBlock::kNone;
    const auto index = static_cast<std::uint32_t>(block->stores.size());
    // At most half full.
    if (2 * (block->stores.size() + 1) > block->planned.size()) refill_planned(2 * block->planned.size(), block);
    std::uint32_t* slot = planned_slot(*block, st.id, c.key);
    if (*slot != 0) {
      st.before = *slot - 1;
    } else if (known.matches(st.id, st.fingerprint)) {
      st.known = true;
    } else {
      st.unknown = block->unknown.size();
      block->unknown.push_back(block->stores.size());
    }
    *slot = index + 1;
    block->bytes += c.json.size() + 2 * (st.head.size() + c.key.size()) + 32;
    block->stores.push_back(st);
  }
  block->end = i;
  set_through(batch, block);
  return i - from;
}

void truncate_in_order(const ChangeBatch& batch, std::size_t n, InOrderBlock* block) {
  if (n >= block->stores.size()) return;
  block->names.resize(block->stores[n].fields_begin);
  block->values.resize(block->stores[n].fields_begin);
  while (!block->unknown.empty() && block->unknown.back() >= n) block->unknown.pop_back();
  block->stores.resize(n);
  refill_planned(block->planned.size(), block);
  block->end = block->first + n;
  set_through(batch, block);
}

void encode_in_order(const ChangeBatch& batch, const std::vector<std::vector<std::string_view>>& existing,
                     std::string_view akey, std::size_t from, std::size_t to, InOrderBlock* block) {
  Resp& cmds = block->commands;
  std::vector<std::string_view> stale;
  for (std::size_t k = from; k < to; ++k) {
    const InOrderBlock::Store& st = block->stores[k];
    const std::size_t change = block->first + k;
    const Change& c = batch.changes[change];
    const auto begin = block->names.begin() + static_cast<std::ptrdiff_t>(st.fields_begin);
    const auto end = block->names.begin() + static_cast<std::ptrdiff_t>(st.fields_end);
    // The fields the hash holds before this store that it does not write.
    stale.clear();
    auto drop_unless_written = [&](std::string_view f) {
      if (f != Layout::kSeqField && std::find(begin, end, f) == end) stale.push_back(f);
    };
    if (st.before != InOrderBlock::kNone) {
      const InOrderBlock::Store& b = block->stores[st.before];
      for (std::size_t f = b.fields_begin; f < b.fields_end; ++f) drop_unless_written(block->names[f]);
    } else if (st.unknown != InOrderBlock::kNone) {
      for (std::string_view f : existing[st.unknown]) drop_unless_written(f);
    }
    // A store that drops fields changes its hash in one step; with count_applies
    // the count goes with the store, so a crash of Redis cannot keep one without
    // the other.
    const bool multi = !stale.empty() || !akey.empty();
    if (multi) {
      cmds.command(1);
      cmds.arg("MULTI");
      block->reply_change.push_back(change);
    }
    cmds.command(4 + 2 * (st.fields_end - st.fields_begin));
    cmds.arg("HSET");
    cmds.arg(st.head, st.key);
    cmds.arg(Layout::kSeqField);
    cmds.arg(c.seq);
    for (std::size_t f = st.fields_begin; f < st.fields_end; ++f) {
      cmds.arg(block->names[f]);
      cmds.arg(block->values[f]);
    }
    block->reply_change.push_back(change);
    if (!stale.empty()) {
      // In the same step as the HSET, so no reader sees a mix of two versions.
      cmds.command(2 + stale.size());
      cmds.arg("HDEL");
      cmds.arg(st.head, st.key);
      for (std::string_view f : stale) cmds.arg(f);
      block->reply_change.push_back(change);
    }
    if (!akey.empty()) {
      cmds.command(4);
      cmds.arg("HINCRBY");
      cmds.arg(akey);
      cmds.arg(c.key);
      cmds.arg("1");
      block->reply_change.push_back(change);
    }
    if (multi) {
      cmds.command(1);
      cmds.arg("EXEC");
      block->reply_change.push_back(change);
    }
  }
}

}  // namespace omni::sinks::redis
