// The export's event line (append_jsonl_event) is byte for byte what the formatter
// it replaced wrote: that formatter is kept here, frozen, over std::string appends
// and independent primitives (snprintf, log::to_hex, OpenSSL's base64), and both
// format many random events of every type.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <chrono>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "omni/tools/jsonl_event.h"
#include "omni/tools/store.h"

namespace omni::tools {
namespace {

using log::EventType;

// ---- The formatter before LineBuffer (tools/audit_export.cc at 9224a2b). ----
namespace old {

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default:
        out.append("\\u00");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
    }
  }
  out.append(s.substr(run));
  out.push_back('"');
}

// Uncached, as the first version of format_rfc3339 was.
void append_rfc3339(std::string& out, std::int64_t ns) {
  using namespace std::chrono;
  std::int64_t secs = ns / 1'000'000'000;
  std::int64_t frac = ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  const sys_seconds tp{seconds(secs)};
  const sys_days day = floor<days>(tp);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{tp - day};
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%09lldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), static_cast<long long>(frac));
  out += text;
}

void append_base64(std::string& out, std::string_view bytes) {
  std::string b((bytes.size() + 2) / 3 * 4 + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  b.resize(static_cast<std::size_t>(n));
  out += b;
}

void append_json_array(std::string& out, const std::vector<std::string>& v) {
  out.push_back('[');
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out.push_back(',');
    append_json_string(out, v[i]);
  }
  out.push_back(']');
}

bool is_edge(EventType t) { return t == EventType::RelationshipAdded || t == EventType::RelationshipRemoved; }

void append_jsonl(std::string& out, const log::Event& e, const log::Hash& hash, std::string_view bytes) {
  out += "{\"seq\":";
  out += std::to_string(e.seq);
  out += ",\"timestamp\":\"";
  append_rfc3339(out, e.timestamp_ns);
  out += "\",\"operation\":\"";
  out += operation_name(e.type);
  out += "\",\"identity\":";
  append_json_string(out, e.identity);
  out += ",\"key\":";
  append_json_string(out, e.key);
  if (!e.payload.empty()) {
    out += ",\"data\":";
    out += e.payload;
  }
  if (is_edge(e.type)) {
    out += ",\"subject\":";
    append_json_string(out, e.key);
    out += ",\"predicate\":";
    append_json_string(out, e.attrs.predicate);
    out += ",\"object\":";
    append_json_string(out, e.attrs.object);
  } else if (e.type == EventType::VersionStored) {
    out += ",\"label\":";
    append_json_string(out, e.attrs.label);
  } else if (e.type == EventType::VersionsPruned) {
    out += ",\"labels\":";
    append_json_array(out, e.attrs.names);
  } else if (e.type == EventType::PolicyDecided) {
    out += ",\"principal\":";
    append_json_string(out, e.attrs.principal);
    out += ",\"action\":";
    append_json_string(out, e.attrs.action);
    out += e.attrs.allowed ? ",\"allowed\":true" : ",\"allowed\":false";
    out += ",\"ttl_ns\":";
    out += std::to_string(e.attrs.ttl_ns);
    if (!e.attrs.names.empty()) {
      out += ",\"depends_on\":";
      append_json_array(out, e.attrs.names);
    }
  }
  out += ",\"prev_hash\":\"";
  out += log::to_hex(e.prev_hash);
  out += "\",\"hash\":\"";
  out += log::to_hex(hash);
  out += "\",\"encoded\":\"";
  append_base64(out, bytes);
  out += "\"}\n";
}

}  // namespace old

// Random events of every type, with strings that need escaping (quotes,
// backslashes, every control character, DEL) and multi-byte UTF-8.
class Events {
 public:
  explicit Events(std::uint32_t seed) : rng_(seed) {}

  std::string text(std::size_t max_len) {
    static const std::vector<std::string> pieces = {"a", "Z", "0", " ", "\"", "\\", "/", "\x7f", "\xc3\xa9",
                                                    "\xe2\x82\xac", "\xf0\x9f\x98\x80", "user:", "{}", ","};
    std::string s;
    const std::size_t n = pick(max_len + 1);
    for (std::size_t i = 0; i < n; ++i) {
      if (pick(4) == 0) {
        s.push_back(static_cast<char>(pick(0x20)));  // a control character, 0x00 included
      } else {
        s += pieces[pick(pieces.size())];
      }
    }
    return s;
  }

  log::Hash hash() {
    log::Hash h;
    for (auto& b : h) b = static_cast<std::uint8_t>(pick(256));
    return h;
  }

  log::Event event(Seq seq) {
    log::Event e;
    e.seq = pick(3) == 0 ? std::numeric_limits<Seq>::max() - pick(1000) : seq;
    switch (pick(4)) {
      case 0: e.timestamp_ns = static_cast<std::int64_t>(rng_()); break;  // any, negative included
      case 1: e.timestamp_ns = last_ns_ += static_cast<std::int64_t>(pick(2'000'000)); break;  // the same second
      case 2: e.timestamp_ns = std::numeric_limits<std::int64_t>::min() + static_cast<std::int64_t>(pick(1000)); break;
      default: e.timestamp_ns = std::numeric_limits<std::int64_t>::max() - static_cast<std::int64_t>(pick(1000));
    }
    e.type = static_cast<EventType>(static_cast<int>(EventType::MIN) +
                                    static_cast<int>(pick(static_cast<int>(EventType::MAX) -
                                                          static_cast<int>(EventType::MIN) + 1)));
    e.identity = text(12);
    e.key = text(40);
    if (pick(5) != 0) e.payload = "{\"v\":" + std::to_string(rng_()) + ",\"s\":\"" + text(300) + "\"}";
    e.prev_hash = hash();
    e.attrs.predicate = text(10);
    e.attrs.object = text(20);
    e.attrs.label = text(8);
    e.attrs.action = text(8);
    e.attrs.principal = text(12);
    e.attrs.allowed = pick(2) == 1;
    e.attrs.ttl_ns = static_cast<std::int64_t>(rng_()) * (pick(2) ? -1 : 1);
    for (std::size_t n = pick(4); n > 0; --n) e.attrs.names.push_back(text(10));
    return e;
  }

  std::string bytes() {
    std::string b(pick(700), '\0');
    for (char& c : b) c = static_cast<char>(pick(256));
    return b;
  }

 private:
  std::uint64_t pick(std::uint64_t n) { return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng_); }

  std::mt19937_64 rng_;
  std::int64_t last_ns_ = 1714564800LL * 1'000'000'000;
};

TEST(JsonlEventTest, LinesAreByteIdenticalToTheFormerFormatter) {
  Events gen(20261203);
  LineBuffer buf;
  std::string expected;
  for (Seq seq = 1; seq <= 20000; ++seq) {
    const log::Event e = gen.event(seq);
    const log::Hash h = gen.hash();
    const std::string bytes = gen.bytes();
    std::string line;
    old::append_jsonl(line, e, h, bytes);
    expected += line;

    const std::size_t at = buf.size();
    const std::string_view data = append_jsonl_event(buf, e, h, bytes);
    ASSERT_EQ(buf.view().substr(at), line) << "seq " << seq;
    // The returned view is the payload inside the line, with simdjson's padding
    // (64 bytes) of the line behind it.
    EXPECT_EQ(data, e.payload);
    if (!data.empty()) {
      EXPECT_GE(static_cast<std::size_t>(buf.data() + buf.size() - (data.data() + data.size())), 64u);
    }
  }
  // The buffer grew many times on the way: nothing written before was lost.
  EXPECT_EQ(buf.view(), expected);
}

TEST(JsonlEventTest, EveryControlCharacterIsEscapedAsBefore) {
  log::Event e;
  e.seq = 1;
  e.type = EventType::DataStored;
  for (int c = 0; c < 0x80; ++c) e.key.push_back(static_cast<char>(c));
  std::string line;
  old::append_jsonl(line, e, {}, "");
  LineBuffer buf;
  EXPECT_TRUE(append_jsonl_event(buf, e, {}, "").empty());
  EXPECT_EQ(buf.view(), line);
}

}  // namespace
}  // namespace omni::tools
