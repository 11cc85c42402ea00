// Changes encoded as the apply script's records (redis_apply_script.h), one
// ScriptCall per EVALSHA.
#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>
#include <vector>

#include "omni/backend.h"
#include "redis_connection.h"
#include "redis_layout.h"

namespace omni::sinks::redis {

// Lua numbers are doubles: every seq must be exact in one.
inline constexpr Seq kMaxSeq = (Seq{1} << 53) - 1;

// One script call's records, and which change each one is (for error messages).
struct ScriptCall {
  struct Record {
    Seq seq;
    ChangeType type;
    std::string_view key;  // borrowed from the change or the caller
  };
  Argv body;
  std::vector<Record> records;

  // "change seq 42 (store of 'user:1')": record i, 1-based as the script counts.
  std::string describe(std::size_t i) const;
};

class ChangeEncoder {
 public:
  // `layout` must outlive the encoder.
  ChangeEncoder(const Layout& layout, std::chrono::seconds version_ttl)
      : layout_(layout), version_ttl_(version_ttl) {}

  // Appends c's record to *call. kInvalidArgument (naming the seq) when c cannot
  // be encoded: a seq of 2^53 or more, a stored document that is not a JSON object.
  // c must outlive *call.
  Status add(const Change& c, ScriptCall* call) const;
  // A store of doc (store_data: no JSON text to parse). key must outlive *call.
  Status add_store(std::string_view key, const Json& doc, Seq seq, ScriptCall* call) const;
  // A delete (delete_data). key must outlive *call.
  Status add_delete(std::string_view key, Seq seq, ScriptCall* call) const;

 private:
  // The store record up to its fields: S seq doc akey n.
  void add_store_header(std::string_view key, Seq seq, std::size_t field_args, ScriptCall* call) const;

  const Layout& layout_;
  const std::chrono::seconds version_ttl_;
};

}  // namespace omni::sinks::redis
