// The tools' configuration file: which backends a store feeds and how to reach
// them. Read by the backend subcommands (`replay sink`, `dead-letters`, `health`,
// `bench sink`) once they exist; no command takes --config yet.
//
// JSON (nlohmann, already a dependency; comments are not allowed):
//
//   {"backends": [
//     {"name": "redis", "type": "redis", "priority": 1,
//      "options": {"host": "127.0.0.1", "port": 6379, "db": 0, "key_prefix": "omni:"},
//      "password_env": "OMNI_REDIS_PASSWORD"}
//   ]}
//
// Credentials never appear in the file, in argv, in output, logs or errors: a
// backend names where its secret is, `password_env` (an environment variable) or
// `password_file` (a file whose content, without a trailing newline, is the
// secret). A literal "password", "token" or "secret" anywhere in a backend is
// refused (kInvalidArgument naming the field, never its value).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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
  std::string type;  // "redis", "registry", "configmap"
  int priority = 0;
  nlohmann::json options = nlohmann::json::object();  // the adapter's own, credential-free
  SecretRef secret;
};

struct ToolConfig {
  std::vector<BackendConfig> backends;
  const BackendConfig* find(std::string_view name) const;
};

// kNotFound when `path` cannot be read; kInvalidArgument naming the field when it
// is not valid (unknown fields, duplicate names, literal credentials).
Result<ToolConfig> load_config(const std::string& path);
Result<ToolConfig> parse_config(std::string_view text);

// The secret's value. kNotFound naming the variable or file (never a value).
Result<std::string> resolve_secret(const SecretRef& ref);

}  // namespace omni::tools
