#include "redis_script_call.h"

#include <algorithm>

#include "redis_errors.h"
#include "redis_json_fields.h"

namespace omni::sinks::redis {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::string what(Seq seq, ChangeType type, std::string_view key) {
  return "change seq " + std::to_string(seq) + " (" + std::string(change_type_name(type)) + " of '" +
         printable(key) + "')";
}

Status check_seq(Seq seq, ChangeType type, std::string_view key) {
  if (seq > kMaxSeq) {
    return Status::invalid_argument("redis: " + what(seq, type, key) +
                                    ": seqs of 2^53 and more cannot be held exactly by the Lua script");
  }
  return Status();
}

// Milliseconds since the epoch of t + d, for PXAT; at least 1 (Lua judges <= now
// as expired).
std::int64_t expiry_ms(std::chrono::system_clock::time_point t, std::chrono::nanoseconds d) {
  const std::int64_t at = duration_cast<milliseconds>(t.time_since_epoch()).count() +
                          duration_cast<milliseconds>(d).count();
  return std::clamp<std::int64_t>(at, 1, static_cast<std::int64_t>(kMaxSeq));
}

void add_i64(Argv* a, std::int64_t v) { a->add_number(static_cast<std::uint64_t>(v)); }

}  // namespace

std::string ScriptCall::describe(std::size_t i) const {
  const Record& r = records.at(i - 1);
  return what(r.seq, r.type, r.key);
}

Status ChangeEncoder::add_store(std::string_view key, const Json& doc, Seq seq, ScriptCall* call) const {
  OMNI_RETURN_IF_ERROR(check_seq(seq, ChangeType::kStore, key));
  if (!doc.is_object()) {
    return Status::invalid_argument("redis: " + what(seq, ChangeType::kStore, key) + ": the document is a JSON " +
                                    doc.type_name() + ", not an object (a hash holds its top-level fields)");
  }
  add_store_header(key, seq, 2 * doc.size(), call);
  Argv& a = call->body;
  try {
    for (const auto& [name, value] : doc.items()) {
      a.add(Layout::field(name));
      a.add(value.dump());  // compact; strict: throws on a string that is not UTF-8
    }
  } catch (const Json::exception& e) {
    return Status::invalid_argument("redis: " + what(seq, ChangeType::kStore, key) +
                                    ": the document cannot be written as JSON: " + e.what());
  }
  call->records.push_back({seq, ChangeType::kStore, key});
  return Status();
}

void ChangeEncoder::add_store_header(std::string_view key, Seq seq, std::size_t field_args,
                                    ScriptCall* call) const {
  Argv& a = call->body;
  a.add("S");
  a.add_number(seq);
  a.add(layout_.document(key));
  a.add(key);
  a.add_number(field_args);
}

Status ChangeEncoder::add_delete(std::string_view key, Seq seq, ScriptCall* call) const {
  OMNI_RETURN_IF_ERROR(check_seq(seq, ChangeType::kDelete, key));
  Argv& a = call->body;
  a.add("D");
  a.add_number(seq);
  a.add(layout_.document(key));
  a.add(key);
  a.add(layout_.policy_by(key));
  call->records.push_back({seq, ChangeType::kDelete, key});
  return Status();
}

Status ChangeEncoder::add(const Change& c, ScriptCall* call) const {
  switch (c.type) {
    case ChangeType::kStore: {
      // The common case, compact text as the log holds it: fields sent as they are.
      std::vector<JsonField> fields;
      if (split_compact_object(c.json, &fields)) {
        OMNI_RETURN_IF_ERROR(check_seq(c.seq, c.type, c.key));
        add_store_header(c.key, c.seq, 2 * fields.size(), call);
        for (const JsonField& f : fields) {
          call->body.add(Layout::field(f.name));
          call->body.add(f.value);
        }
        call->records.push_back({c.seq, c.type, c.key});
        return Status();
      }
      // Anything else is parsed; if it does not parse, it never will.
      Json doc = Json::parse(c.json, nullptr, /*allow_exceptions=*/false);
      if (doc.is_discarded()) {
        return Status::invalid_argument("redis: " + what(c.seq, c.type, c.key) + ": the document is not valid JSON");
      }
      return add_store(c.key, doc, c.seq, call);
    }
    case ChangeType::kDelete:
      return add_delete(c.key, c.seq, call);
    default:
      break;
  }
  if (static_cast<int>(c.type) > static_cast<int>(ChangeType::kPolicyDecided)) {
    return Status::invalid_argument("redis: change seq " + std::to_string(c.seq) + " has an unknown type " +
                                    std::to_string(static_cast<int>(c.type)));
  }
  OMNI_RETURN_IF_ERROR(check_seq(c.seq, c.type, c.key));
  Argv& a = call->body;
  switch (c.type) {
    case ChangeType::kRelationshipAdded:
    case ChangeType::kRelationshipRemoved:
      a.add(c.type == ChangeType::kRelationshipAdded ? "A" : "R");
      a.add_number(c.seq);
      a.add(layout_.relation(c.key, c.predicate));
      a.add(layout_.reverse(c.object, c.predicate));
      a.add(c.object);
      a.add(c.key);
      a.add(c.key);
      a.add(layout_.policy_by(c.key));
      a.add(c.object == c.key ? std::string() : layout_.policy_by(c.object));
      break;
    case ChangeType::kVersionStored:
      a.add("V");
      a.add_number(c.seq);
      a.add(layout_.versions(c.key));
      a.add(c.label);
      a.add(layout_.version_doc(c.key, c.label));
      a.add(c.json);
      if (version_ttl_.count() > 0) {
        add_i64(&a, expiry_ms(c.timestamp, version_ttl_));
      } else {
        a.add("");
      }
      a.add(c.key);
      break;
    case ChangeType::kVersionsPruned:
      a.add("P");
      a.add_number(c.seq);
      a.add(layout_.versions(c.key));
      a.add(c.key);
      a.add_number(2 * c.labels.size());
      for (const std::string& label : c.labels) {
        a.add(label);
        a.add(layout_.version_doc(c.key, label));
      }
      break;
    case ChangeType::kPolicyDecided: {
      // The names whose change drops the decision, once each (as the store's cache).
      std::vector<std::string_view> names{c.principal, c.key};
      names.insert(names.end(), c.depends_on.begin(), c.depends_on.end());
      std::sort(names.begin(), names.end());
      names.erase(std::unique(names.begin(), names.end()), names.end());
      a.add("C");
      a.add_number(c.seq);
      a.add(layout_.policy(c.principal, c.action, c.key));
      a.add(c.allowed ? "1" : "0");
      add_i64(&a, expiry_ms(c.timestamp, c.ttl));
      a.add(c.key);
      a.add_number(names.size());
      for (std::string_view n : names) a.add(layout_.policy_by(n));
      break;
    }
    case ChangeType::kStore:
    case ChangeType::kDelete:
      break;  // above
  }
  call->records.push_back({c.seq, c.type, c.key});
  return Status();
}

}  // namespace omni::sinks::redis
