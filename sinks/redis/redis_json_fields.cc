#include "redis_json_fields.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace omni::sinks::redis {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// The length of the UTF-8 sequence at text[i] (a lead byte >= 0x80), or 0 when it
// is not valid UTF-8 (which JSON text must be).
std::size_t utf8_length(std::string_view text, std::size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  std::size_t n;
  std::uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2, cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3, cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    return 0;
  }
  return n;
}

// The code unit of the \uXXXX escape whose 'u' is at text[i] (four hex digits
// checked by the caller).
std::uint32_t escaped_unit(std::string_view text, std::size_t i) {
  std::uint32_t v = 0;
  for (std::size_t k = 1; k <= 4; ++k) {
    const char c = text[i + k];
    v = v * 16 + static_cast<std::uint32_t>(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  return v;
}

bool hex4(std::string_view text, std::size_t i) {
  return i + 4 < text.size() && is_hex(text[i + 1]) && is_hex(text[i + 2]) && is_hex(text[i + 3]) &&
         is_hex(text[i + 4]);
}

// Whether none of the 8 bytes at p is '"', '\\', a control character or non-ASCII
// (each needs a look of its own). SWAR: a byte's high bit marks it; a false
// alarm only sends the bytes to the byte loop.
bool plain8(const char* p) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  auto zero_byte = [&](std::uint64_t x) { return (x - kOnes) & ~x & kHigh; };
  const std::uint64_t special =
      zero_byte(w ^ (kOnes * '"')) | zero_byte(w ^ (kOnes * '\\')) | ((w - kOnes * 0x20) & ~w & kHigh) | (w & kHigh);
  return special == 0;
}

#if defined(__SSE2__)
// The bytes of the 16 at p that are '"', '\\', a control character or non-ASCII,
// as a bit mask (bit k: byte k). A signed compare with 0x20 catches both the
// control characters and the bytes >= 0x80.
unsigned special16(const char* p) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
  const __m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
  const __m128i low_or_high = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), low_or_high)));
}
#endif

// text[at] is '"': the index just past the closing quote, or npos. *escaped says
// whether the string holds an escape. A UTF-16 surrogate escape must come as a
// high + low pair, as nlohmann (and RFC 8259's text in UTF-8) requires.
std::size_t end_of_string(std::string_view text, std::size_t at, bool* escaped) {
  for (std::size_t i = at + 1; i < text.size(); ++i) {
    // Sixteen (or eight) plain ASCII bytes at a time: the byte loop alone was the
    // largest item of planning a Redis batch (documents are mostly string content).
#if defined(__SSE2__)
    while (i + 16 <= text.size()) {
      const unsigned special = special16(text.data() + i);
      if (special != 0) {
        i += static_cast<std::size_t>(__builtin_ctz(special));
        break;
      }
      i += 16;
    }
#endif
    while (i + 8 <= text.size() && plain8(text.data() + i)) i += 8;
    if (i >= text.size()) break;
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"') return i + 1;
    if (c < 0x20) return std::string_view::npos;  // a raw control character
    if (c >= 0x80) {
      const std::size_t n = utf8_length(text, i);
      if (n == 0) return std::string_view::npos;
      i += n - 1;
      continue;
    }
    if (c != '\\') continue;
    *escaped = true;
    if (++i >= text.size()) return std::string_view::npos;
    switch (text[i]) {
      case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        break;
      case 'u': {
        if (!hex4(text, i)) return std::string_view::npos;
        const std::uint32_t unit = escaped_unit(text, i);
        i += 4;
        if (unit >= 0xDC00 && unit <= 0xDFFF) return std::string_view::npos;  // a low one first
        if (unit >= 0xD800 && unit <= 0xDBFF) {
          if (i + 2 >= text.size() || text[i + 1] != '\\' || text[i + 2] != 'u' || !hex4(text, i + 2)) {
            return std::string_view::npos;
          }
          const std::uint32_t low = escaped_unit(text, i + 2);
          if (low < 0xDC00 || low > 0xDFFF) return std::string_view::npos;
          i += 6;
        }
        break;
      }
      default:
        return std::string_view::npos;
    }
  }
  return std::string_view::npos;
}

// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? from text[at]; the end, or npos.
std::size_t end_of_number(std::string_view text, std::size_t i) {
  auto digits = [&] {
    const std::size_t from = i;
    while (i < text.size() && is_digit(text[i])) ++i;
    return i > from;
  };
  if (i < text.size() && text[i] == '-') ++i;
  if (i < text.size() && text[i] == '0') {
    ++i;
  } else if (!digits()) {
    return std::string_view::npos;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (!digits()) return std::string_view::npos;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (!digits()) return std::string_view::npos;
  }
  return i;
}

// Whether the number text[begin, end) (the JSON grammar, checked) is finite as a
// double. nlohmann refuses a number that overflows one ("number overflow"), so a
// nested value holding one must be refused too. Below 10^308 it cannot overflow;
// only longer numbers are converted (never seen in documents the store wrote).
bool finite_number(std::string_view text, std::size_t begin, std::size_t end) {
  std::size_t i = begin;
  if (text[i] == '-') ++i;
  const std::size_t int_begin = i;
  while (i < end && is_digit(text[i])) ++i;
  std::int64_t magnitude = static_cast<std::int64_t>(i - int_begin);  // 10^magnitude bounds |value|
  while (i < end && text[i] != 'e' && text[i] != 'E') ++i;
  if (i < end) {
    ++i;
    const bool negative = text[i] == '-';
    if (text[i] == '+' || text[i] == '-') ++i;
    std::int64_t e = 0;
    for (; i < end && e < 100000; ++i) e = e * 10 + (text[i] - '0');
    magnitude += negative ? -e : e;
  }
  if (magnitude <= 308) return true;
  double d = 0;
  const auto r = std::from_chars(text.data() + begin, text.data() + end, d);
  // Out of range this far above 1 is an overflow (to infinity, as strtod gives).
  return r.ec == std::errc() && r.ptr == text.data() + end;
}

// An object or array from text[i], checked against the JSON grammar with no
// whitespace: the end of its text, or npos. Exactly what nlohmann::json::accept()
// takes of compact text (the differential test in tests/redis_json_fields_test.cc
// holds it to that), at a fifth of its cost: accept() was a fifth of planning a
// Redis batch (bench/README.md). Iterative, so nesting depth is only memory, as
// for nlohmann.
std::size_t end_of_container(std::string_view text, std::size_t i) {
  std::string closers;  // the closing bracket of each open container, innermost last
  enum class Want { kValueOrClose, kValue, kKeyOrClose, kKey, kCommaOrClose };
  Want want = Want::kValue;
  while (true) {
    if (i >= text.size()) return std::string_view::npos;
    const char c = text[i];
    switch (want) {
      case Want::kKeyOrClose:
      case Want::kKey: {
        if (c == '}' && want == Want::kKeyOrClose) break;  // handled as a close below
        if (c != '"') return std::string_view::npos;
        bool escaped = false;
        i = end_of_string(text, i, &escaped);
        if (i == std::string_view::npos || i >= text.size() || text[i] != ':') return std::string_view::npos;
        ++i;
        want = Want::kValue;
        continue;
      }
      case Want::kValueOrClose:
        if (c == ']') break;
        [[fallthrough]];
      case Want::kValue:
        if (c == '{' || c == '[') {
          closers.push_back(c == '{' ? '}' : ']');
          want = c == '{' ? Want::kKeyOrClose : Want::kValueOrClose;
          ++i;
          continue;
        }
        if (c == '"') {
          bool escaped = false;
          i = end_of_string(text, i, &escaped);
        } else if (c == 't') {
          i = text.substr(i, 4) == "true" ? i + 4 : std::string_view::npos;
        } else if (c == 'f') {
          i = text.substr(i, 5) == "false" ? i + 5 : std::string_view::npos;
        } else if (c == 'n') {
          i = text.substr(i, 4) == "null" ? i + 4 : std::string_view::npos;
        } else {
          const std::size_t end = end_of_number(text, i);
          if (end == std::string_view::npos || !finite_number(text, i, end)) return std::string_view::npos;
          i = end;
        }
        if (i == std::string_view::npos) return i;
        want = Want::kCommaOrClose;
        continue;
      case Want::kCommaOrClose:
        if (c == ',') {
          want = closers.back() == '}' ? Want::kKey : Want::kValue;
          ++i;
          continue;
        }
        break;
    }
    // A closing bracket, where one may come.
    if (closers.empty() || c != closers.back()) return std::string_view::npos;
    closers.pop_back();
    ++i;
    if (closers.empty()) return i;
    want = Want::kCommaOrClose;
  }
}

std::size_t end_of_value(std::string_view text, std::size_t i) {
  if (i >= text.size()) return std::string_view::npos;
  switch (text[i]) {
    case '"': {
      bool escaped = false;
      return end_of_string(text, i, &escaped);
    }
    case '{':
    case '[':
      return end_of_container(text, i);
    case 't':
      return text.substr(i, 4) == "true" ? i + 4 : std::string_view::npos;
    case 'f':
      return text.substr(i, 5) == "false" ? i + 5 : std::string_view::npos;
    case 'n':
      return text.substr(i, 4) == "null" ? i + 4 : std::string_view::npos;
    default: {
      const std::size_t end = end_of_number(text, i);
      return end != std::string_view::npos && finite_number(text, i, end) ? end : std::string_view::npos;
    }
  }
}

}  // namespace

bool split_compact_object(std::string_view text, std::vector<JsonField>* out) {
  out->clear();
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') return false;
  if (text.size() == 2) return true;
  std::size_t i = 1;
  while (true) {
    if (text[i] != '"') return false;
    bool escaped = false;
    const std::size_t name_end = end_of_string(text, i, &escaped);
    if (name_end == std::string_view::npos || name_end >= text.size() || text[name_end] != ':') return false;
    JsonField f;
    if (escaped) {
      const nlohmann::json name = nlohmann::json::parse(text.substr(i, name_end - i), nullptr, false);
      if (!name.is_string()) return false;
      f.name = name.get<std::string>();
    } else {
      f.name.assign(text.substr(i + 1, name_end - i - 2));
    }
    const std::size_t value_end = end_of_value(text, name_end + 1);
    if (value_end == std::string_view::npos || value_end >= text.size()) return false;
    f.value = text.substr(name_end + 1, value_end - name_end - 1);
    out->push_back(std::move(f));
    if (text[value_end] == '}') return value_end + 1 == text.size();
    if (text[value_end] != ',') return false;
    i = value_end + 1;
  }
}

}  // namespace omni::sinks::redis
