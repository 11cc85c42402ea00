#include "validation.h"

#include <cmath>
#include <cstdint>
#include <cstdio>

namespace omni::detail {

std::string printable_key(std::string_view key) {
  std::string out;
  for (std::size_t i = 0; i < key.size() && i < 64; ++i) {
    const auto c = static_cast<unsigned char>(key[i]);
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (key.size() > 64) out += "...";
  return out;
}

Status validate_key(std::string_view key) {
  auto bad = [&](std::string why) {
    return Status::invalid_argument("key '" + printable_key(key) + "' (" +
                                    std::to_string(key.size()) + " bytes): " + why);
  };
  if (key.empty()) return Status::invalid_argument("key is empty");
  if (key.size() > kMaxKeyBytes) {
    return bad("longer than " + std::to_string(kMaxKeyBytes) + " bytes");
  }
  const auto* s = reinterpret_cast<const unsigned char*>(key.data());
  const std::size_t n = key.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    std::uint32_t cp;
    std::size_t len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      cp = c & 0x1F;
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      cp = c & 0x0F;
      len = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      cp = c & 0x07;
      len = 4;
    } else {
      return bad("invalid UTF-8 lead byte at offset " + std::to_string(i));
    }
    if (i + len > n) return bad("truncated UTF-8 sequence at offset " + std::to_string(i));
    for (std::size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) {
        return bad("invalid UTF-8 continuation byte at offset " + std::to_string(i + k));
      }
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) {
      return bad("overlong UTF-8 encoding at offset " + std::to_string(i));
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) return bad("UTF-16 surrogate at offset " + std::to_string(i));
    if (cp > 0x10FFFF) return bad("code point past U+10FFFF at offset " + std::to_string(i));
    if (cp == 0) return bad("NUL byte at offset " + std::to_string(i));
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
      return bad("control character at offset " + std::to_string(i));
    }
    i += len;
  }
  return Status();
}

namespace {

// Looks for what compact JSON would silently change or cannot hold: NaN and
// infinities (nlohmann writes them as null) and nesting deeper than kMaxDepth
// (dump() and parse() recurse). The recursion here stops at kMaxDepth, so a
// hostile depth cannot overflow our stack.
Status check_values(std::string_view key, const Json& j, std::size_t depth) {
  if (j.is_number_float() && !std::isfinite(j.get<double>())) {
    return Status::invalid_argument("document for key '" + printable_key(key) +
                                    "' contains NaN or infinity, which JSON cannot represent");
  }
  if (!j.is_structured()) return Status();
  if (depth > kMaxDepth) {
    return Status::invalid_argument("document for key '" + printable_key(key) +
                                    "' is nested deeper than " + std::to_string(kMaxDepth) +
                                    " levels");
  }
  for (const Json& child : j) OMNI_RETURN_IF_ERROR(check_values(key, child, depth + 1));
  return Status();
}

}  // namespace

Status encode_document(std::string_view key, const Json& doc, std::size_t max_bytes,
                       std::string* compact) {
  if (!doc.is_object()) {
    return Status::invalid_argument("document for key '" + printable_key(key) +
                                    "' is a JSON " + doc.type_name() + ", not an object");
  }
  OMNI_RETURN_IF_ERROR(check_values(key, doc, 1));
  try {
    *compact = doc.dump();  // strict: throws on strings that are not valid UTF-8
  } catch (const Json::exception& e) {
    return Status::invalid_argument("document for key '" + printable_key(key) +
                                    "' cannot be encoded: " + e.what());
  }
  if (compact->size() > max_bytes) {
    return Status::invalid_argument("document for key '" + printable_key(key) + "' is " +
                                    std::to_string(compact->size()) +
                                    " bytes as JSON, over max_value_bytes (" +
                                    std::to_string(max_bytes) + ")");
  }
  return Status();
}

}  // namespace omni::detail
