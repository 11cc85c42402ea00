// Events: what the log stores, and how one is encoded, verified and decoded.
// Internal to the engine (not installed).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "event_generated.h"  // fb::EventType (flatc output, generated at build time)
#include "omni/seq.h"
#include "omni/status.h"

namespace omni::log {

using Hash = std::array<std::uint8_t, 32>;

// The one definition of the event types is the EventType enum in event.fbs (flatc
// generates it with scoped enums); its values are part of the disk format.
using EventType = fb::EventType;
// The type's name in snake_case ("data_stored"), derived from the schema's name.
std::string_view event_type_name(EventType type);

// The fields only relationship, version and policy events carry (event.fbs);
// empty on data events.
struct EventAttrs {
  std::string predicate;           // RelationshipAdded/Removed (key: the subject)
  std::string object;              // RelationshipAdded/Removed
  std::string label;               // VersionStored
  std::vector<std::string> names;  // VersionsPruned: labels; PolicyDecided: depends_on
  std::string action;              // PolicyDecided (key: the resource)
  std::string principal;           // PolicyDecided: the identity decided about
  bool allowed = false;            // PolicyDecided
  std::int64_t ttl_ns = 0;         // PolicyDecided
  bool empty() const {
    return predicate.empty() && object.empty() && label.empty() && names.empty() && action.empty() &&
           principal.empty() && !allowed && ttl_ns == 0;
  }
  friend bool operator==(const EventAttrs&, const EventAttrs&) = default;
};

// A decoded event; owns its strings.
struct Event {
  Seq seq = 0;
  std::int64_t timestamp_ns = 0;
  EventType type = EventType::DataStored;
  std::string identity;
  std::string key;
  std::string payload;
  Hash prev_hash{};
  EventAttrs attrs;
};

// SHA-256 of `bytes` (OpenSSL).
Hash sha256(std::string_view bytes);
std::string to_hex(const Hash& h);

// The fields of an event to encode, borrowed from the caller.
struct EventView {
  Seq seq = 0;
  std::int64_t timestamp_ns = 0;
  EventType type = EventType::DataStored;
  std::string_view identity;
  std::string_view key;
  std::string_view payload;
  const Hash* prev_hash = nullptr;  // required
  const EventAttrs* attrs = nullptr;  // null or empty: none
};

// Serialises `e` into a FlatBuffer; *out is replaced by its bytes.
void encode_event(const EventView& e, std::string* out);

// Copies `bytes` to aligned memory, runs the FlatBuffers Verifier and decodes.
// `expected_seq` is the sequence the bytes were stored under: a buffer that fails
// verification, or holds another seq, is kCorruption naming expected_seq.
Result<Event> decode_event(std::string_view bytes, Seq expected_seq);
// The same into *out, reusing its strings' capacity and *scratch (the aligned copy)
// across calls: a scan decodes every event into one Event without allocating. On
// error *out holds no meaningful value. With `with_payload` false the event is
// verified as always but out->payload is left empty (readers that need only the
// envelope: a rebuild's projections point at seqs, they never copy documents).
Status decode_event_into(std::string_view bytes, Seq expected_seq, Event* out,
                         std::vector<std::uint64_t>* scratch, bool with_payload = true);

}  // namespace omni::log
