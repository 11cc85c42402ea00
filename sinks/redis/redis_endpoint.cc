#include "redis_endpoint.h"

#include <charconv>
#include <optional>

#include "redis_errors.h"

namespace omni::sinks::redis {
namespace {

Status bad_url(std::string_view why) {
  return Status::invalid_argument("redis url: " + std::string(why));
}

// A decimal number in [lo, hi], nothing else (no sign, no spaces).
std::optional<long> parse_number(std::string_view s, long lo, long hi) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi) return std::nullopt;
  return v;
}

// The userinfo part, ":password" (or "default:password", Redis's default user):
// the password %-decoded. Messages never quote it.
Result<std::string> parse_userinfo(std::string_view info) {
  const std::size_t colon = info.find(':');
  if (colon == std::string_view::npos) return bad_url("the part before '@' has no ':password'");
  const std::string_view user = info.substr(0, colon);
  if (!user.empty() && user != "default") {
    return bad_url("a user name other than 'default' (Redis ACL users) is not supported; "
                   "use redis://:password@host");
  }
  const std::string_view enc = info.substr(colon + 1);
  std::string out;
  for (std::size_t i = 0; i < enc.size(); ++i) {
    if (enc[i] != '%') {
      out.push_back(enc[i]);
      continue;
    }
    unsigned v = 0;
    if (i + 2 >= enc.size()) {
      return bad_url("the password has a truncated %-escape");
    }
    auto [end, ec] = std::from_chars(enc.data() + i + 1, enc.data() + i + 3, v, 16);
    if (ec != std::errc() || end != enc.data() + i + 3) {
      return bad_url("the password has a malformed %-escape");
    }
    out.push_back(static_cast<char>(v));
    i += 2;
  }
  if (out.empty()) return bad_url("the password after ':' is empty");
  return out;
}

Result<Endpoint> parse_tcp(std::string_view rest) {
  Endpoint e;
  // The password may hold '/' or '@' unescaped: the host starts after the last '@'.
  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    OMNI_ASSIGN_OR_RETURN(e.password, parse_userinfo(rest.substr(0, at)));
    rest.remove_prefix(at + 1);
  }
  const std::size_t slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  std::string_view port;
  if (!hostport.empty() && hostport.front() == '[') {  // [::1]:6379
    const std::size_t close = hostport.find(']');
    if (close == std::string_view::npos) return bad_url("'[' of an IPv6 host is not closed");
    e.host.assign(hostport.substr(1, close - 1));
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad_url("junk after the IPv6 host's ']'");
      port = after.substr(1);
      if (port.empty()) return bad_url("the port after ':' is empty");
    }
  } else {
    const std::size_t colon = hostport.find(':');
    e.host.assign(hostport.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = hostport.substr(colon + 1);
      if (port.empty()) return bad_url("the port after ':' is empty");
    }
  }
  if (e.host.empty()) return bad_url("the host is empty");
  for (unsigned char c : e.host) {
    if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#' || c == '%' || c == '@') {
      return bad_url("the host '" + printable(e.host) + "' holds a character a host name cannot");
    }
  }
  if (!port.empty()) {
    const std::optional<long> p = parse_number(port, 1, 65535);
    if (!p) return bad_url("port '" + printable(port) + "' is not a number in 1..65535");
    e.port = static_cast<int>(*p);
  }
  if (slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {  // "redis://h:1/" is db 0
      const std::optional<long> d = parse_number(db, 0, 1L << 30);
      if (!d) return bad_url("db '" + printable(db) + "' is not a number (redis://host:port/db)");
      e.db = static_cast<int>(*d);
    }
  }
  return e;
}

Result<Endpoint> parse_unix(std::string_view rest) {
  Endpoint e;
  // unix://[:password@]/path: the path starts at the first '/', which a password
  // before it must %-encode.
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return bad_url("unix:// needs an absolute socket path (unix:///path.sock)");
  if (slash > 0) {
    std::string_view info = rest.substr(0, slash);
    if (info.back() != '@') return bad_url("junk between unix:// and the socket path");
    info.remove_suffix(1);
    OMNI_ASSIGN_OR_RETURN(e.password, parse_userinfo(info));
  }
  std::string_view path = rest.substr(slash);
  if (const std::size_t q = path.find('?'); q != std::string_view::npos) {
    const std::string_view query = path.substr(q + 1);
    path = path.substr(0, q);
    if (query.substr(0, 3) != "db=") return bad_url("unix:// takes only the query ?db=N");
    const std::optional<long> d = parse_number(query.substr(3), 0, 1L << 30);
    if (!d) return bad_url("db '" + printable(query.substr(3)) + "' is not a number (?db=N)");
    e.db = static_cast<int>(*d);
  }
  if (path.size() < 2) return bad_url("the socket path is empty");
  e.unix_socket.assign(path);
  return e;
}

}  // namespace

std::string Endpoint::describe() const {
  std::string d = unix_socket.empty() ? "redis " + host + ":" + std::to_string(port)
                                      : "redis unix:" + unix_socket;
  if (db != 0) d += " db " + std::to_string(db);
  return d;
}

Result<Endpoint> parse_redis_url(std::string_view url) {
  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    return bad_url("no scheme; expected redis://host:port or unix:///path.sock");
  }
  const std::string_view scheme = url.substr(0, sep);
  const std::string_view rest = url.substr(sep + 3);
  if (scheme == "redis") return parse_tcp(rest);
  if (scheme == "unix") return parse_unix(rest);
  if (scheme == "rediss") return bad_url("rediss:// (TLS) is not supported: hiredis 0.14 has no TLS");
  return bad_url("scheme '" + printable(scheme) + "' is not redis:// or unix://");
}

Result<Endpoint> resolve_endpoint(const RedisOptions& o) {
  Endpoint e;
  if (!o.url.empty()) {
    OMNI_ASSIGN_OR_RETURN(e, parse_redis_url(o.url));
  } else {
    e.host = o.host;
    e.port = o.port;
    e.unix_socket = o.unix_socket;
    e.db = o.db;
    e.password = o.password;
    if (e.unix_socket.empty()) {
      if (e.host.empty()) return Status::invalid_argument("redis: host is empty");
      if (e.port < 1 || e.port > 65535) {
        return Status::invalid_argument("redis: port " + std::to_string(e.port) + " is not in 1..65535");
      }
    }
    if (e.db < 0) return Status::invalid_argument("redis: db " + std::to_string(e.db) + " is negative");
  }
  // hiredis takes C strings.
  for (const std::string* s : {&e.host, &e.unix_socket}) {
    if (s->find('\0') != std::string::npos) {
      return Status::invalid_argument("redis: host or unix_socket holds a NUL byte");
    }
  }
  return e;
}

}  // namespace omni::sinks::redis
