#include "validation.h"

#include <gtest/gtest.h>

#include <cmath>

namespace omni::detail {
namespace {

TEST(ValidateKeyTest, AcceptsPrintableUtf8) {
  EXPECT_TRUE(validate_key("user:123").ok());
  EXPECT_TRUE(validate_key("caf\xC3\xA9/\xE2\x82\xAC/\xF0\x9F\x98\x80").ok());
  EXPECT_TRUE(validate_key(std::string(1024, 'k')).ok());
}

TEST(ValidateKeyTest, RefusesEachBadForm) {
  struct Case {
    std::string key;
    std::string why;
  };
  const Case cases[] = {
      {"", "empty"},
      {std::string(1025, 'k'), "longer than 1024"},
      {std::string("a\0b", 3), "NUL"},
      {"a\r\nb", "control character"},
      {"a\x7f", "control character"},
      {"\xC2\x85", "control character"},  // U+0085 NEL
      {"\xC0\x80", "invalid UTF-8 lead byte"},
      {"\xE0\x80\x80", "overlong"},
      {"\xED\xA0\x80", "surrogate"},
      {"\xF4\x90\x80\x80", "past U+10FFFF"},
      {"\xE2\x82", "truncated"},
      {"\xE2(\xA1", "continuation"},
      {"\xFF", "lead byte"},
  };
  for (const Case& c : cases) {
    Status s = validate_key(c.key);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.why;
    EXPECT_NE(s.message().find(c.why), std::string::npos) << s.message();
  }
}

TEST(EncodeDocumentTest, OnlyObjectsWithinTheLimit) {
  std::string out;
  EXPECT_TRUE(encode_document("k", Json{{"a", 1}}, 100, &out).ok());
  EXPECT_EQ(out, R"({"a":1})");
  Status arr = encode_document("k", Json::array({1, 2}), 100, &out);
  EXPECT_EQ(arr.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(arr.message().find("array, not an object"), std::string::npos);
  EXPECT_EQ(encode_document("k", Json("s"), 100, &out).code(), StatusCode::kInvalidArgument);
  Status big = encode_document("k", Json{{"a", std::string(200, 'x')}}, 100, &out);
  EXPECT_NE(big.message().find("over max_value_bytes"), std::string::npos);
  Status utf = encode_document("k", Json{{"a", std::string("\xC0\x80")}}, 100, &out);
  EXPECT_EQ(utf.code(), StatusCode::kInvalidArgument);
}

TEST(EncodeDocumentTest, RefusesWhatJsonCannotHold) {
  std::string out;
  Status nan = encode_document("k", Json{{"a", {{"b", std::nan("")}}}}, 1000, &out);
  EXPECT_EQ(nan.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(nan.message().find("NaN or infinity"), std::string::npos);
  EXPECT_EQ(encode_document("k", Json{{"a", HUGE_VAL}}, 1000, &out).code(),
            StatusCode::kInvalidArgument);

  Json deep = Json::object();
  Json* cur = &deep;
  for (std::size_t i = 0; i < kMaxDepth; ++i) cur = &((*cur)["d"] = Json::object());
  Status too_deep = encode_document("k", deep, 1 << 20, &out);
  EXPECT_NE(too_deep.message().find("nested deeper than 256"), std::string::npos) << too_deep.message();
  Json ok = Json::object();
  cur = &ok;
  for (std::size_t i = 1; i < kMaxDepth; ++i) cur = &((*cur)["d"] = Json::object());
  EXPECT_TRUE(encode_document("k", ok, 1 << 20, &out).ok());
}

TEST(PrintableKeyTest, EscapesAndTruncates) {
  EXPECT_EQ(printable_key(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(printable_key(std::string(100, 'x')), std::string(64, 'x') + "...");
}

}  // namespace
}  // namespace omni::detail
