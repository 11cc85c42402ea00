// The `omni` configuration file (--config FILE): the backends a store feeds, by
// name, and how to reach them. Read by `health`, `replay sink` and
// `dead-letters retry`.
//
// JSON (nlohmann; comments are not allowed):
//
//   {"backends": {
//     "redis": {"type": "redis", "url": "redis://127.0.0.1:6379/0",
//               "password_env": "REDIS_PASSWORD", "key_prefix": "omni:",
//               "max_connections": 4}
//   }}
//
// Each backend is an object under its name (what --backend and --sink name):
// "type" (required; "redis" is the one the tool can build), "priority" (an
// integer, default 100, as Storage::add_backend), where its secret is, and the
// type's own options. For "redis": url, host, port, unix_socket, db, key_prefix,
// max_connections, connect_timeout_ms, command_timeout_ms, version_ttl_s (see
// omni::RedisOptions); a url must not carry a password (no "user:pw@").
//
// Credentials never appear in the file, in argv, in output, logs or errors: a
// backend names where its secret is, `password_env` (an environment variable) or
// `password_file` (a file whose content, without a trailing newline, is the
// secret). A literal "password", "token", "secret", "passwd" or "api_key" anywhere
// in a backend is refused (kInvalidArgument naming the field, never its value).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "omni/backend.h"
#include "omni/redis_backend.h"
#include "omni/status.h"

namespace omni::tools {

// Where a secret is; printing one shows where, never what.
struct SecretRef {
  enum class Kind { kNone, kEnv, kFile };
  Kind kind = Kind::kNone;
  std::string where;  // the variable's name or the file's path
  std::string describe() const;  // "environment variable OMNI_REDIS_PASSWORD"
};

struct BackendConfig {
  std::string name;  // unique in the file: what --backend and --sink name
  std::string type;  // "redis"
  int priority = 100;
  // The type's own options, credential-free, checked by parse_config: for "redis",
  // everything but the password (resolved by make_backend).
  RedisOptions redis;
  SecretRef secret;
};

struct ToolConfig {
  std::vector<BackendConfig> backends;  // in name order
  const BackendConfig* find(std::string_view name) const;
  // find(name), or kInvalidArgument listing the names the file has.
  Result<const BackendConfig*> require(std::string_view name) const;
};

// kNotFound when `path` cannot be read; kInvalidArgument naming the field when it
// is not valid (unknown fields or types, a value of the wrong type or out of
// range, literal credentials). The message starts with the path.
Result<ToolConfig> load_config(const std::string& path);
Result<ToolConfig> parse_config(std::string_view text);

// The secret's value. kInvalidArgument when the variable is not set, kNotFound
// when the file cannot be read; both name the variable or file, never a value.
Result<std::string> resolve_secret(const SecretRef& ref);

// The backend `b` describes, its secret resolved. Does not connect (an unreachable
// server is the backend's health, not an error here).
Result<std::unique_ptr<RedisBackend>> make_redis_backend(const BackendConfig& b);
Result<std::unique_ptr<Backend>> make_backend(const BackendConfig& b);

}  // namespace omni::tools
