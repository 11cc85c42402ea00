#include "json_encode.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace omni::detail {
namespace {

// Why not dump(): nlohmann's serializer writes through a virtual output adapter
// a character (or a short run) at a time and checks UTF-8 with a byte-at-a-time
// state machine; with the value checks walking the document a second time, that
// was a tenth of a no-sync store_data (bench/README.md). Here plain ASCII runs
// are copied whole, and the checks ride along.

// Bytes that a JSON string can carry as they are: printable ASCII other than
// '"' and '\\' (nlohmann escapes only those two and U+0000..U+001F when
// ensure_ascii is off; DEL stays as it is).
constexpr bool plain(unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

// Length of the valid UTF-8 sequence at s[0..n), or 0 if it is not one (the
// strict rules dump() applies: no overlongs, surrogates or code points past
// U+10FFFF).
std::size_t utf8_sequence(const unsigned char* s, std::size_t n) {
  const unsigned char c = s[0];
  std::size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;        // overlong
    if (c == 0xED) hi = 0x9F;        // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;        // overlong
    if (c == 0xF4) hi = 0x8F;        // past U+10FFFF
  } else {
    return 0;
  }
  if (n < len || s[1] < lo || s[1] > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    if ((s[k] & 0xC0) != 0x80) return 0;
  }
  return len;
}

bool append_string(const std::string& str, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* s = reinterpret_cast<const unsigned char*>(str.data());
  const std::size_t n = str.size();
  out->push_back('"');
  std::size_t i = 0;
  while (i < n) {
    std::size_t run = i;
    while (run < n && plain(s[run])) ++run;
    if (run != i) {
      out->append(str.data() + i, run - i);
      i = run;
      if (i == n) break;
    }
    const unsigned char c = s[i];
    if (c >= 0x80) {
      const std::size_t len = utf8_sequence(s + i, n - i);
      if (len == 0) return false;
      out->append(str.data() + i, len);
      i += len;
      continue;
    }
    switch (c) {
      case '"': out->append("\\\"", 2); break;
      case '\\': out->append("\\\\", 2); break;
      case '\b': out->append("\\b", 2); break;
      case '\f': out->append("\\f", 2); break;
      case '\n': out->append("\\n", 2); break;
      case '\r': out->append("\\r", 2); break;
      case '\t': out->append("\\t", 2); break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out->append(esc, 6);
      }
    }
    ++i;
  }
  out->push_back('"');
  return true;
}

template <typename Int>
void append_integer(Int v, std::string* out) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, static_cast<std::size_t>(r.ptr - buf));
}

bool append_value(const Json& j, std::size_t depth, std::size_t max_depth, std::string* out) {
  switch (j.type()) {
    case Json::value_t::null: out->append("null", 4); return true;
    case Json::value_t::boolean:
      if (j.get_ref<const Json::boolean_t&>()) {
        out->append("true", 4);
      } else {
        out->append("false", 5);
      }
      return true;
    case Json::value_t::number_integer: append_integer(j.get_ref<const Json::number_integer_t&>(), out); return true;
    case Json::value_t::number_unsigned: append_integer(j.get_ref<const Json::number_unsigned_t&>(), out); return true;
    case Json::value_t::number_float: {
      // nlohmann's own formatter (grisu2 with its rules for exponents and ".0",
      // what dump() calls for a double), without dump()'s serializer set-up.
      const double x = j.get_ref<const Json::number_float_t&>();
      if (!std::isfinite(x)) return false;
      char buf[64];
      const char* end = nlohmann::detail::to_chars(buf, buf + sizeof buf, x);
      out->append(buf, static_cast<std::size_t>(end - buf));
      return true;
    }
    case Json::value_t::string: return append_string(j.get_ref<const Json::string_t&>(), out);
    case Json::value_t::array: {
      if (depth > max_depth) return false;
      out->push_back('[');
      bool first = true;
      for (const Json& v : j.get_ref<const Json::array_t&>()) {
        if (!first) out->push_back(',');
        first = false;
        if (!append_value(v, depth + 1, max_depth, out)) return false;
      }
      out->push_back(']');
      return true;
    }
    case Json::value_t::object: {
      if (depth > max_depth) return false;
      out->push_back('{');
      bool first = true;
      for (const auto& [k, v] : j.get_ref<const Json::object_t&>()) {
        if (!first) out->push_back(',');
        first = false;
        if (!append_string(k, out)) return false;
        out->push_back(':');
        if (!append_value(v, depth + 1, max_depth, out)) return false;
      }
      out->push_back('}');
      return true;
    }
    case Json::value_t::binary:
    case Json::value_t::discarded:
      return false;
  }
  return false;
}

}  // namespace

bool dump_compact(const Json& doc, std::size_t max_depth, std::string* out) {
  return append_value(doc, 1, max_depth, out);
}

}  // namespace omni::detail
