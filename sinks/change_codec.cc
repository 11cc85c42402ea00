#include "omni/sinks/change_codec.h"

#include <cstdint>
#include <functional>
#include <string_view>

namespace omni::sinks {

std::optional<Change> to_change(log::Event&& e) {
  Change c;
  if (!to_change(std::move(e), &c)) return std::nullopt;
  return c;
}

bool to_change(log::Event&& e, Change* out) {
  using log::EventType;
  Change& c = *out;
  switch (e.type) {
    case EventType::DataStored: c.type = ChangeType::kStore; break;
    case EventType::DataDeleted: c.type = ChangeType::kDelete; break;
    case EventType::RelationshipAdded: c.type = ChangeType::kRelationshipAdded; break;
    case EventType::RelationshipRemoved: c.type = ChangeType::kRelationshipRemoved; break;
    case EventType::VersionStored: c.type = ChangeType::kVersionStored; break;
    case EventType::VersionsPruned: c.type = ChangeType::kVersionsPruned; break;
    case EventType::PolicyDecided: c.type = ChangeType::kPolicyDecided; break;
    default: return false;
  }
  c.seq = e.seq;
  c.key = std::move(e.key);
  c.json = std::move(e.payload);
  c.identity = std::move(e.identity);
  c.timestamp = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(e.timestamp_ns)));
  c.predicate = std::move(e.attrs.predicate);
  c.object = std::move(e.attrs.object);
  c.label = std::move(e.attrs.label);
  if (c.type == ChangeType::kVersionsPruned) {
    c.labels = std::move(e.attrs.names);
  } else if (c.type == ChangeType::kPolicyDecided) {
    c.depends_on = std::move(e.attrs.names);
  }
  c.principal = std::move(e.attrs.principal);
  c.action = std::move(e.attrs.action);
  c.allowed = e.attrs.allowed;
  c.ttl = std::chrono::nanoseconds(e.attrs.ttl_ns);
  return true;
}

namespace {

// What a change is about: later changes of the same item supersede it.
enum class Item { kNone, kDocument, kEdge, kDecision };

Item item_of(ChangeType t) {
  switch (t) {
    case ChangeType::kStore:
    case ChangeType::kDelete: return Item::kDocument;
    case ChangeType::kRelationshipAdded:
    case ChangeType::kRelationshipRemoved: return Item::kEdge;
    case ChangeType::kPolicyDecided: return Item::kDecision;
    case ChangeType::kVersionStored:
    case ChangeType::kVersionsPruned: break;  // never coalesced (see the header)
  }
  return Item::kNone;
}

std::size_t item_hash(const Change& c, Item item) {
  const std::hash<std::string_view> h;
  auto mix = [](std::size_t a, std::size_t b) { return (a ^ b) * 0x9e3779b97f4a7c15ull; };
  switch (item) {
    case Item::kDocument: return h(c.key);
    case Item::kEdge: return mix(mix(h(c.key), h(c.predicate)), h(c.object));
    case Item::kDecision: return mix(mix(h(c.principal), h(c.action)), h(c.key));
    case Item::kNone: break;
  }
  return 0;
}

bool same_item(const Change& a, const Change& b, Item item) {
  if (item_of(b.type) != item || a.key != b.key) return false;
  switch (item) {
    case Item::kEdge: return a.predicate == b.predicate && a.object == b.object;
    case Item::kDecision: return a.principal == b.principal && a.action == b.action;
    default: return true;
  }
}

}  // namespace

void coalesce(std::vector<Change>* changes) {
  std::vector<Change>& cs = *changes;
  // Open addressing over the changes' indexes (+ 1; 0: empty), at most half full:
  // a node-based set of item strings cost a malloc or two per change on the
  // write-behind path.
  std::size_t slots = 16;
  while (slots < 2 * cs.size()) slots *= 2;
  std::vector<std::uint32_t> seen(slots, 0);
  std::vector<bool> keep(cs.size(), true);
  for (std::size_t i = cs.size(); i-- > 0;) {
    const Item item = item_of(cs[i].type);
    if (item == Item::kNone) continue;
    for (std::size_t s = item_hash(cs[i], item) & (slots - 1);; s = (s + 1) & (slots - 1)) {
      if (seen[s] == 0) {
        seen[s] = static_cast<std::uint32_t>(i + 1);
        break;
      }
      if (same_item(cs[i], cs[seen[s] - 1], item)) {
        keep[i] = false;  // a later change of the item is kept
        break;
      }
    }
  }
  std::size_t out = 0;
  for (std::size_t i = 0; i < cs.size(); ++i) {
    if (!keep[i]) continue;
    if (out != i) cs[out] = std::move(cs[i]);
    ++out;
  }
  cs.resize(out);
}

}  // namespace omni::sinks
