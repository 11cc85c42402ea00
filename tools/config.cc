#include "omni/tools/config.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace omni::tools {
namespace {

using Json = nlohmann::json;

bool credential_name(std::string_view n) {
  for (std::string_view c : {"password", "token", "secret", "passwd", "api_key"}) {
    if (n == c) return true;
  }
  return false;
}

// The path of the first field in `j` that holds a literal credential, or empty.
std::string literal_credential(const Json& j, const std::string& path) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (credential_name(k)) return path + "." + k;
      if (std::string p = literal_credential(v, path + "." + k); !p.empty()) return p;
    }
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) {
      if (std::string p = literal_credential(j[i], path + "[" + std::to_string(i) + "]"); !p.empty()) return p;
    }
  }
  return {};
}

Status bad(const std::string& field, const std::string& what) {
  return Status::invalid_argument(field + " " + what);
}

Result<std::string> string_field(const Json& v, const std::string& at) {
  if (!v.is_string() || v.get<std::string>().empty()) return bad(at, "must be a non-empty string");
  return v.get<std::string>();
}

Result<std::int64_t> int_field(const Json& v, const std::string& at, std::int64_t lo, std::int64_t hi) {
  if (!v.is_number_integer()) return bad(at, "must be an integer");
  const std::int64_t n = v.get<std::int64_t>();
  if (n < lo || n > hi) return bad(at, "must be in " + std::to_string(lo) + ".." + std::to_string(hi));
  return n;
}

// A url's "user:password@" is a credential in the file: refused without echoing it.
bool url_has_userinfo(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return false;
  const std::string_view rest = url.substr(scheme + 3);
  const std::size_t at = rest.find('@');
  return at != std::string_view::npos && at < rest.find('/');
}

Status redis_option(const std::string& k, const Json& v, const std::string& at, RedisOptions* o) {
  if (k == "url") {
    OMNI_ASSIGN_OR_RETURN(o->url, string_field(v, at));
    if (url_has_userinfo(o->url)) {
      return bad(at, "must not carry a password (\"user:pw@\"): name it with password_env or password_file");
    }
  } else if (k == "host") {
    OMNI_ASSIGN_OR_RETURN(o->host, string_field(v, at));
  } else if (k == "unix_socket") {
    OMNI_ASSIGN_OR_RETURN(o->unix_socket, string_field(v, at));
  } else if (k == "key_prefix") {
    if (!v.is_string()) return bad(at, "must be a string");
    o->key_prefix = v.get<std::string>();
  } else if (k == "port") {
    OMNI_ASSIGN_OR_RETURN(const std::int64_t n, int_field(v, at, 1, 65535));
    o->port = static_cast<int>(n);
  } else if (k == "db") {
    OMNI_ASSIGN_OR_RETURN(const std::int64_t n, int_field(v, at, 0, 1 << 20));
    o->db = static_cast<int>(n);
  } else if (k == "max_connections") {
    OMNI_ASSIGN_OR_RETURN(const std::int64_t n, int_field(v, at, 1, 256));
    o->max_connections = static_cast<std::size_t>(n);
  } else if (k == "connect_timeout_ms") {
    OMNI_ASSIGN_OR_RETURN(const std::int64_t n, int_field(v, at, 1, 3'600'000));
    o->connect_timeout = std::chrono::milliseconds(n);
  } else if (k == "command_timeout_ms") {
    OMNI_ASSIGN_OR_RETURN(const std::int64_t n, int_field(v, at, 1, 3'600'000));
    o->command_timeout = std::chrono::milliseconds(n);
  } else if (k == "version_ttl_s") {
    OMNI_ASSIGN_OR_RETURN(const std::int64_t n, int_field(v, at, 0, std::int64_t{1} << 40));
    o->version_ttl = std::chrono::seconds(n);
  } else {
    return Status::invalid_argument("unknown field " + at);
  }
  return Status();
}

Result<BackendConfig> parse_backend(const std::string& name, const Json& b) {
  const std::string at = "backends." + name;
  if (!b.is_object()) return bad(at, "is not an object");
  if (std::string p = literal_credential(b, at); !p.empty()) {
    return Status::invalid_argument(p + ": credentials never go in the file; name where the secret is with "
                                        "password_env or password_file");
  }
  BackendConfig bc;
  bc.name = name;
  const auto type = b.find("type");
  if (type == b.end()) return Status::invalid_argument(at + ".type is missing (\"redis\")");
  OMNI_ASSIGN_OR_RETURN(bc.type, string_field(*type, at + ".type"));
  if (bc.type != "redis") {
    return Status::invalid_argument(at + ".type: unknown backend type '" + bc.type + "' (known: redis)");
  }
  for (const auto& [k, v] : b.items()) {
    const std::string field = at + "." + k;
    if (k == "type") continue;
    if (k == "priority") {
      OMNI_ASSIGN_OR_RETURN(const std::int64_t n, int_field(v, field, -1'000'000, 1'000'000));
      bc.priority = static_cast<int>(n);
    } else if (k == "password_env" || k == "password_file") {
      if (bc.secret.kind != SecretRef::Kind::kNone) {
        return Status::invalid_argument(at + ": give password_env or password_file, not both");
      }
      OMNI_ASSIGN_OR_RETURN(std::string where, string_field(v, field));
      bc.secret = {k == "password_env" ? SecretRef::Kind::kEnv : SecretRef::Kind::kFile, std::move(where)};
    } else {
      OMNI_RETURN_IF_ERROR(redis_option(k, v, field, &bc.redis));
    }
  }
  // What create() checks beyond the fields (a malformed url); it does not connect.
  Result<std::unique_ptr<RedisBackend>> probe = RedisBackend::create(bc.redis);
  if (!probe.ok()) return Status::invalid_argument(at + ": " + probe.status().message());
  return bc;
}

}  // namespace

std::string SecretRef::describe() const {
  switch (kind) {
    case Kind::kNone: return "no secret";
    case Kind::kEnv: return "environment variable " + where;
    case Kind::kFile: return "file " + where;
  }
  return "no secret";
}

const BackendConfig* ToolConfig::find(std::string_view name) const {
  for (const auto& b : backends) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

Result<const BackendConfig*> ToolConfig::require(std::string_view name) const {
  if (const BackendConfig* b = find(name)) return b;
  std::string names;
  for (const auto& b : backends) names += (names.empty() ? "" : ", ") + b.name;
  return Status::invalid_argument("no backend named '" + std::string(name) + "' in the configuration (it has: " +
                                  (names.empty() ? "none" : names) + ")");
}

Result<ToolConfig> parse_config(std::string_view text) {
  const Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::invalid_argument("the configuration is not a JSON object");
  ToolConfig cfg;
  for (const auto& [k, v] : j.items()) {
    if (k != "backends") return Status::invalid_argument("unknown configuration field '" + k + "'");
  }
  const auto backends = j.find("backends");
  if (backends == j.end()) return cfg;
  if (!backends->is_object()) return Status::invalid_argument("backends must be an object: {\"<name>\": {...}}");
  for (const auto& [name, b] : backends->items()) {  // nlohmann::json keeps names sorted
    if (name.empty()) return Status::invalid_argument("backends: a backend's name must not be empty");
    OMNI_ASSIGN_OR_RETURN(BackendConfig bc, parse_backend(name, b));
    cfg.backends.push_back(std::move(bc));
  }
  return cfg;
}

Result<ToolConfig> load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("cannot read the configuration file '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  Result<ToolConfig> cfg = parse_config(text.str());
  if (!cfg.ok()) return Status(cfg.status().code(), path + ": " + cfg.status().message());
  return cfg;
}

Result<std::string> resolve_secret(const SecretRef& ref) {
  switch (ref.kind) {
    case SecretRef::Kind::kNone: return std::string();
    case SecretRef::Kind::kEnv: {
      const char* v = std::getenv(ref.where.c_str());
      if (!v) return Status::invalid_argument("the " + ref.describe() + " (password_env) is not set");
      return std::string(v);
    }
    case SecretRef::Kind::kFile: {
      std::ifstream in(ref.where, std::ios::binary);
      if (!in) return Status::not_found("cannot read the secret's " + ref.describe() + " (password_file)");
      std::ostringstream s;
      s << in.rdbuf();
      std::string v = s.str();
      while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
      return v;
    }
  }
  return std::string();
}

Result<std::unique_ptr<RedisBackend>> make_redis_backend(const BackendConfig& b) {
  if (b.type != "redis") return Status::invalid_argument("backend '" + b.name + "' is not of type redis");
  RedisOptions o = b.redis;
  OMNI_ASSIGN_OR_RETURN(std::string password, resolve_secret(b.secret));
  if (!password.empty()) {
    if (!o.url.empty()) {
      // The url replaces every connection field, the password included: the
      // password goes into it (%-encoded), never into anything printed.
      std::string enc;
      static constexpr char kHex[] = "0123456789ABCDEF";
      for (unsigned char c : password) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
          enc += static_cast<char>(c);
        } else {
          enc += '%';
          enc += kHex[c >> 4];
          enc += kHex[c & 15];
        }
      }
      const std::size_t scheme = o.url.find("://");
      o.url.insert(scheme + 3, ":" + enc + "@");
    } else {
      o.password = std::move(password);
    }
  }
  Result<std::unique_ptr<RedisBackend>> r = RedisBackend::create(std::move(o));
  if (!r.ok()) return Status(r.status().code(), "backends." + b.name + ": " + r.status().message());
  return r;
}

Result<std::unique_ptr<Backend>> make_backend(const BackendConfig& b) {
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<RedisBackend> r, make_redis_backend(b));
  return std::unique_ptr<Backend>(std::move(r));
}

}  // namespace omni::tools
