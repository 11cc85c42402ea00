#include "omni/tools/jsonl_event.h"

#include <cstring>

#include "omni/tools/format.h"
#include "omni/tools/store.h"

namespace omni::tools {
namespace {

using log::EventType;

// A literal's bytes, without its NUL: the length is a constant, so each is a few
// stores rather than a strlen and a call.
template <std::size_t N>
char* put(char* o, const char (&text)[N]) {
  std::memcpy(o, text, N - 1);
  return o + (N - 1);
}

char* put(char* o, std::string_view s) {
  if (!s.empty()) std::memcpy(o, s.data(), s.size());
  return o + s.size();
}

char* put_json_array(char* o, const std::vector<std::string>& v) {
  *o++ = '[';
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) *o++ = ',';
    o = put_json_string(o, v[i]);
  }
  *o++ = ']';
  return o;
}

// A JSON string of s needs at most 6 bytes per byte (\u00XX) and its quotes.
std::size_t json_room(std::string_view s) { return 6 * s.size() + 2; }

}  // namespace

std::string_view append_jsonl_event(LineBuffer& out, const log::Event& e, const log::Hash& hash,
                                    std::string_view bytes) {
  const bool edge = e.type == EventType::RelationshipAdded || e.type == EventType::RelationshipRemoved;
  const std::string_view operation = operation_name(e.type);
  // The line's worst case: 512 covers the field names, punctuation, numbers, the
  // time and both hashes (about 330 bytes in all); the rest is the variable parts.
  std::size_t room = 512 + operation.size() + json_room(e.identity) + 2 * json_room(e.key) + e.payload.size() +
                     json_room(e.attrs.predicate) + json_room(e.attrs.object) + json_room(e.attrs.label) +
                     json_room(e.attrs.principal) + json_room(e.attrs.action) + (bytes.size() + 2) / 3 * 4;
  for (const std::string& n : e.attrs.names) room += json_room(n) + 1;
  char* const start = out.reserve(room);
  char* o = start;
  o = put(o, "{\"seq\":");
  o = put_decimal(o, e.seq);
  o = put(o, ",\"timestamp\":\"");
  o = put_rfc3339(o, e.timestamp_ns);
  o = put(o, "\",\"operation\":\"");
  o = put(o, operation);
  o = put(o, "\",\"identity\":");
  o = put_json_string(o, e.identity);
  o = put(o, ",\"key\":");
  o = put_json_string(o, e.key);
  std::size_t data_at = 0;
  if (!e.payload.empty()) {
    o = put(o, ",\"data\":");
    data_at = static_cast<std::size_t>(o - start);
    o = put(o, e.payload);  // compact JSON as stored (checked by the caller)
  }
  if (edge) {
    o = put(o, ",\"subject\":");
    o = put_json_string(o, e.key);
    o = put(o, ",\"predicate\":");
    o = put_json_string(o, e.attrs.predicate);
    o = put(o, ",\"object\":");
    o = put_json_string(o, e.attrs.object);
  } else if (e.type == EventType::VersionStored) {
    o = put(o, ",\"label\":");
    o = put_json_string(o, e.attrs.label);
  } else if (e.type == EventType::VersionsPruned) {
    o = put(o, ",\"labels\":");
    o = put_json_array(o, e.attrs.names);
  } else if (e.type == EventType::PolicyDecided) {
    o = put(o, ",\"principal\":");
    o = put_json_string(o, e.attrs.principal);
    o = put(o, ",\"action\":");
    o = put_json_string(o, e.attrs.action);
    o = e.attrs.allowed ? put(o, ",\"allowed\":true") : put(o, ",\"allowed\":false");
    o = put(o, ",\"ttl_ns\":");
    o = put_decimal(o, e.attrs.ttl_ns);
    if (!e.attrs.names.empty()) {
      o = put(o, ",\"depends_on\":");
      o = put_json_array(o, e.attrs.names);
    }
  }
  o = put(o, ",\"prev_hash\":\"");
  o = put_hex(o, e.prev_hash);
  o = put(o, "\",\"hash\":\"");
  o = put_hex(o, hash);
  o = put(o, "\",\"encoded\":\"");
  o = put_base64(o, bytes);
  o = put(o, "\"}\n");
  out.commit(o);
  if (e.payload.empty()) return {};
  return {start + data_at, e.payload.size()};
}

}  // namespace omni::tools
