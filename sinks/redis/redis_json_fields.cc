#include "redis_json_fields.h"

#include <nlohmann/json.hpp>

#include <cstdint>

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

// text[at] is '"': the index just past the closing quote, or npos. *escaped says
// whether the string holds an escape.
std::size_t end_of_string(std::string_view text, std::size_t at, bool* escaped) {
  for (std::size_t i = at + 1; i < text.size(); ++i) {
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
      case 'u':
        if (i + 4 >= text.size() || !is_hex(text[i + 1]) || !is_hex(text[i + 2]) || !is_hex(text[i + 3]) ||
            !is_hex(text[i + 4])) {
          return std::string_view::npos;
        }
        i += 4;
        break;
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

// An object or array from text[at]: the end of its text (brackets matched, strings
// skipped, no whitespace), or npos. Its content is checked by the caller.
std::size_t end_of_nested(std::string_view text, std::size_t i) {
  std::size_t depth = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"') {
      bool escaped = false;
      i = end_of_string(text, i, &escaped);
      if (i == std::string_view::npos) return i;
      continue;
    }
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      return std::string_view::npos;
    }
    ++i;
  }
  return std::string_view::npos;
}

std::size_t end_of_value(std::string_view text, std::size_t i) {
  if (i >= text.size()) return std::string_view::npos;
  switch (text[i]) {
    case '"': {
      bool escaped = false;
      return end_of_string(text, i, &escaped);
    }
    case '{':
    case '[': {
      const std::size_t end = end_of_nested(text, i);
      if (end == std::string_view::npos || !nlohmann::json::accept(text.substr(i, end - i))) {
        return std::string_view::npos;
      }
      return end;
    }
    case 't':
      return text.substr(i, 4) == "true" ? i + 4 : std::string_view::npos;
    case 'f':
      return text.substr(i, 5) == "false" ? i + 5 : std::string_view::npos;
    case 'n':
      return text.substr(i, 4) == "null" ? i + 4 : std::string_view::npos;
    default:
      return end_of_number(text, i);
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
