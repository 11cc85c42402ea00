// The top-level fields of a document's compact JSON text, found without building
// a DOM: the values are already compact JSON text, so they go to Redis as they
// are. Parsing the document with nlohmann and dumping each field again cost more
// than the rest of apply() on the client (bench/redis_bench).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace omni::sinks::redis {

struct JsonField {
  std::string name;        // decoded (escapes resolved)
  std::string_view value;  // the value's JSON text, borrowed from the input
};

// Fills *out with the fields of `text` when it is a JSON object written
// compactly (no whitespace outside strings), true; false for anything else
// (whitespace, not an object, malformed), and the caller parses it properly.
// It succeeds exactly when nlohmann::json::accept(text) does for a text that
// starts with '{', holds no whitespace outside strings and no NUL byte (which
// nlohmann reads as the end of its input): a number too large for a double is
// refused, and a string's UTF-16 surrogate escapes must pair up.
bool split_compact_object(std::string_view text, std::vector<JsonField>* out);

}  // namespace omni::sinks::redis
