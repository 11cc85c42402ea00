// Events: what the log stores, and how one is encoded, verified and decoded.
// Internal to the engine (not installed).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "omni/seq.h"
#include "omni/status.h"

namespace omni::log {

using Hash = std::array<std::uint8_t, 32>;

// Mirrors fb::EventType in event.fbs (same values; append only).
enum class EventType : std::uint8_t {
  kDataStored = 0,
  kDataDeleted = 1,
  kBatchMarker = 2,
  kRelationshipAdded = 3,
  kRelationshipRemoved = 4,
  kVersionStored = 5,
  kVersionsPruned = 6,
  kPolicyDecided = 7,
};
std::string_view event_type_name(EventType type);

// A decoded event; owns its strings.
struct Event {
  Seq seq = 0;
  std::int64_t timestamp_ns = 0;
  EventType type = EventType::kDataStored;
  std::string identity;
  std::string key;
  std::string payload;
  Hash prev_hash{};
};

// SHA-256 of `bytes` (OpenSSL).
Hash sha256(std::string_view bytes);
std::string to_hex(const Hash& h);

// The fields of an event to encode, borrowed from the caller.
struct EventView {
  Seq seq = 0;
  std::int64_t timestamp_ns = 0;
  EventType type = EventType::kDataStored;
  std::string_view identity;
  std::string_view key;
  std::string_view payload;
  const Hash* prev_hash = nullptr;  // required
};

// Serialises `e` into a FlatBuffer; *out is replaced by its bytes.
void encode_event(const EventView& e, std::string* out);

// Copies `bytes` to aligned memory, runs the FlatBuffers Verifier and decodes.
// `expected_seq` is the sequence the bytes were stored under: a buffer that fails
// verification, or holds another seq, is kCorruption naming expected_seq.
Result<Event> decode_event(std::string_view bytes, Seq expected_seq);

}  // namespace omni::log
