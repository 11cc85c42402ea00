#include "omni/tools/config.h"

#include <cstdlib>
#include <fstream>
#include <set>
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

Result<ToolConfig> parse_config(std::string_view text) {
  const Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::invalid_argument("the configuration is not a JSON object");
  ToolConfig cfg;
  for (const auto& [k, v] : j.items()) {
    if (k != "backends") return Status::invalid_argument("unknown configuration field '" + k + "'");
  }
  const auto backends = j.find("backends");
  if (backends == j.end()) return cfg;
  if (!backends->is_array()) return Status::invalid_argument("'backends' is not an array");
  std::set<std::string> names;
  for (std::size_t i = 0; i < backends->size(); ++i) {
    const Json& b = (*backends)[i];
    const std::string at = "backends[" + std::to_string(i) + "]";
    if (!b.is_object()) return Status::invalid_argument(at + " is not an object");
    if (std::string p = literal_credential(b, at); !p.empty()) {
      return Status::invalid_argument(p + ": credentials never go in the file; name where the secret is with "
                                          "password_env or password_file");
    }
    BackendConfig bc;
    for (const auto& [k, v] : b.items()) {
      if (k == "name" || k == "type" || k == "password_env" || k == "password_file") {
        if (!v.is_string() || v.get<std::string>().empty()) {
          return Status::invalid_argument(at + "." + k + " must be a non-empty string");
        }
      }
      if (k == "name") {
        bc.name = v.get<std::string>();
      } else if (k == "type") {
        bc.type = v.get<std::string>();
      } else if (k == "priority") {
        if (!v.is_number_integer()) return Status::invalid_argument(at + ".priority must be an integer");
        bc.priority = v.get<int>();
      } else if (k == "options") {
        if (!v.is_object()) return Status::invalid_argument(at + ".options must be an object");
        bc.options = v;
      } else if (k == "password_env" || k == "password_file") {
        if (bc.secret.kind != SecretRef::Kind::kNone) {
          return Status::invalid_argument(at + ": give password_env or password_file, not both");
        }
        bc.secret = {k == "password_env" ? SecretRef::Kind::kEnv : SecretRef::Kind::kFile, v.get<std::string>()};
      } else {
        return Status::invalid_argument("unknown field " + at + "." + k);
      }
    }
    if (bc.name.empty() || bc.type.empty()) return Status::invalid_argument(at + " needs a name and a type");
    if (!names.insert(bc.name).second) return Status::invalid_argument("backend name '" + bc.name + "' appears twice");
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
      if (!v) return Status::not_found("the " + ref.describe() + " is not set");
      return std::string(v);
    }
    case SecretRef::Kind::kFile: {
      std::ifstream in(ref.where, std::ios::binary);
      if (!in) return Status::not_found("cannot read the secret's " + ref.describe());
      std::ostringstream s;
      s << in.rdbuf();
      std::string v = s.str();
      while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
      return v;
    }
  }
  return std::string();
}

}  // namespace omni::tools
