// Input validation: everything is checked before anything is written.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "omni/options.h"
#include "omni/status.h"
#include "omni/types.h"

namespace omni::detail {

inline constexpr std::size_t kMaxKeyBytes = 1024;
inline constexpr std::size_t kMaxDepth = 256;  // nesting levels of a document
inline constexpr std::size_t kMaxExecutorThreads = 1024;
inline constexpr std::size_t kMaxValueBytesLimit = std::size_t{1} << 30;
inline constexpr std::size_t kMaxCacheEntries = std::size_t{1} << 32;
inline constexpr std::size_t kMaxPredicateBytes = 256;
inline constexpr std::size_t kMaxLabelBytes = 128;
inline constexpr std::size_t kMaxDependsOn = 64;
inline constexpr std::chrono::seconds kMaxTtl{100LL * 366 * 24 * 3600};

// Keys: 1..1024 bytes of valid UTF-8 (no overlong forms, surrogates or code points
// past U+10FFFF) with no NUL or other control character (U+0000-U+001F,
// U+007F-U+009F). kInvalidArgument says which rule failed and where.
Status validate_key(std::string_view key);
// Identities (WriteOptions::identity, Options::default_identity) follow the key rules.
Status validate_identity(std::string_view identity);
// Predicates (relationships) and policy actions: 1..256 bytes of printable UTF-8,
// no NUL or other control character.
Status validate_predicate(std::string_view predicate);
Status validate_action(std::string_view action);
// Policy TTLs: 1 s .. 100 years.
Status validate_ttl(std::chrono::seconds ttl);
// Version labels: 1..128 bytes of printable ASCII (0x21..0x7E) other than '/'.
Status validate_label(std::string_view label);
// Every Options field within its documented limits; kInvalidArgument naming the field.
Status validate_options(const Options& options);
// StrategyOptions; the message names the field (without a prefix).
Status validate_strategy_options(const StrategyOptions& o);
// Backend names: 1..128 bytes of [A-Za-z0-9_.-] (they name rows and metrics).
Status validate_backend_name(std::string_view name);

// Documents: a JSON object whose compact JSON is at most max_bytes, nested at most
// kMaxDepth levels, with no NaN or infinity, no discarded or binary values and only
// valid UTF-8 strings. On
// success *compact holds that JSON.
Status encode_document(std::string_view key, const Json& doc, std::size_t max_bytes,
                       std::string* compact);

// The key for messages: control and non-ASCII bytes escaped as \xNN, cut at 64 bytes.
std::string printable_key(std::string_view key);

}  // namespace omni::detail
