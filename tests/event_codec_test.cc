#include <gtest/gtest.h>

#include "omni/log/event.h"

namespace omni::log {
namespace {

std::string encode_sample(Seq seq, const Hash& prev) {
  std::string out;
  encode_event({seq, 123456789, EventType::kDataStored, "svc-auth", "user:1", R"({"a":1})", &prev},
               &out);
  return out;
}

TEST(EventCodecTest, RoundTripsEveryField) {
  Hash prev = sha256("previous");
  Result<Event> e = decode_event(encode_sample(42, prev), 42);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  EXPECT_EQ(e->seq, 42u);
  EXPECT_EQ(e->timestamp_ns, 123456789);
  EXPECT_EQ(e->type, EventType::kDataStored);
  EXPECT_EQ(e->identity, "svc-auth");
  EXPECT_EQ(e->key, "user:1");
  EXPECT_EQ(e->payload, R"({"a":1})");
  EXPECT_EQ(e->prev_hash, prev);
}

TEST(EventCodecTest, DecodesFromUnalignedBytes) {
  std::string bytes = "x" + encode_sample(5, Hash{});
  Result<Event> e = decode_event(std::string_view(bytes).substr(1), 5);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  EXPECT_EQ(e->key, "user:1");
}

TEST(EventCodecTest, GarbageIsCorruptionNamingSeq) {
  Result<Event> e = decode_event("this is not a flatbuffer at all", 17);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kCorruption);
  EXPECT_NE(e.status().message().find("seq 17"), std::string::npos) << e.status().message();
}

TEST(EventCodecTest, EmptyAndTruncatedBuffersAreCorruption) {
  std::string good = encode_sample(3, Hash{});
  EXPECT_EQ(decode_event("", 3).status().code(), StatusCode::kCorruption);
  // (Cutting only trailing alignment padding leaves a valid buffer, so the cuts here
  // remove real data.)
  for (std::size_t n : {4ul, 12ul, good.size() / 2}) {
    EXPECT_EQ(decode_event(std::string_view(good).substr(0, n), 3).status().code(),
              StatusCode::kCorruption)
        << "truncated to " << n;
  }
}

TEST(EventCodecTest, FlippedBytesNeverCrash) {
  std::string good = encode_sample(3, Hash{});
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0xFF);
    Result<Event> e = decode_event(bad, 3);  // either decodes or is kCorruption
    if (!e.ok()) {
      EXPECT_EQ(e.status().code(), StatusCode::kCorruption);
    }
  }
}

TEST(EventCodecTest, SeqMismatchIsCorruption) {
  Result<Event> e = decode_event(encode_sample(8, Hash{}), 9);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kCorruption);
  EXPECT_NE(e.status().message().find("holds seq 8"), std::string::npos);
}

TEST(EventCodecTest, Sha256MatchesKnownVector) {
  EXPECT_EQ(to_hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace omni::log
