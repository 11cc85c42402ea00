// dump_compact() must write exactly what nlohmann's dump() writes, and refuse
// exactly what dump() throws on; a differential test over random documents.
#include "json_encode.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "validation.h"

namespace omni::detail {
namespace {

class RandomDocs {
 public:
  explicit RandomDocs(std::uint32_t seed) : rng_(seed) {}

  // A string mixing runs of plain ASCII with every kind of byte dump() treats
  // specially: escapes, control characters, DEL, valid 2/3/4-byte sequences,
  // and (when `invalid`) bytes and sequences that are not UTF-8.
  std::string text(bool invalid) {
    static const char* const kPieces[] = {
        "a", "hello world", "\"", "\\", "/", "\b", "\f", "\n", "\r", "\t", "\x01", "\x1f", "\x7f",
        "\xc3\xa9", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xe2\x82\xac", "\xed\x9f\xbf", "\xee\x80\x80",
        "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "{\"k\":[1,2]}", " "};
    static const char* const kBad[] = {"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xc3", "\xe0\x80\x80",
                                       "\xed\xa0\x80", "\xed\xbf\xbf", "\xe2\x82", "\xf0\x80\x80\x80",
                                       "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xfe", "\xf0\x9f\x98"};
    std::string s;
    const int n = pick(0, 8);
    for (int i = 0; i < n; ++i) {
      if (invalid && pick(0, 9) == 0) {
        s += kBad[pick(0, std::size(kBad) - 1)];
      } else if (pick(0, 20) == 0) {
        s.push_back('\0');  // kPieces cannot hold a NUL in a C string
      } else {
        s += kPieces[pick(0, std::size(kPieces) - 1)];
      }
    }
    return s;
  }

  Json value(int depth, bool invalid) {
    switch (pick(0, depth > 4 ? 6 : 8)) {
      case 0: return nullptr;
      case 1: return pick(0, 1) == 1;
      case 2: {
        static const std::int64_t kInts[] = {0, -1, 1, 42, -9876543210LL, std::numeric_limits<std::int64_t>::min(),
                                             std::numeric_limits<std::int64_t>::max()};
        return kInts[pick(0, std::size(kInts) - 1)];
      }
      case 3: return std::numeric_limits<std::uint64_t>::max() - static_cast<std::uint64_t>(pick(0, 5));
      case 4: {
        static const double kFloats[] = {0.0, -0.0, 0.1, 100.0, 1.5e-7, 1e300, -2.5, 3.141592653589793, 1e15, 1e16};
        if (pick(0, 1) == 0) return kFloats[pick(0, std::size(kFloats) - 1)];
        double x;  // any finite double, from random bits
        do {
          const std::uint64_t bits = (std::uint64_t{rng_()} << 32) | rng_();
          std::memcpy(&x, &bits, sizeof x);
        } while (!std::isfinite(x));
        return x;
      }
      case 5:
      case 6: return text(invalid);
      case 7: {
        Json a = Json::array();
        for (int i = pick(0, 4); i > 0; --i) a.push_back(value(depth + 1, invalid));
        return a;
      }
      default: {
        Json o = Json::object();
        for (int i = pick(0, 5); i > 0; --i) o[text(invalid)] = value(depth + 1, invalid);
        return o;
      }
    }
  }

 private:
  int pick(std::size_t lo, std::size_t hi) {
    return static_cast<int>(std::uniform_int_distribution<std::size_t>(lo, hi)(rng_));
  }
  std::mt19937 rng_;
};

TEST(DumpCompact, WritesWhatDumpWritesAndRefusesWhatDumpThrowsOn) {
  RandomDocs gen(20261203);
  int accepted = 0, refused = 0;
  for (int i = 0; i < 20000; ++i) {
    Json doc = Json::object();
    for (int f = 0; f < 4; ++f) doc[gen.text(i % 3 == 0)] = gen.value(1, i % 3 == 0);
    std::string expected;
    bool throws = false;
    try {
      expected = doc.dump();
    } catch (const Json::exception&) {
      throws = true;
    }
    std::string got;
    const bool ok = dump_compact(doc, kMaxDepth, &got);
    ASSERT_EQ(ok, !throws) << "document " << i << ": " << doc.dump(-1, ' ', true, Json::error_handler_t::replace);
    if (ok) {
      ASSERT_EQ(got, expected) << "document " << i;
      ++accepted;
    } else {
      ++refused;
    }
  }
  // Both outcomes were exercised, many times each.
  EXPECT_GT(accepted, 5000);
  EXPECT_GT(refused, 1000);
}

TEST(DumpCompact, RefusesWhatTheWritePathRejects) {
  std::string out;
  EXPECT_FALSE(dump_compact(Json{{"x", std::numeric_limits<double>::quiet_NaN()}}, kMaxDepth, &out));
  EXPECT_FALSE(dump_compact(Json{{"x", std::numeric_limits<double>::infinity()}}, kMaxDepth, &out));
  EXPECT_FALSE(dump_compact(Json{{"x", Json::binary({1, 2, 3})}}, kMaxDepth, &out));
  EXPECT_FALSE(dump_compact(Json{{"x", Json(Json::value_t::discarded)}}, kMaxDepth, &out));
}

TEST(DumpCompact, NestingLimitMatchesTheValidator) {
  // max_depth structured levels pass, one more does not (check_values' rule).
  auto nested = [](std::size_t levels) {
    Json j = Json::object();
    for (std::size_t i = 1; i < levels; ++i) j = Json{{"k", std::move(j)}};
    return j;
  };
  std::string out;
  EXPECT_TRUE(dump_compact(nested(5), 5, &out));
  EXPECT_EQ(out, nested(5).dump());
  out.clear();
  EXPECT_FALSE(dump_compact(nested(6), 5, &out));
}

TEST(EncodeDocument, ErrorsStillNameTheProblem) {
  std::string out;
  Status s = encode_document("k", Json{{"bad", "\xff"}}, 1 << 20, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("cannot be encoded"), std::string::npos) << s.to_string();
  s = encode_document("k", Json{{"x", std::numeric_limits<double>::quiet_NaN()}}, 1 << 20, &out);
  EXPECT_NE(s.message().find("NaN"), std::string::npos) << s.to_string();
  s = encode_document("k", Json{{"x", std::string(100, 'a')}}, 50, &out);
  EXPECT_NE(s.message().find("max_value_bytes"), std::string::npos) << s.to_string();
  ASSERT_TRUE(encode_document("k", Json{{"a", 1}, {"b", "\xc3\xa9\n"}}, 1 << 20, &out).ok());
  EXPECT_EQ(out, "{\"a\":1,\"b\":\"\xc3\xa9\\n\"}");
}

}  // namespace
}  // namespace omni::detail
