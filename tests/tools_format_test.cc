// The text formats the tools read and write: RFC 3339, RFC 4180, base64, anchors,
// and the progress lines.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include <limits>
#include <random>
#include <sstream>
#include <vector>

#include "omni/tools/format.h"
#include "omni/tools/progress.h"

namespace omni::tools {
namespace {

TEST(FormatTest, Rfc3339RoundTripsEveryNanosecond) {
  for (std::int64_t ns : {std::int64_t{0}, std::int64_t{1}, std::int64_t{1714564800123456789},
                          std::int64_t{-1}, std::int64_t{-86400000000001}, std::numeric_limits<std::int64_t>::max()}) {
    const std::string s = format_rfc3339(ns);
    auto back = parse_rfc3339(s);
    ASSERT_TRUE(back.ok()) << s << ": " << back.status().to_string();
    EXPECT_EQ(*back, ns) << s;
  }
  EXPECT_EQ(format_rfc3339(1714564800123456789), "2024-05-01T12:00:00.123456789Z");
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999999999Z");
}

TEST(FormatTest, Rfc3339AcceptsOffsetsFractionsAndSpaces) {
  const std::int64_t noon = 1714564800LL * 1000000000;
  EXPECT_EQ(*parse_rfc3339("2024-05-01T12:00:00Z"), noon);
  EXPECT_EQ(*parse_rfc3339("2024-05-01t12:00:00z"), noon);
  EXPECT_EQ(*parse_rfc3339("2024-05-01 14:00:00+02:00"), noon);
  EXPECT_EQ(*parse_rfc3339("2024-05-01T07:30:00-04:30"), noon);
  EXPECT_EQ(*parse_rfc3339("2024-05-01T12:00:00.5Z"), noon + 500000000);
  EXPECT_EQ(*parse_rfc3339("2024-05-01T12:00:00.000000001Z"), noon + 1);
  for (const char* bad : {"", "2024-05-01", "2024-05-01T12:00:00", "2024-02-30T00:00:00Z", "2024-05-01T24:00:00Z",
                          "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00.1234567891Z", "2024-05-01T12:00:00+2:00",
                          "2024-05-01T12:00:00Zjunk", "yesterday"}) {
    auto r = parse_rfc3339(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(FormatTest, CsvFieldsAreQuotedAsRfc4180Says) {
  auto csv = [](std::string_view v) {
    std::string out;
    append_csv_field(out, v);
    return out;
  };
  EXPECT_EQ(csv("plain"), "plain");
  EXPECT_EQ(csv(""), "");
  EXPECT_EQ(csv("a,b"), "\"a,b\"");
  EXPECT_EQ(csv("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv("crlf\r\n"), "\"crlf\r\n\"");
  EXPECT_EQ(csv("ключ · 键"), "ключ · 键");
}

TEST(FormatTest, JsonStringsEscapeWhatJsonRequires) {
  std::string out;
  const std::string raw = std::string("q\" b\\ nl\n tab\t nul") + '\0' + " \x1f ünï";
  append_json_string(out, raw);
  EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), raw);
  EXPECT_TRUE(utf8_valid("ünï 键 🙂"));
  EXPECT_FALSE(utf8_valid("\xC0\x80"));
  EXPECT_FALSE(utf8_valid("\xED\xA0\x80"));
  EXPECT_FALSE(utf8_valid("\xE2\x82"));
}

TEST(FormatTest, Base64RoundTripsAndIsStrict) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n < 8; ++n) {
    const std::string s = all.substr(250 - n, n);
    EXPECT_EQ(*base64_decode(base64_encode(s)), s);
  }
  EXPECT_EQ(*base64_decode(base64_encode(all)), all);
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  for (const char* bad : {"Zm9", "Zm9vYg=", "Zm9v!g==", "Zm9vYh==", "Z===", "=m9v"}) {
    EXPECT_FALSE(base64_decode(bad).ok()) << bad;
  }
}

// The AVX2 encoder (where the CPU has it), the scalar one and OpenSSL's agree on
// every length around the vector steps and on every byte value.
TEST(FormatTest, Base64EncodersAgreeWithOpenSsl) {
  std::mt19937 rng(7);
  for (std::size_t n = 0; n <= 300; ++n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    std::string reference(4 * ((n + 2) / 3) + 1, '\0');
    const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(reference.data()),
                                    reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(n));
    reference.resize(static_cast<std::size_t>(len));
    std::string best = "prefix:", scalar = "prefix:";
    append_base64(best, s, Base64Impl::kBest);
    append_base64(scalar, s, Base64Impl::kScalar);
    ASSERT_EQ(best, "prefix:" + reference) << n;
    ASSERT_EQ(scalar, "prefix:" + reference) << n;
  }
}

TEST(FormatTest, AnchorsParseAsHashAtSeq) {
  const std::string hex(64, 'a');
  auto a = parse_anchor(hex + "@42");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->seq, 42u);
  EXPECT_EQ(format_anchor(*a), hex + "@42");
  for (const std::string& bad : std::vector<std::string>{hex, hex + "@", hex + "@0", hex + "@x", hex.substr(1) + "@1", "zz" + hex.substr(2) + "@1"}) {
    EXPECT_FALSE(parse_anchor(bad).ok()) << bad;
  }
}

TEST(ProgressTest, JsonLinesEndWithAFinalLine) {
  std::ostringstream err;
  {
    Progress p(ProgressMode::kJson, err, -1, std::chrono::milliseconds(0));
    p.start("task", 1000);
    for (std::uint64_t i = 1; i <= 1000; ++i) p.update(i);
    p.finish(1000);
  }
  std::istringstream in(err.str());
  std::string line, last;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["task"], "task");
    EXPECT_EQ(j["total"], 1000);
    last = line;
    ++n;
  }
  EXPECT_GT(n, 1u);
  const auto j = nlohmann::json::parse(last);
  EXPECT_TRUE(j["final"].get<bool>());
  EXPECT_EQ(j["done"], 1000);
}

TEST(ProgressTest, TtyRewritesOneLineAndNoneIsSilent) {
  std::ostringstream tty, none;
  {
    Progress p(ProgressMode::kTty, tty, -1, std::chrono::milliseconds(0));
    p.start("replay verify", 2000);
    for (std::uint64_t i = 1; i <= 2000; ++i) p.update(i);
    p.finish(2000);
    Progress q(ProgressMode::kNone, none);
    q.start("x", 1);
    q.finish(1);
  }
  const std::string t = tty.str();
  EXPECT_NE(t.find("\r\033[Kreplay verify: 2,000 / 2,000 events (100.0%)"), std::string::npos) << t;
  EXPECT_NE(t.find("events/s"), std::string::npos);
  EXPECT_EQ(t.back(), '\n');
  EXPECT_EQ(t.find('\n'), t.size() - 1);  // one line, rewritten in place
  EXPECT_TRUE(none.str().empty());
  // auto without a terminal is JSON.
  EXPECT_EQ(Progress(ProgressMode::kAuto, none, -1).mode(), ProgressMode::kJson);
}

}  // namespace
}  // namespace omni::tools
