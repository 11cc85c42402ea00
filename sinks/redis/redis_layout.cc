#include "redis_layout.h"

#include <array>

namespace omni::sinks::redis {
namespace {

// A document key starting with one of these, or equal to one of the literal names,
// would read as a name of another kind.
constexpr std::array<std::string_view, 6> kKindPrefixes = {"rel:", "rrev:", "ver:", "verdoc:",
                                                           "policy:", "policyby:"};
constexpr std::array<std::string_view, 2> kLiteralNames = {"sink:applied", "applies"};

bool needs_escape(std::string_view key) {
  if (key.starts_with('_')) return true;
  for (std::string_view p : kKindPrefixes) {
    if (key.starts_with(p)) return true;
  }
  for (std::string_view n : kLiteralNames) {
    if (key == n) return true;
  }
  return false;
}

void append_sized(std::string* out, std::string_view part) {
  out->append(std::to_string(part.size())).push_back(':');
  out->append(part).push_back(':');
}

}  // namespace

std::string Layout::named(std::string_view kind) const {
  std::string k = prefix_;
  k.append(kind).push_back(':');
  return k;
}

std::string Layout::document(std::string_view key) const { return std::string(document_head(key)).append(key); }

std::string_view Layout::document_head(std::string_view key) const {
  return needs_escape(key) ? escaped_prefix_ : prefix_;
}

std::string Layout::relation(std::string_view subject, std::string_view predicate) const {
  std::string k = named("rel");
  append_sized(&k, subject);
  return k.append(predicate);
}

std::string Layout::reverse(std::string_view object, std::string_view predicate) const {
  std::string k = named("rrev");
  append_sized(&k, object);
  return k.append(predicate);
}

std::string Layout::versions(std::string_view key) const { return named("ver").append(key); }

std::string Layout::version_doc(std::string_view key, std::string_view label) const {
  std::string k = named("verdoc");
  append_sized(&k, key);
  return k.append(label);
}

std::string Layout::policy(std::string_view principal, std::string_view action,
                           std::string_view resource) const {
  std::string k = named("policy");
  append_sized(&k, principal);
  append_sized(&k, action);
  return k.append(resource);
}

std::string Layout::policy_by(std::string_view name) const { return named("policyby").append(name); }

std::string Layout::field(std::string_view name) {
  std::string f;
  if (name.starts_with('_')) f.push_back('_');
  return f.append(name);
}

std::optional<std::string_view> Layout::user_field(std::string_view stored) {
  if (!stored.starts_with('_')) return stored;
  if (stored.starts_with("__")) return stored.substr(1);
  return std::nullopt;
}

}  // namespace omni::sinks::redis
