// Text formats the tools read and write: RFC 3339 timestamps, RFC 4180 CSV fields,
// JSON strings, base64 and hex hashes, and the HASH@SEQ anchor.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "omni/log/event.h"
#include "omni/status.h"

namespace omni::tools {

// "2024-05-01T12:00:00.123456789Z": UTC, always nine fractional digits, so an
// event's timestamp_ns round-trips exactly. Years 0000..9999.
std::string format_rfc3339(std::int64_t ns);
// The same, appended to out. The date and time of day are remembered per thread
// for the last second formatted: a log's timestamps rarely change second.
void append_rfc3339(std::string& out, std::int64_t ns);
// Nanoseconds since the UNIX epoch of an RFC 3339 date-time: "2024-05-01T12:00:00Z",
// "2024-05-01 12:00:00.5+02:00" (T, t or a space; Z, z or ±hh:mm; 0..9 fractional
// digits). kInvalidArgument naming what is wrong.
Result<std::int64_t> parse_rfc3339(std::string_view text);

// Appends `field` to `out` as one RFC 4180 field: quoted when it holds a comma, a
// double quote, CR or LF (a quote is doubled), as is otherwise.
void append_csv_field(std::string& out, std::string_view field);

// Appends `s` as a JSON string (quotes included). `s` must be valid UTF-8
// (utf8_valid); it is passed through, with ", \ and control characters escaped.
void append_json_string(std::string& out, std::string_view s);
bool utf8_valid(std::string_view s);

// RFC 4648 base64 with padding. decode is strict: kInvalidArgument for any other
// character, bad padding or length.
std::string base64_encode(std::string_view bytes);
// kBest uses AVX2 where the CPU has it; kScalar never does (tests compare them).
enum class Base64Impl { kBest, kScalar };
void append_base64(std::string& out, std::string_view bytes, Base64Impl impl = Base64Impl::kBest);
Result<std::string> base64_decode(std::string_view text);

// 64 lowercase or uppercase hex digits.
Result<log::Hash> parse_hash(std::string_view hex);

// The same writers into raw memory, for a formatter that reserved a line's worst
// case once (LineBuffer): each writes at o and returns the end of what it wrote.
// Room needed: put_rfc3339 30 bytes; put_json_string 6 * s.size() + 2; put_hex
// 64; put_decimal 20; put_base64 (bytes.size() + 2) / 3 * 4.
char* put_rfc3339(char* o, std::int64_t ns);
char* put_json_string(char* o, std::string_view s);
char* put_hex(char* o, const log::Hash& h);
char* put_decimal(char* o, std::uint64_t v);
char* put_decimal(char* o, std::int64_t v);
char* put_base64(char* o, std::string_view bytes, Base64Impl impl = Base64Impl::kBest);

// Incremental SHA-256 (OpenSSL), for the export's digest.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;  // owns an OpenSSL context
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void update(std::string_view bytes);
  void update(const log::Hash& h) { update(std::string_view(reinterpret_cast<const char*>(h.data()), h.size())); }
  // The digest of everything so far (the stream can go on).
  log::Hash digest() const;

 private:
  void* ctx_;  // EVP_MD_CTX
};

// A head the user trusts: the hash of the event at seq, written "HASH@SEQ" (what
// `omni inspect` prints as the anchor).
struct Anchor {
  Seq seq = 0;
  log::Hash hash{};
};
Result<Anchor> parse_anchor(std::string_view text);
std::string format_anchor(const Anchor& a);

}  // namespace omni::tools
