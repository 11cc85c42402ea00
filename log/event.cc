// SHA256_Init and friends: see sha256().
#define OPENSSL_SUPPRESS_DEPRECATED
#include "omni/log/event.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cctype>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "event_generated.h"

namespace omni::log {

std::string_view event_type_name(EventType type) {
  // Built once from the schema's names ("DataStored" -> "data_stored"), so a type
  // appended to event.fbs needs no edit here.
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (int t = static_cast<int>(EventType::MIN); t <= static_cast<int>(EventType::MAX); ++t) {
      std::string n;
      for (const char* c = fb::EnumNameEventType(static_cast<EventType>(t)); *c; ++c) {
        if (std::isupper(static_cast<unsigned char>(*c))) {
          if (!n.empty()) n.push_back('_');
          n.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(*c))));
        } else {
          n.push_back(*c);
        }
      }
      out.push_back(std::move(n));
    }
    return out;
  }();
  const auto i = static_cast<std::size_t>(type);
  return i < names.size() ? std::string_view(names[i]) : std::string_view("unknown");
}

Hash sha256(std::string_view bytes) {
  // OpenSSL 3's EVP layer costs about 100 ns per call on top of the 200 ns that
  // hashing a 300-byte event takes (provider context, engine and init checks);
  // SHA256_Init/Update/Final go straight to the same SHA-NI code. They are
  // deprecated in OpenSSL 3 in favour of EVP, but present in every 3.x.
  Hash h;
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, bytes.data(), bytes.size());
  SHA256_Final(h.data(), &ctx);
  return h;
}

std::string to_hex(const Hash& h) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(64);
  for (std::uint8_t b : h) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 15]);
  }
  return s;
}

void encode_event(const EventView& e, std::string* out) {
  // A thread-local builder keeps its buffer between calls: no allocation per event
  // on the write path once warm.
  thread_local flatbuffers::FlatBufferBuilder fbb(512);
  fbb.Clear();
  auto identity = fbb.CreateString(e.identity);
  auto key = fbb.CreateString(e.key);
  auto payload = fbb.CreateVector(reinterpret_cast<const std::uint8_t*>(e.payload.data()),
                                  e.payload.size());
  auto prev = fbb.CreateVector(e.prev_hash->data(), e.prev_hash->size());
  // Only what is set is written: a data event's bytes are as before the fields
  // were appended.
  const EventAttrs* a = e.attrs && !e.attrs->empty() ? e.attrs : nullptr;
  auto str = [&](const std::string& v) { return v.empty() ? 0 : fbb.CreateString(v); };
  flatbuffers::Offset<flatbuffers::String> predicate, object, label, action, principal;
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>> names;
  if (a) {
    predicate = str(a->predicate);
    object = str(a->object);
    label = str(a->label);
    action = str(a->action);
    principal = str(a->principal);
    if (!a->names.empty()) names = fbb.CreateVectorOfStrings(a->names);
  }
  fb::EventBuilder b(fbb);
  b.add_seq(e.seq);
  b.add_timestamp_ns(e.timestamp_ns);
  b.add_identity(identity);
  b.add_type(static_cast<fb::EventType>(e.type));
  b.add_key(key);
  b.add_payload(payload);
  b.add_prev_hash(prev);
  if (a) {
    if (!predicate.IsNull()) b.add_predicate(predicate);
    if (!object.IsNull()) b.add_object(object);
    if (!label.IsNull()) b.add_label(label);
    if (!names.IsNull()) b.add_names(names);
    if (!action.IsNull()) b.add_action(action);
    if (!principal.IsNull()) b.add_principal(principal);
    if (a->allowed) b.add_allowed(true);
    if (a->ttl_ns != 0) b.add_ttl_ns(a->ttl_ns);
  }
  fb::FinishEventBuffer(fbb, b.Finish());
  out->assign(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

Status decode_event_into(std::string_view bytes, Seq expected_seq, Event* out,
                         std::vector<std::uint64_t>* scratch, bool with_payload) {
  auto bad = [&](std::string_view what) {
    return Status::corruption("event seq " + std::to_string(expected_seq) + ": " +
                              std::string(what));
  };
  // RocksDB hands out unaligned bytes; FlatBuffers reads scalars in place, so copy
  // to 8-byte aligned memory before verifying.
  const std::size_t words = (bytes.size() + 7) / 8;
  if (scratch->size() < words) scratch->resize(words);
  if (!bytes.empty()) std::memcpy(scratch->data(), bytes.data(), bytes.size());
  const auto* buf = reinterpret_cast<const std::uint8_t*>(scratch->data());

  flatbuffers::Verifier verifier(buf, bytes.size());
  if (bytes.size() < 8 || !fb::EventBufferHasIdentifier(buf) || !fb::VerifyEventBuffer(verifier)) {
    return bad("FlatBuffers verification failed (" + std::to_string(bytes.size()) + " bytes)");
  }
  const fb::Event* ev = fb::GetEvent(buf);
  if (ev->seq() != expected_seq) {
    return bad("stored under seq " + std::to_string(expected_seq) + " but holds seq " +
               std::to_string(ev->seq()));
  }
  if (ev->prev_hash() == nullptr || ev->prev_hash()->size() != 32) {
    return bad("prev_hash is not 32 bytes");
  }
  if (static_cast<int>(ev->type()) > static_cast<int>(fb::EventType::MAX)) {
    return bad("unknown event type " + std::to_string(static_cast<int>(ev->type())));
  }
  // assign() keeps each string's capacity: a caller decoding into one Event again
  // and again (a scan) allocates only when a field outgrows it.
  auto take = [](const flatbuffers::String* from, std::string& to) {
    if (from) {
      to.assign(from->data(), from->size());
    } else {
      to.clear();
    }
  };
  Event& e = *out;
  e.seq = ev->seq();
  e.timestamp_ns = ev->timestamp_ns();
  e.type = static_cast<EventType>(ev->type());
  take(ev->identity(), e.identity);
  take(ev->key(), e.key);
  if (ev->payload() && with_payload) {
    e.payload.assign(reinterpret_cast<const char*>(ev->payload()->data()), ev->payload()->size());
  } else {
    e.payload.clear();
  }
  std::memcpy(e.prev_hash.data(), ev->prev_hash()->data(), 32);
  take(ev->predicate(), e.attrs.predicate);
  take(ev->object(), e.attrs.object);
  take(ev->label(), e.attrs.label);
  e.attrs.names.clear();
  if (ev->names()) {
    for (const flatbuffers::String* n : *ev->names()) e.attrs.names.push_back(n ? n->str() : std::string());
  }
  take(ev->action(), e.attrs.action);
  take(ev->principal(), e.attrs.principal);
  e.attrs.allowed = ev->allowed();
  e.attrs.ttl_ns = ev->ttl_ns();
  return Status();
}

Result<Event> decode_event(std::string_view bytes, Seq expected_seq) {
  std::vector<std::uint64_t> scratch;
  Event e;
  OMNI_RETURN_IF_ERROR(decode_event_into(bytes, expected_seq, &e, &scratch));
  return e;
}

}  // namespace omni::log
