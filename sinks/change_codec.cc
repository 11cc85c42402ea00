#include "omni/sinks/change_codec.h"

#include <unordered_set>

namespace omni::sinks {

std::optional<Change> to_change(log::Event&& e) {
  using log::EventType;
  Change c;
  switch (e.type) {
    case EventType::DataStored: c.type = ChangeType::kStore; break;
    case EventType::DataDeleted: c.type = ChangeType::kDelete; break;
    case EventType::RelationshipAdded: c.type = ChangeType::kRelationshipAdded; break;
    case EventType::RelationshipRemoved: c.type = ChangeType::kRelationshipRemoved; break;
    case EventType::VersionStored: c.type = ChangeType::kVersionStored; break;
    case EventType::VersionsPruned: c.type = ChangeType::kVersionsPruned; break;
    case EventType::PolicyDecided: c.type = ChangeType::kPolicyDecided; break;
    default: return std::nullopt;
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
  return c;
}

namespace {

// What a change is about: later changes of the same item supersede it. Parts
// are length-prefixed so no two items share an identity.
std::string item(const Change& c) {
  auto part = [](std::string& out, std::string_view s) {
    out += std::to_string(s.size());
    out += ':';
    out += s;
  };
  std::string id;
  switch (c.type) {
    case ChangeType::kStore:
    case ChangeType::kDelete:
      id = "d";
      part(id, c.key);
      break;
    case ChangeType::kRelationshipAdded:
    case ChangeType::kRelationshipRemoved:
      id = "r";
      part(id, c.key);
      part(id, c.predicate);
      part(id, c.object);
      break;
    case ChangeType::kPolicyDecided:
      id = "p";
      part(id, c.principal);
      part(id, c.action);
      part(id, c.key);
      break;
    case ChangeType::kVersionStored:
    case ChangeType::kVersionsPruned:
      break;  // never coalesced (see the header)
  }
  return id;
}

}  // namespace

void coalesce(std::vector<Change>* changes) {
  std::unordered_set<std::string> seen;
  std::vector<bool> keep(changes->size(), true);
  for (std::size_t i = changes->size(); i-- > 0;) {
    std::string id = item((*changes)[i]);
    if (!id.empty() && !seen.insert(std::move(id)).second) keep[i] = false;
  }
  std::size_t out = 0;
  for (std::size_t i = 0; i < changes->size(); ++i) {
    if (!keep[i]) continue;
    if (out != i) (*changes)[out] = std::move((*changes)[i]);
    ++out;
  }
  changes->resize(out);
}

}  // namespace omni::sinks
