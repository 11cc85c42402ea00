// split_compact_object (sinks/redis/redis_json_fields.h) against nlohmann: on
// random documents (nested arrays and objects, escapes, UTF-8, numbers that
// overflow a double) and on random corruptions of them, it must accept exactly
// what nlohmann::json::accept() accepts of compact object text, and its fields
// must be the parsed document's.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>
#include <string>
#include <vector>

#include "redis_json_fields.h"

namespace omni::sinks::redis {
namespace {

using nlohmann::json;

// Whether split_compact_object must succeed on `text`: the header's contract.
bool expected_accept(const std::string& text) {
  if (text.empty() || text.front() != '{' || text.find('\0') != std::string::npos) return false;
  if (!json::accept(text)) return false;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {  // valid JSON from here on
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      return false;
    }
  }
  return true;
}

// Checks one text; returns whether it was accepted.
bool check(const std::string& text) {
  std::vector<JsonField> fields;
  const bool got = split_compact_object(text, &fields);
  const bool want = expected_accept(text);
  EXPECT_EQ(got, want) << "text: " << json(text).dump(-1, ' ', true, json::error_handler_t::replace);
  if (!got || !want) return got;
  // The fields: each value is its field's JSON text; names decoded. A repeated
  // name is kept by nlohmann once, its last value.
  const json doc = json::parse(text);
  json rebuilt = json::object();
  for (const JsonField& f : fields) {
    const json value = json::parse(f.value, nullptr, false);
    EXPECT_FALSE(value.is_discarded()) << f.value;
    rebuilt[f.name] = value;
  }
  EXPECT_EQ(rebuilt, doc) << text;
  // The values are slices of the input, in order, each after its ':' and before
  // a ',' or the closing '}'.
  const char* at = text.data();
  for (const JsonField& f : fields) {
    EXPECT_GT(f.value.data(), at);
    EXPECT_LE(f.value.data() + f.value.size(), text.data() + text.size() - 1);
    EXPECT_EQ(f.value.data()[-1], ':');
    const char after = f.value.data()[f.value.size()];
    EXPECT_TRUE(after == ',' || after == '}');
    at = f.value.data() + f.value.size();
  }
  return got;
}

class Generator {
 public:
  explicit Generator(std::uint32_t seed) : rng_(seed) {}

  std::string document() {
    std::string out = "{";
    const int n = pick(0, 6);
    for (int i = 0; i < n; ++i) {
      if (i) out += ',';
      out += string();
      out += ':';
      out += value(0);
    }
    return out + "}";
  }

  // Random edits: what a torn or foreign document could look like.
  std::string corrupt(std::string s) {
    static const std::string kBytes = "{}[]\",:\\/ 0123456789eE.+-tfnlu\t\n\x80\xbf\xc3\xe2\xed\xf0\xff\x01";
    const int edits = pick(1, 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = s.empty() ? 0 : static_cast<std::size_t>(pick(0, static_cast<int>(s.size()) - 1));
      const char c = kBytes[static_cast<std::size_t>(pick(0, static_cast<int>(kBytes.size()) - 1))];
      switch (pick(0, 2)) {
        case 0: s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        case 1: if (!s.empty()) s.erase(at, 1); break;
        default: if (!s.empty()) s[at] = c; break;
      }
    }
    return s;
  }

 private:
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  std::string value(int depth) {
    const int kind = pick(0, depth < 4 ? 9 : 6);
    switch (kind) {
      case 0: return "true";
      case 1: return "false";
      case 2: return "null";
      case 3: case 4: return number();
      case 5: case 6: return string();
      case 7: case 8: {
        std::string out = "[";
        const int n = pick(0, 4);
        for (int i = 0; i < n; ++i) out += (i ? "," : "") + value(depth + 1);
        return out + "]";
      }
      default: {
        std::string out = "{";
        const int n = pick(0, 4);
        for (int i = 0; i < n; ++i) out += (i ? "," : "") + string() + ":" + value(depth + 1);
        return out + "}";
      }
    }
  }

  std::string digits(int n) {
    std::string d;
    for (int i = 0; i < n; ++i) d += static_cast<char>('0' + pick(0, 9));
    return d;
  }

  std::string number() {
    std::string out = pick(0, 3) == 0 ? "-" : "";
    switch (pick(0, 9)) {
      case 0: out += "0"; break;
      case 1: out += "1" + digits(pick(300, 320)); break;  // around DBL_MAX
      case 2: out += "1" + digits(pick(20, 25)); break;    // past 64 bits
      default: out += std::to_string(pick(1, 9)) + digits(pick(0, 6)); break;
    }
    if (pick(0, 3) == 0) out += "." + digits(pick(1, 4));
    if (pick(0, 3) == 0) {
      out += pick(0, 1) ? "e" : "E";
      const int sign = pick(0, 2);
      out += sign == 0 ? "" : sign == 1 ? "+" : "-";
      out += std::to_string(pick(0, 3) == 0 ? pick(300, 400) : pick(0, 30));
    }
    return out;
  }

  std::string string() {
    static const char* kPieces[] = {
        "a", "key", "_seq", "x y", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u0041", "\\u00e9",
        "\\u0000", "\\ud83d\\ude00",  // a surrogate pair
        "\\ud800", "\\udc00",         // unpaired: nlohmann refuses them
        "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\x7f",
        "storage engineer, likes event logs",  // long plain runs (read 8 bytes at a time)
        "0123456", "abcdefghijklmnopq",
    };
    std::string out = "\"";
    const int n = pick(0, 6);
    for (int i = 0; i < n; ++i) {
      // The unpaired surrogates rarely, so most documents stay valid.
      int p = pick(0, static_cast<int>(std::size(kPieces)) - 1);
      if ((p == 16 || p == 17) && pick(0, 9) != 0) p = 0;
      out += kPieces[p];
    }
    return out + "\"";
  }

  std::mt19937 rng_;
};

TEST(RedisJsonFieldsTest, AgreesWithNlohmannOnRandomDocuments) {
  Generator g(12345);
  int accepted = 0;
  constexpr int kDocuments = 20000;
  for (int i = 0; i < kDocuments; ++i) accepted += check(g.document());
  // The generator is meant to make mostly valid documents: the comparison would
  // prove little otherwise.
  EXPECT_GT(accepted, kDocuments / 2);
  EXPECT_LT(accepted, kDocuments);  // and some invalid ones (overflow, unpaired surrogates)
}

TEST(RedisJsonFieldsTest, AgreesWithNlohmannOnCorruptedDocuments) {
  Generator g(777);
  int accepted = 0;
  constexpr int kDocuments = 40000;
  for (int i = 0; i < kDocuments; ++i) accepted += check(g.corrupt(g.document()));
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, kDocuments / 2);
}

TEST(RedisJsonFieldsTest, EdgeCases) {
  const char* accept[] = {
      "{}", R"({"a":[]})", R"({"a":{}})", R"({"a":[[],[{}],{"b":[1,-0,0.5,1E+2,1e-999]}]})",
      R"({"a":[1e308],"b":1e308})", R"({"a":["\ud83d\ude00"]})", R"({"a":[true,false,null]})",
      R"({"a":{"a":1,"a":2}})", R"({"\u0041":1,"A":2})", R"({"a":[123456789012345678901234567890]})",
  };
  for (const char* t : accept) EXPECT_TRUE(check(t)) << t;
  const char* refuse[] = {
      R"({"a":[1e400]})", R"({"a":1e400})", R"({"a":-1e309})", R"({"a":["\ud800"]})", R"({"a":"\udc00x"})",
      R"({"a":["\ud800\u0041"]})", R"({"a":[1,]})", R"({"a":[,1]})", R"({"a":{"b"}})", R"({"a":{"b":1,}})",
      R"({"a":{1:2}})", R"({"a":[01]})", R"({"a":[1.]})", R"({"a":[.5]})", R"({"a":[+1]})", R"({"a":[tru]})",
      R"({"a":[1 ]})", R"({"a":[1]]})", R"({"a":[1})", R"({"a":{"b":1]})", R"({"a":["\x"]})",
      R"({"a":["\u12"]})", "{\"a\":[\"\x01\"]}", "{\"a\":[\"\xc3\"]}", "{\"a\":[\"\xed\xa0\x80\"]}",
      "{\"a\":[\"\xc0\xaf\"]}", R"({"a":1,})", R"({"a" :1})", R"([1])",
  };
  for (const char* t : refuse) EXPECT_FALSE(check(t)) << t;
}

TEST(RedisJsonFieldsTest, DeepNestingIsOnlyMemory) {
  constexpr int kDepth = 10000;  // nlohmann has no depth limit either
  std::string deep = R"({"a":)" + std::string(kDepth, '[') + std::string(kDepth, ']') + "}";
  EXPECT_TRUE(check(deep));
  deep.pop_back();
  deep.pop_back();
  deep += "}";  // one bracket short
  EXPECT_FALSE(check(deep));
}

}  // namespace
}  // namespace omni::sinks::redis
