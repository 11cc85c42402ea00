// Input validation: everything is checked before anything is written.
#pragma once

#include <string>
#include <string_view>

#include "omni/status.h"
#include "omni/types.h"

namespace omni::detail {

inline constexpr std::size_t kMaxKeyBytes = 1024;
inline constexpr std::size_t kMaxDepth = 256;  // nesting levels of a document

// Keys: 1..1024 bytes of valid UTF-8 (no overlong forms, surrogates or code points
// past U+10FFFF) with no NUL or other control character (U+0000-U+001F,
// U+007F-U+009F). kInvalidArgument says which rule failed and where.
Status validate_key(std::string_view key);

// Documents: a JSON object whose compact JSON is at most max_bytes, nested at most
// kMaxDepth levels, with no NaN or infinity and only valid UTF-8 strings. On
// success *compact holds that JSON.
Status encode_document(std::string_view key, const Json& doc, std::size_t max_bytes,
                       std::string* compact);

// The key for messages: control and non-ASCII bytes escaped as \xNN, cut at 64 bytes.
std::string printable_key(std::string_view key);

}  // namespace omni::detail
