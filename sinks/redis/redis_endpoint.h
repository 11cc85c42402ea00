// Where and how to connect: RedisOptions (or its url) resolved and checked.
#pragma once

#include <string>
#include <string_view>

#include "omni/redis_backend.h"
#include "omni/status.h"

namespace omni::sinks::redis {

struct Endpoint {
  std::string host;         // used when unix_socket is empty
  int port = 6379;
  std::string unix_socket;  // set: connect here
  int db = 0;
  std::string password;     // empty: no AUTH. Never put it in a message.

  // "redis 127.0.0.1:6379", "redis unix:/run/redis.sock", with " db 2" when db != 0:
  // how every message of this backend starts. Holds no password.
  std::string describe() const;
};

// options.url parsed (when set) or options' host/port/unix_socket/db/password,
// checked: kInvalidArgument naming what is wrong (never echoing the password).
Result<Endpoint> resolve_endpoint(const RedisOptions& options);

// The url alone: redis://[:password@]host[:port][/db] or
// unix://[:password@]/path.sock[?db=N].
Result<Endpoint> parse_redis_url(std::string_view url);

}  // namespace omni::sinks::redis
