#include "validation.h"

#include "json_encode.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace omni::detail {

std::string printable_key(std::string_view key) {
  std::string out;
  for (std::size_t i = 0; i < key.size() && i < 64; ++i) {
    const auto c = static_cast<unsigned char>(key[i]);
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (key.size() > 64) out += "...";
  return out;
}

namespace {

// Printable ASCII (0x20..0x7E) is valid UTF-8 without a control character, so a
// name made only of it passes every rule below; most names are, and they pay only
// this: 8 bytes at a time, a byte < 0x20 or > 0x7E setting that byte's top bit
// (the classic "has less / has more" bit tricks, exact for these bounds).
bool printable_ascii(std::string_view s) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  const char* p = s.data();
  std::size_t n = s.size();
  std::uint64_t bad = 0;
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    bad |= ((w - kOnes * 0x20) & ~w) | ((w + kOnes * (0x7f - 0x7e)) | w);
  }
  std::uint64_t tail = 0;
  for (; n != 0; ++p, --n) {
    const auto c = static_cast<unsigned char>(*p);
    tail |= static_cast<std::uint64_t>(c < 0x20 || c > 0x7e);
  }
  return (bad & kHigh) == 0 && tail == 0;
}

// The key rules, for keys and identities alike; `what` names which it is, and
// max_bytes how long it may be. The full check, naming what failed;
// validate_name() below tries the fast path first.
[[gnu::noinline]] Status check_name(std::string_view what, std::string_view key,
                                    std::size_t max_bytes) {
  auto bad = [&](std::string why) {
    return Status::invalid_argument(std::string(what) + " '" + printable_key(key) + "' (" +
                                    std::to_string(key.size()) + " bytes): " + why);
  };
  if (key.empty()) return Status::invalid_argument(std::string(what) + " is empty");
  if (key.size() > max_bytes) {
    return bad("longer than " + std::to_string(max_bytes) + " bytes");
  }
  const auto* s = reinterpret_cast<const unsigned char*>(key.data());
  const std::size_t n = key.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    std::uint32_t cp;
    std::size_t len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      cp = c & 0x1F;
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      cp = c & 0x0F;
      len = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      cp = c & 0x07;
      len = 4;
    } else {
      return bad("invalid UTF-8 lead byte at offset " + std::to_string(i));
    }
    if (i + len > n) return bad("truncated UTF-8 sequence at offset " + std::to_string(i));
    for (std::size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) {
        return bad("invalid UTF-8 continuation byte at offset " + std::to_string(i + k));
      }
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) {
      return bad("overlong UTF-8 encoding at offset " + std::to_string(i));
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) return bad("UTF-16 surrogate at offset " + std::to_string(i));
    if (cp > 0x10FFFF) return bad("code point past U+10FFFF at offset " + std::to_string(i));
    if (cp == 0) return bad("NUL byte at offset " + std::to_string(i));
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
      return bad("control character at offset " + std::to_string(i));
    }
    i += len;
  }
  return Status();
}

// A name within its size made only of printable ASCII passes without the
// decoder, the message-building frame of check_name() or a call.
inline Status validate_name(std::string_view what, std::string_view key,
                            std::size_t max_bytes = kMaxKeyBytes) {
  if (!key.empty() && key.size() <= max_bytes && printable_ascii(key)) return Status();
  return check_name(what, key, max_bytes);
}

}  // namespace

Status validate_predicate(std::string_view predicate) {
  return validate_name("predicate", predicate, kMaxPredicateBytes);
}

Status validate_action(std::string_view action) {
  return validate_name("action", action, kMaxPredicateBytes);
}

Status validate_ttl(std::chrono::seconds ttl) {
  if (ttl < std::chrono::seconds(1) || ttl > kMaxTtl) {
    return Status::invalid_argument("a TTL of " + std::to_string(ttl.count()) +
                                    " s is outside 1 s .. 100 years");
  }
  return Status();
}

Status validate_label(std::string_view label) {
  if (label.empty()) return Status::invalid_argument("version label is empty");
  auto bad = [&](std::string why) {
    return Status::invalid_argument("version label '" + printable_key(label) + "' (" +
                                    std::to_string(label.size()) + " bytes): " + why);
  };
  if (label.size() > kMaxLabelBytes) return bad("longer than " + std::to_string(kMaxLabelBytes) + " bytes");
  for (std::size_t i = 0; i < label.size(); ++i) {
    const auto c = static_cast<unsigned char>(label[i]);
    if (c <= 0x20 || c >= 0x7f) {
      return bad("byte " + std::to_string(c) + " at offset " + std::to_string(i) +
                 " is not printable ASCII (space and control characters are refused)");
    }
    if (c == '/') return bad("'/' at offset " + std::to_string(i));
  }
  return Status();
}

Status validate_key(std::string_view key) { return validate_name("key", key); }

Status validate_identity(std::string_view identity) { return validate_name("identity", identity); }

namespace {

// Looks for what compact JSON would silently change or cannot hold: NaN and
// infinities (nlohmann writes them as null) and nesting deeper than kMaxDepth
// (dump() and parse() recurse). The recursion here stops at kMaxDepth, so a
// hostile depth cannot overflow our stack.
Status check_values(std::string_view key, const Json& j, std::size_t depth) {
  // A discarded value (a failed parse) is written as "<discarded>", and a binary
  // value comes back as a different type: neither survives the trip to disk.
  if (j.is_discarded()) {
    return Status::invalid_argument("document for key '" + printable_key(key) +
                                    "' contains a discarded value (the result of a failed parse)");
  }
  if (j.is_binary()) {
    return Status::invalid_argument("document for key '" + printable_key(key) +
                                    "' contains a binary value, which JSON text cannot hold");
  }
  if (j.is_number_float() && !std::isfinite(j.get<double>())) {
    return Status::invalid_argument("document for key '" + printable_key(key) +
                                    "' contains NaN or infinity, which JSON cannot represent");
  }
  if (!j.is_structured()) return Status();
  if (depth > kMaxDepth) {
    return Status::invalid_argument("document for key '" + printable_key(key) +
                                    "' is nested deeper than " + std::to_string(kMaxDepth) +
                                    " levels");
  }
  for (const Json& child : j) OMNI_RETURN_IF_ERROR(check_values(key, child, depth + 1));
  return Status();
}

}  // namespace

Status encode_document(std::string_view key, const Json& doc, std::size_t max_bytes,
                       std::string* compact) {
  if (!doc.is_object()) {
    return Status::invalid_argument("document for key '" + printable_key(key) +
                                    "' is a JSON " + doc.type_name() + ", not an object");
  }
  // The fast path writes into a per-thread buffer that keeps its capacity, so
  // the payload costs one allocation of its exact size; anything it refuses
  // takes the checks and dump() below, which name the problem.
  thread_local std::string buffer;
  buffer.clear();
  if (dump_compact(doc, kMaxDepth, &buffer)) {
    compact->assign(buffer);
    if (buffer.capacity() > (std::size_t{1} << 20)) std::string().swap(buffer);  // one big document
  } else {
    OMNI_RETURN_IF_ERROR(check_values(key, doc, 1));
    try {
      *compact = doc.dump();  // strict: throws on strings that are not valid UTF-8
    } catch (const Json::exception& e) {
      return Status::invalid_argument("document for key '" + printable_key(key) +
                                      "' cannot be encoded: " + e.what());
    }
  }
  if (compact->size() > max_bytes) {
    return Status::invalid_argument("document for key '" + printable_key(key) + "' is " +
                                    std::to_string(compact->size()) +
                                    " bytes as JSON, over max_value_bytes (" +
                                    std::to_string(max_bytes) + ")");
  }
  return Status();
}

Status validate_strategy_options(const StrategyOptions& o) {
  if (o.interval.count() <= 0) return Status::invalid_argument("interval must be positive");
  if (o.batch_size < 1) return Status::invalid_argument("batch_size must be at least 1");
  if (o.write_timeout.count() < 0) return Status::invalid_argument("write_timeout is negative");
  return Status();
}

Status validate_backend_name(std::string_view name) {
  if (name.empty() || name.size() > 128) {
    return Status::invalid_argument("a backend name must be 1..128 bytes (got " + std::to_string(name.size()) + ")");
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) {
      return Status::invalid_argument("backend name '" + printable_key(name) +
                                      "' may hold only letters, digits, '_', '-' and '.'");
    }
  }
  return Status();
}

Status validate_options(const Options& o) {
  auto bad = [](std::string m) { return Status::invalid_argument("Options::" + std::move(m)); };
  if (o.path.empty()) return bad("path is empty");
  if (o.path.find('\0') != std::string::npos) {
    return bad("path contains a NUL byte at offset " + std::to_string(o.path.find('\0')));
  }
  if (o.executor_threads < 1 || o.executor_threads > kMaxExecutorThreads) {
    return bad("executor_threads is " + std::to_string(o.executor_threads) + "; it must be 1.." +
               std::to_string(kMaxExecutorThreads));
  }
  if (o.max_value_bytes < 2 || o.max_value_bytes > kMaxValueBytesLimit) {
    return bad("max_value_bytes is " + std::to_string(o.max_value_bytes) + "; it must be 2.." +
               std::to_string(kMaxValueBytesLimit) + " (a FlatBuffer holds at most 2 GiB)");
  }
  if (o.block_cache_size > (std::size_t{1} << 40)) {
    return bad("block_cache_size is " + std::to_string(o.block_cache_size) + "; it must be at most 1 TiB");
  }
  if (o.write_buffer_size < (64u << 10) || o.write_buffer_size > (std::size_t{4} << 30)) {
    return bad("write_buffer_size is " + std::to_string(o.write_buffer_size) +
               "; it must be 64 KiB..4 GiB");
  }
  if (o.cache_size > kMaxCacheEntries) {
    return bad("cache_size is " + std::to_string(o.cache_size) + "; it must be at most " +
               std::to_string(kMaxCacheEntries));
  }
  if (o.close_timeout.count() < 0) return bad("close_timeout is negative");
  if (Status s = validate_ttl(o.default_ttl); !s.ok()) return bad("default_ttl: " + s.message());
  if (o.policy_cache_size == 0 || o.policy_cache_size > kMaxCacheEntries) {
    return bad("policy_cache_size is " + std::to_string(o.policy_cache_size) + "; it must be 1.." +
               std::to_string(kMaxCacheEntries));
  }
  if (o.version_cleanup_interval.count() <= 0) return bad("version_cleanup_interval must be positive");
  if (o.audit_prune_interval.count() < 0) return bad("audit_prune_interval is negative");
  if (Status s = validate_identity(o.default_identity); !s.ok()) {
    return bad("default_identity: " + s.message());
  }
  if (Status s = validate_strategy_options(o.strategy_options); !s.ok()) return bad("strategy_options." + s.message());
  const ReplicationOptions& r = o.replication;
  if (r.threads < 1 || r.threads > 64) return bad("replication.threads must be 1..64");
  if (r.max_batch_events < 1 || r.max_batch_events > 1000000) {
    return bad("replication.max_batch_events must be 1..1000000");
  }
  if (r.max_batch_bytes < 1) return bad("replication.max_batch_bytes must be at least 1");
  if (r.initial_backoff.count() <= 0 || r.max_backoff < r.initial_backoff) {
    return bad("replication backoff: initial_backoff must be positive and at most max_backoff");
  }
  if (r.max_attempts < 1 || r.max_attempts > 1000) return bad("replication.max_attempts must be 1..1000");
  if (r.health_interval.count() < 0) return bad("replication.health_interval is negative");
  for (const std::string& p : o.preload_keys) {
    if (p.empty() || p.find('\0') != std::string::npos) {
      return bad("preload_keys holds an empty pattern or one with a NUL byte");
    }
  }
  return Status();
}

}  // namespace omni::detail
