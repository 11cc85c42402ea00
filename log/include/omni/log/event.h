// Events: what the log stores, and how one is encoded, verified and decoded.
// Internal to the engine (not installed).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

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

// A decoded event; owns its strings.
struct Event {
  Seq seq = 0;
  std::int64_t timestamp_ns = 0;
  EventType type = EventType::DataStored;
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
  EventType type = EventType::DataStored;
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
