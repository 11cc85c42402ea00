// The names of the Redis keys and hash fields (omni/redis_backend.h draws the
// layout). Every composite name is unambiguous: each kind has its own word before
// the first ':', lengths prefix every part but the last, and a document key that
// could be mistaken for one of these names gets one more leading '_'.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace omni::sinks::redis {

class Layout {
 public:
  explicit Layout(std::string prefix) : prefix_(std::move(prefix)), escaped_prefix_(prefix_ + "_") {}

  std::string document(std::string_view key) const;                       // P<key>
  // What document(key) puts before the key: the prefix, with the escape when
  // the key needs it (so a caller can write the name without building it).
  std::string_view document_head(std::string_view key) const;
  std::string relation(std::string_view subject, std::string_view predicate) const;  // Prel:
  std::string reverse(std::string_view object, std::string_view predicate) const;    // Prrev:
  std::string versions(std::string_view key) const;                       // Pver:
  std::string version_doc(std::string_view key, std::string_view label) const;       // Pverdoc:
  std::string policy(std::string_view principal, std::string_view action,
                     std::string_view resource) const;                    // Ppolicy:
  std::string policy_by(std::string_view name) const;                     // Ppolicyby:
  std::string watermark() const { return prefix_ + "sink:applied"; }
  std::string applies() const { return prefix_ + "applies"; }

  // A document's top-level field name as stored: "_x" -> "__x" (the reserved
  // fields "_seq" and "_deleted" start with a single '_').
  static std::string field(std::string_view name);
  // The stored field back to the document's name; nullopt for a reserved field.
  static std::optional<std::string_view> user_field(std::string_view stored);

  static constexpr std::string_view kSeqField = "_seq";
  static constexpr std::string_view kDeletedField = "_deleted";

 private:
  std::string named(std::string_view kind) const;  // P<kind>:
  std::string prefix_;
  std::string escaped_prefix_;
};

}  // namespace omni::sinks::redis
