#include <gtest/gtest.h>

#include <cstdint>
#include <iostream>
#include <string>

#include "omni/log/event.h"
#include "omni/log/event_log.h"
#include "test_util.h"

namespace omni::log {
namespace {

using omni::testing::overwrite_event;

std::string encode_sample(Seq seq, const Hash& prev) {
  std::string out;
  encode_event({seq, 123456789, EventType::DataStored, "svc-auth", "user:1", R"({"a":1})", &prev},
               &out);
  return out;
}

TEST(EventCodecTest, RoundTripsEveryField) {
  Hash prev = sha256("previous");
  Result<Event> e = decode_event(encode_sample(42, prev), 42);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  EXPECT_EQ(e->seq, 42u);
  EXPECT_EQ(e->timestamp_ns, 123456789);
  EXPECT_EQ(e->type, EventType::DataStored);
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

bool same_event(const Event& a, const Event& b) {
  return a.seq == b.seq && a.timestamp_ns == b.timestamp_ns && a.type == b.type &&
         a.identity == b.identity && a.key == b.key && a.payload == b.payload &&
         a.prev_hash == b.prev_hash;
}

// Every single-byte flip of a stored event must be caught by one of the two layers
// of defence, or be harmless:
//   detected  - decode_event refuses it (kCorruption naming the seq);
//   harmless  - it decodes to the very same event (the flip hit padding or unused
//               bytes);
//   chained   - it decodes to a different event, and the SHA-256 of its bytes
//               differs from the original's, so the next event's prev_hash exposes
//               it (EventLog::verify_chain hashes the stored bytes).
// (A harmless flip changes the hash too: verify_chain reports it as well, unless the
// event is the head, whose hash only an external anchor protects.)
// On top of that, flips in the bytes the decoder itself must check are detected:
// the file identifier ("OMEV", bytes 4-7) and the seq field.
TEST(EventCodecTest, FlippedBytesAreDetectedOrHarmless) {
  // Distinct bytes, so the seq field can be found in the encoding.
  constexpr Seq kSeq = 0x1122334455667788;
  const Hash prev = sha256("previous");
  const std::string good = encode_sample(kSeq, prev);
  Result<Event> original = decode_event(good, kSeq);
  ASSERT_TRUE(original.ok()) << original.status().to_string();
  const Hash good_hash = sha256(good);
  std::string seq_le;
  for (int b = 0; b < 8; ++b) seq_le.push_back(static_cast<char>(kSeq >> (8 * b)));
  const std::size_t seq_at = good.find(seq_le);
  ASSERT_NE(seq_at, std::string::npos);
  ASSERT_EQ(good.substr(4, 4), "OMEV");
  auto must_detect = [&](std::size_t i) {
    return (i >= 4 && i < 8) || (i >= seq_at && i < seq_at + 8);
  };

  std::size_t detected = 0, harmless = 0, chained = 0;
  for (std::uint8_t mask : {std::uint8_t{0xFF}, std::uint8_t{0x01}, std::uint8_t{0x80}}) {
    for (std::size_t i = 0; i < good.size(); ++i) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      SCOPED_TRACE("byte " + std::to_string(i) + " ^ " + std::to_string(mask));
      Result<Event> e = decode_event(bad, kSeq);
      if (!e.ok()) {
        EXPECT_EQ(e.status().code(), StatusCode::kCorruption) << e.status().to_string();
        EXPECT_NE(e.status().message().find("seq " + std::to_string(kSeq)), std::string::npos)
            << e.status().message();
        ++detected;
        continue;
      }
      EXPECT_FALSE(must_detect(i)) << "a flip of the identifier or the seq decoded";
      // Whatever decoded, the bytes differ, so the hash the next event chains to does.
      EXPECT_NE(sha256(bad), good_hash);
      if (same_event(*e, *original)) {
        ++harmless;
      } else {
        ++chained;
      }
    }
  }
  std::cout << "[ flips    ] " << good.size() << " bytes x 3 masks: " << detected
            << " detected by the decoder, " << harmless << " harmless (same event), " << chained
            << " left to the hash chain\n";
  ::testing::Test::RecordProperty("flips_detected", static_cast<int>(detected));
  ::testing::Test::RecordProperty("flips_harmless", static_cast<int>(harmless));
  ::testing::Test::RecordProperty("flips_chained", static_cast<int>(chained));
  EXPECT_EQ(detected + harmless + chained, 3 * good.size());
  // A decoder that skipped verification would detect nothing.
  EXPECT_GT(detected, 0u);
}

// A flip inside an event's payload still decodes (the payload is opaque bytes), so
// only the hash chain can catch it: verify_chain must, at every payload byte.
TEST(EventCodecTest, VerifyChainDetectsEveryPayloadFlip) {
  omni::testing::TempDir dir;
  auto open = [&] {
    EventLogOptions o;
    o.path = dir.path();
    auto r = EventLog::open(o);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? std::move(*r) : nullptr;
  };
  const std::string payload = R"({"doc":"the second event"})";
  std::string stored;  // the bytes of seq 2 as the log holds them
  {
    auto log = open();
    ASSERT_NE(log, nullptr);
    for (const std::string& p : {std::string(R"({"n":1})"), payload, std::string(R"({"n":3})")}) {
      AppendRequest req;
      req.identity = "tester";
      req.events.push_back({EventType::DataStored, "k", p});
      ASSERT_TRUE(log->append(&req).ok());
    }
    Result<Event> e2 = log->read(2);
    Result<Event> e3 = log->read(3);
    ASSERT_TRUE(e2.ok() && e3.ok());
    // Encoding is deterministic: re-encoding seq 2 reproduces its stored bytes, which
    // the prev_hash of seq 3 confirms.
    encode_event(
        {e2->seq, e2->timestamp_ns, e2->type, e2->identity, e2->key, e2->payload, &e2->prev_hash},
        &stored);
    ASSERT_EQ(sha256(stored), e3->prev_hash);
  }
  const std::size_t at = stored.find(payload);
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(stored.find(payload, at + 1), std::string::npos);

  for (std::size_t i = 0; i < payload.size(); ++i) {
    SCOPED_TRACE("payload byte " + std::to_string(i));
    std::string bad = stored;
    bad[at + i] = static_cast<char>(bad[at + i] ^ 0x01);
    ASSERT_TRUE(decode_event(bad, 2).ok());  // invisible to the decoder
    overwrite_event(dir.path(), 2, bad);
    auto log = open();
    ASSERT_NE(log, nullptr);
    Result<ChainCheck> c = log->verify_chain();
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_TRUE(c->first_bad_seq == 2 || c->first_bad_seq == 3)
        << "first_bad_seq " << c->first_bad_seq << ": " << c->problem;
  }
  overwrite_event(dir.path(), 2, stored);
  auto log = open();
  ASSERT_NE(log, nullptr);
  Result<ChainCheck> c = log->verify_chain();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->first_bad_seq, 0u) << c->problem;
  EXPECT_EQ(c->events_checked, 3u);
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
