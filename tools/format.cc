#include "omni/tools/format.h"

#include <openssl/evp.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace omni::tools {
namespace {

constexpr std::int64_t kNsPerSec = 1'000'000'000;

bool digits(std::string_view s, std::size_t pos, std::size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::string format_rfc3339(std::int64_t ns) {
  std::string out;
  append_rfc3339(out, ns);
  return out;
}

void append_rfc3339(std::string& out, std::int64_t ns) {
  char text[30];
  out.append(text, put_rfc3339(text, ns));
}

char* put_rfc3339(char* o, std::int64_t ns) {
  using namespace std::chrono;
  // Floor division, so times before 1970 come out right too.
  std::int64_t secs = ns / kNsPerSec;
  std::int64_t frac = ns % kNsPerSec;
  if (frac < 0) {
    frac += kNsPerSec;
    --secs;
  }
  thread_local std::int64_t cached_secs = 0;
  thread_local char cached[20] = "1970-01-01T00:00:00";  // cached_secs as text
  if (secs != cached_secs) {
    const sys_seconds tp{seconds(secs)};
    const sys_days day = floor<days>(tp);
    const year_month_day ymd{day};
    const hh_mm_ss<seconds> hms{tp - day};
    char text[64];  // room for any int: the compiler checks the worst case
    std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()));
    std::memcpy(cached, text, 19);
    cached_secs = secs;
  }
  // 19 + '.' + 9 digits + 'Z'
  std::memcpy(o, cached, 19);
  o[19] = '.';
  for (int i = 28; i >= 20; --i) {
    o[i] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  o[29] = 'Z';
  return o + 30;
}

Result<std::int64_t> parse_rfc3339(std::string_view s) {
  auto bad = [&](std::string_view why) {
    return Status::invalid_argument("'" + std::string(s) + "' is not an RFC 3339 date-time (" +
                                    std::string(why) + "; e.g. 2024-05-01T12:00:00Z)");
  };
  int y, mo, d, h, mi, se;
  if (!digits(s, 0, 4, &y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, &mo) || s[7] != '-' ||
      !digits(s, 8, 2, &d)) {
    return bad("expected YYYY-MM-DD");
  }
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return bad("expected T between date and time");
  if (!digits(s, 11, 2, &h) || s[13] != ':' || !digits(s, 14, 2, &mi) || s[16] != ':' ||
      !digits(s, 17, 2, &se)) {
    return bad("expected hh:mm:ss");
  }
  using namespace std::chrono;
  const year_month_day ymd{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return bad("no such date");
  // 60: a leap second, which the UNIX time scale folds into the next second.
  if (h > 23 || mi > 59 || se > 60) return bad("time out of range");
  std::size_t pos = 19;
  std::int64_t frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    std::int64_t scale = kNsPerSec;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (pos - start >= 9) return bad("more than 9 fractional digits");
      scale /= 10;
      frac += (s[pos] - '0') * scale;
      ++pos;
    }
    if (pos == start) return bad("no digits after '.'");
  }
  std::int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return bad("bad UTC offset, expected ±hh:mm");
    }
    offset_s = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return bad("missing time zone (Z or ±hh:mm)");
  }
  if (pos != s.size()) return bad("trailing characters");
  const std::int64_t days_since_epoch = sys_days(ymd).time_since_epoch().count();
  const std::int64_t secs = days_since_epoch * 86400 + h * 3600 + mi * 60 + se - offset_s;
  return secs * kNsPerSec + frac;
}

void append_csv_field(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(field);
    return;
  }
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

bool utf8_valid(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  for (std::size_t i = 0; i < n;) {
    // Eight ASCII bytes at a time: keys and identities rarely hold anything else,
    // and the export checks seven strings per event.
    if (i + 8 <= n) {
      std::uint64_t w;
      std::memcpy(&w, p + i, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    const unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    unsigned min;
    unsigned cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, min = 0x10000, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

void append_json_string(std::string& out, std::string_view s) {
  const std::size_t at = out.size();
  out.resize(at + 6 * s.size() + 2);
  out.resize(static_cast<std::size_t>(put_json_string(out.data() + at, s) - out.data()));
}

char* put_json_string(char* o, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  // The bytes JSON requires escaped: ", \ and U+0000..U+001F.
  static constexpr std::array<bool, 256> kEscape = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 0x20; ++c) t[c] = true;
    t['"'] = t['\\'] = true;
    return t;
  }();
  *o++ = '"';
  const char* run = s.data();  // start of the stretch that needs no escaping
  const char* const end = s.data() + s.size();
  for (const char* p = run; p != end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (!kEscape[c]) continue;
    std::memcpy(o, run, static_cast<std::size_t>(p - run));
    o += p - run;
    run = p + 1;
    *o++ = '\\';
    switch (c) {
      case '"': *o++ = '"'; break;
      case '\\': *o++ = '\\'; break;
      case '\n': *o++ = 'n'; break;
      case '\r': *o++ = 'r'; break;
      case '\t': *o++ = 't'; break;
      case '\b': *o++ = 'b'; break;
      case '\f': *o++ = 'f'; break;
      default:
        std::memcpy(o, "u00", 3);
        o[3] = kHex[c >> 4];
        o[4] = kHex[c & 15];
        o += 5;
    }
  }
  if (end != run) std::memcpy(o, run, static_cast<std::size_t>(end - run));
  o += end - run;
  *o++ = '"';
  return o;
}

namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Encodes the first n - n % 3 bytes of p to o; returns the bytes it consumed.
// Two output characters per 12 input bits: half the lookups of one per 6 bits.
std::size_t base64_scalar(const unsigned char* p, std::size_t n, char* o) {
  static const std::array<std::array<char, 2>, 4096> kPairs = [] {
    std::array<std::array<char, 2>, 4096> t{};
    for (std::size_t i = 0; i < t.size(); ++i) t[i] = {kBase64[i >> 6], kBase64[i & 63]};
    return t;
  }();
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const std::uint32_t v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    std::memcpy(o, kPairs[v >> 12].data(), 2);
    std::memcpy(o + 2, kPairs[v & 0xfff].data(), 2);
    o += 4;
  }
  return i;
}

#if defined(__x86_64__) && defined(__GNUC__)
// 24 bytes to 32 characters per step (W. Muła and D. Lemire, "Faster Base64
// Encoding and Decoding using AVX2 Instructions", 2018): base64 of every event's
// bytes was the largest part of formatting an export line. Reads 4 bytes past
// each 24 it encodes, so it stops 28 bytes before the end; returns the bytes it
// consumed (a multiple of 24).
__attribute__((target("avx2"))) std::size_t base64_avx2(const unsigned char* p, std::size_t n, char* o) {
  // Each 32-bit lane gathers input bytes [1, 0, 2, 1] of its 3, so that the
  // multiplies below can move the four 6-bit groups into separate bytes.
  const __m256i gather = _mm256_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10,  //
                                          1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
  // The offset from a 6-bit value to its character, by range (see translate).
  const __m256i offsets = _mm256_setr_epi8('a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                                           '0' - 52, '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0,
                                           'a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                                           '0' - 52, '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);
  std::size_t i = 0;
  for (; i + 28 <= n; i += 24) {
    const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 12));
    __m256i in = _mm256_shuffle_epi8(_mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1), gather);
    const __m256i t0 = _mm256_and_si256(in, _mm256_set1_epi32(0x0fc0fc00));
    const __m256i t1 = _mm256_mulhi_epu16(t0, _mm256_set1_epi32(0x04000040));
    const __m256i t2 = _mm256_and_si256(in, _mm256_set1_epi32(0x003f03f0));
    const __m256i t3 = _mm256_mullo_epi16(t2, _mm256_set1_epi32(0x01000010));
    const __m256i values = _mm256_or_si256(t1, t3);  // one 6-bit value per byte
    // translate: 0..25 -> 13, 26..51 -> 0, 52..61 -> 1..10, 62 -> 11, 63 -> 12.
    __m256i range = _mm256_subs_epu8(values, _mm256_set1_epi8(51));
    const __m256i upper = _mm256_cmpgt_epi8(_mm256_set1_epi8(26), values);
    range = _mm256_or_si256(range, _mm256_and_si256(upper, _mm256_set1_epi8(13)));
    const __m256i chars = _mm256_add_epi8(_mm256_shuffle_epi8(offsets, range), values);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), chars);
    o += 32;
  }
  return i;
}

bool have_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}

// The 64 hex digits of 32 bytes in two stores: two hashes per export line were
// ~3 % of an export's time as 32 table lookups each.
__attribute__((target("avx2"))) void hex_avx2(const std::uint8_t* h, char* o) {
  const __m256i digits = _mm256_setr_epi8('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e',
                                          'f', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd',
                                          'e', 'f');
  const __m256i nibble = _mm256_set1_epi8(0x0f);
  const __m256i in = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h));
  const __m256i hi = _mm256_shuffle_epi8(digits, _mm256_and_si256(_mm256_srli_epi16(in, 4), nibble));
  const __m256i lo = _mm256_shuffle_epi8(digits, _mm256_and_si256(in, nibble));
  // Per 128-bit lane: a = digits of bytes 0..7 (16..23), b = of bytes 8..15 (24..31).
  const __m256i a = _mm256_unpacklo_epi8(hi, lo);
  const __m256i b = _mm256_unpackhi_epi8(hi, lo);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), _mm256_permute2x128_si256(a, b, 0x20));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 32), _mm256_permute2x128_si256(a, b, 0x31));
}
#endif

}  // namespace

char* put_base64(char* o, std::string_view bytes, Base64Impl impl) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t i = 0;
#if defined(__x86_64__) && defined(__GNUC__)
  if (impl != Base64Impl::kScalar && have_avx2()) {
    i = base64_avx2(p, bytes.size(), o);
    o += i / 3 * 4;
  }
#endif
  const std::size_t done = base64_scalar(p + i, bytes.size() - i, o);
  i += done;
  o += done / 3 * 4;
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    const std::uint32_t v = (p[i] << 16) | (rest == 2 ? p[i + 1] << 8 : 0);
    *o++ = kBase64[v >> 18];
    *o++ = kBase64[(v >> 12) & 63];
    *o++ = rest == 2 ? kBase64[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
  return o;
}

void append_base64(std::string& out, std::string_view bytes, Base64Impl impl) {
  const std::size_t at = out.size();
  out.resize(at + (bytes.size() + 2) / 3 * 4);
  put_base64(out.data() + at, bytes, impl);
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  append_base64(out, bytes);
  return out;
}

char* put_hex(char* o, const log::Hash& h) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (have_avx2()) {
    hex_avx2(h.data(), o);
    return o + 64;
  }
#endif
  static const std::array<std::uint16_t, 256> kPairs = [] {
    constexpr char kDigits[] = "0123456789abcdef";
    std::array<std::uint16_t, 256> t{};
    for (std::size_t i = 0; i < t.size(); ++i) {
      const char pair[2] = {kDigits[i >> 4], kDigits[i & 15]};
      std::memcpy(&t[i], pair, 2);
    }
    return t;
  }();
  for (std::size_t i = 0; i < h.size(); ++i) std::memcpy(o + 2 * i, &kPairs[h[i]], 2);
  return o + 64;
}

char* put_decimal(char* o, std::uint64_t v) { return std::to_chars(o, o + 20, v).ptr; }
char* put_decimal(char* o, std::int64_t v) { return std::to_chars(o, o + 20, v).ptr; }

Result<std::string> base64_decode(std::string_view text) {
  static const std::array<int, 256> kValue = [] {
    std::array<int, 256> v{};
    v.fill(-1);
    const std::string_view a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (std::size_t i = 0; i < a.size(); ++i) v[static_cast<unsigned char>(a[i])] = static_cast<int>(i);
    return v;
  }();
  if (text.size() % 4 != 0) return Status::invalid_argument("base64 of " + std::to_string(text.size()) + " characters (not a multiple of 4)");
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    std::uint32_t v = 0;
    const bool last = i + 4 == text.size();
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      int d;
      if (c == '=' && last && k >= 4 - pad) {
        d = 0;
      } else {
        d = kValue[static_cast<unsigned char>(c)];
        if (d < 0) return Status::invalid_argument("not base64: character at offset " + std::to_string(i + k));
      }
      v = (v << 6) | static_cast<std::uint32_t>(d);
    }
    out.push_back(static_cast<char>(v >> 16));
    if (!last || pad < 2) out.push_back(static_cast<char>((v >> 8) & 0xff));
    if (!last || pad < 1) out.push_back(static_cast<char>(v & 0xff));
    // Canonical form only: the bits the padding drops must be zero.
    if (last && pad > 0 && (v & (pad == 2 ? 0xffffu : 0xffu)) != 0) {
      return Status::invalid_argument("non-canonical base64 padding");
    }
  }
  return out;
}

Result<log::Hash> parse_hash(std::string_view hex) {
  if (hex.size() != 64) {
    return Status::invalid_argument("a SHA-256 hash is 64 hex digits, got " + std::to_string(hex.size()) +
                                    " characters");
  }
  log::Hash h;
  for (std::size_t i = 0; i < 32; ++i) {
    unsigned v = 0;
    const auto r = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, v, 16);
    if (r.ec != std::errc() || r.ptr != hex.data() + 2 * i + 2) {
      return Status::invalid_argument("not a hex digit at offset " + std::to_string(2 * i));
    }
    h[i] = static_cast<std::uint8_t>(v);
  }
  return h;
}

Result<Anchor> parse_anchor(std::string_view text) {
  const std::size_t at = text.find('@');
  if (at == std::string_view::npos) {
    return Status::invalid_argument("an anchor is HASH@SEQ (as `omni inspect` prints it), got '" +
                                    std::string(text) + "'");
  }
  Result<log::Hash> h = parse_hash(text.substr(0, at));
  if (!h.ok()) return Status::invalid_argument("anchor '" + std::string(text) + "': " + h.status().message());
  Anchor a;
  a.hash = *h;
  const std::string_view seq = text.substr(at + 1);
  const auto r = std::from_chars(seq.data(), seq.data() + seq.size(), a.seq);
  if (seq.empty() || r.ec != std::errc() || r.ptr != seq.data() + seq.size() || a.seq == 0) {
    return Status::invalid_argument("anchor '" + std::string(text) + "': the seq after '@' must be a number >= 1");
  }
  return a;
}

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256Stream::update(std::string_view bytes) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), bytes.data(), bytes.size());
}

log::Hash Sha256Stream::digest() const {
  log::Hash h{};
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  unsigned int n = 0;
  if (copy && EVP_MD_CTX_copy_ex(copy, static_cast<EVP_MD_CTX*>(ctx_)) == 1) {
    EVP_DigestFinal_ex(copy, h.data(), &n);
  }
  EVP_MD_CTX_free(copy);
  return h;
}

std::string format_anchor(const Anchor& a) { return log::to_hex(a.hash) + "@" + std::to_string(a.seq); }

}  // namespace omni::tools
