#include "redis_errors.h"

#include <array>
#include <cstdio>

namespace omni::sinks::redis {

std::string printable(std::string_view s) {
  constexpr std::size_t kMax = 200;
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (s.size() > kMax) out += "...";
  return out;
}

std::string_view error_code(std::string_view text) { return text.substr(0, text.find(' ')); }

bool is_transient_error(std::string_view text) {
  // Codes Redis 7 uses for states that pass: the same call can succeed later
  // without anything about the change being different.
  static constexpr std::array<std::string_view, 12> kTransient = {
      "LOADING", "BUSY",       "OOM",      "READONLY",   "MISCONF",     "MASTERDOWN",
      "TRYAGAIN", "NOREPLICAS", "NOAUTH",  "WRONGPASS", "CLUSTERDOWN", "NOPERM"};
  const std::string_view code = error_code(text);
  for (std::string_view t : kTransient) {
    if (code == t) return true;
  }
  return text.starts_with("ERR max number of clients reached");
}

Status reply_error(std::string_view where, std::string_view what, std::string_view text) {
  std::string m = std::string(where) + ": " + std::string(what) + ": " + printable(text);
  if (is_transient_error(text)) return Status::unavailable(std::move(m));
  return Status::backend(std::move(m));
}

std::string redact(std::string message, std::string_view password) {
  if (password.size() < 4) return message;
  for (std::size_t at = message.find(password); at != std::string::npos;
       at = message.find(password, at)) {
    message.replace(at, password.size(), "<password>");
    at += 10;
  }
  return message;
}

}  // namespace omni::sinks::redis
