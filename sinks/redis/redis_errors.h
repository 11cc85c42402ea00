// What a Redis failure means for the sink worker (omni::Backend::apply's contract):
// transient (kUnavailable: retried with backoff) or a change refused for good
// (kBackend: retried alone, then dead-lettered).
#pragma once

#include <string>
#include <string_view>

#include "omni/status.h"

struct redisReply;

namespace omni::sinks::redis {

// s with bytes outside printable ASCII (and '\\') as \xNN, cut at 200 bytes: safe
// to put a binary key or a server's text into a message.
std::string printable(std::string_view s);

// The first word of an error reply ("WRONGTYPE", "NOAUTH", "ERR").
std::string_view error_code(std::string_view error_text);

// Whether an error reply with this text is a state of the server that passes
// (loading, busy, out of memory, a replica, not authenticated, ...) rather than a
// refusal of what was sent.
bool is_transient_error(std::string_view error_text);

// An error reply to `what` ("GET the watermark") from `where` (Endpoint::describe()):
// kUnavailable when transient, else kBackend.
Status reply_error(std::string_view where, std::string_view what, std::string_view error_text);

// `message` with every occurrence of the password replaced, a safety net for text
// that came from elsewhere (our own messages never hold it). Passwords shorter than
// 4 bytes are not searched for: such a substring is no disclosure.
std::string redact(std::string message, std::string_view password);

}  // namespace omni::sinks::redis
