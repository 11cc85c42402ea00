// load_data(key, ReadOptions{.as_of}) and get_related(…, ReadOptions{.as_of}): the
// store as it was right after a seq, and what audit retention does to that.
#include <gtest/gtest.h>

#include <thread>

#include "omni/storage.h"
#include "test_util.h"

namespace omni {
namespace {

using omni::testing::TempDir;

std::unique_ptr<Storage> open_store(const std::string& path, Options o = {}) {
  o.path = path;
  auto r = Storage::open(std::move(o));
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? std::move(*r) : nullptr;
}

std::optional<Json> at(Storage& s, std::string_view key, Seq seq) {
  Result<std::optional<Json>> r = s.load_data(key, ReadOptions{.as_of = seq});
  EXPECT_TRUE(r.ok()) << "as of " << seq << ": " << r.status().to_string();
  return r.ok() ? *r : std::nullopt;
}

TEST(AsOfTest, LoadDataReturnsTheDocumentAsOfEachSeq) {
  TempDir dir;
  auto s = open_store(dir.path());
  const Seq s1 = *s->store_data("k", Json{{"v", 1}});
  const Seq other = *s->store_data("other", Json{{"v", 9}});
  const Seq s2 = *s->store_data("k", Json{{"v", 2}});
  const Seq s3 = *s->delete_data("k");
  const Seq s4 = *s->store_data("k", Json{{"v", 4}});

  EXPECT_EQ(at(*s, "k", 0), std::nullopt);  // before anything was written
  EXPECT_EQ(at(*s, "k", s1), (Json{{"v", 1}}));
  EXPECT_EQ(at(*s, "k", other), (Json{{"v", 1}}));  // another key's write changes nothing
  EXPECT_EQ(at(*s, "k", s2), (Json{{"v", 2}}));
  EXPECT_EQ(at(*s, "k", s3), std::nullopt);
  EXPECT_EQ(at(*s, "k", s4), (Json{{"v", 4}}));
  EXPECT_EQ(at(*s, "never", s4), std::nullopt);
  // Without as_of: now.
  EXPECT_EQ(**s->load_data("k", ReadOptions{}), (Json{{"v", 4}}));
}

TEST(AsOfTest, ASeqPastTheHeadIsInvalid) {
  TempDir dir;
  auto s = open_store(dir.path());
  const Seq head = *s->store_data("k", Json{{"v", 1}});
  Result<std::optional<Json>> r = s->load_data("k", ReadOptions{.as_of = head + 1});
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("past the head"), std::string::npos) << r.status().message();
  EXPECT_EQ(s->load_data("", ReadOptions{.as_of = head}).status().code(), StatusCode::kInvalidArgument);
}

TEST(AsOfTest, HistoryPrunedByThePerKeyLimitIsNotFoundNotAWrongAnswer) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->audit().configure({.max_entries_per_key = 2}).ok());
  std::vector<Seq> seqs;
  for (int i = 0; i < 5; ++i) seqs.push_back(*s->store_data("k", Json{{"v", i}}));
  // The two newest writes are kept: reads as of them are exact.
  EXPECT_EQ(at(*s, "k", seqs[3]), (Json{{"v", 3}}));
  EXPECT_EQ(at(*s, "k", seqs[4]), (Json{{"v", 4}}));
  // Older ones were pruned from the index: the answer is unknown, never "absent".
  for (int i = 0; i < 3; ++i) {
    Result<std::optional<Json>> r = s->load_data("k", ReadOptions{.as_of = seqs[i]});
    ASSERT_EQ(r.status().code(), StatusCode::kNotFound) << i;
    EXPECT_NE(r.status().message().find("retention"), std::string::npos) << r.status().message();
  }
  // The marker survives a reopen (it is a row of the index).
  ASSERT_TRUE(s->close().ok());
  s = open_store(dir.path());
  EXPECT_EQ(s->load_data("k", ReadOptions{.as_of = seqs[0]}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(at(*s, "k", seqs[4]), (Json{{"v", 4}}));
}

TEST(AsOfTest, ARetentionPassLeavesOnlyExactOrNotFoundAnswers) {
  TempDir dir;
  auto s = open_store(dir.path());
  const Seq old = *s->store_data("k", Json{{"v", "old"}});
  const Seq other = *s->store_data("other", Json{{"v", 1}});
  // Everything so far becomes older than the retention.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  ASSERT_TRUE(s->audit().configure({.retention = std::chrono::seconds(1)}).ok());
  ASSERT_TRUE(s->audit().apply_retention().ok());
  const Seq fresh = *s->store_data("other", Json{{"v", 2}});
  EXPECT_EQ(s->load_data("k", ReadOptions{.as_of = old}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s->load_data("other", ReadOptions{.as_of = other}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(at(*s, "other", fresh), (Json{{"v", 2}}));
  // The current value is not history: load_data without as_of is unaffected.
  EXPECT_EQ(**s->load_data("k"), (Json{{"v", "old"}}));
}

TEST(AsOfTest, GetRelatedReturnsTheEdgesAsOfEachSeq) {
  TempDir dir;
  auto s = open_store(dir.path());
  const Seq a = *s->store_relationship("u", "member_of", "g1");
  const Seq b = *s->store_relationship("u", "member_of", "g2");
  ASSERT_TRUE(s->store_relationship("u", "owns", "x").ok());
  ASSERT_TRUE(s->store_relationship("v", "member_of", "g3").ok());
  const Seq c = *s->remove_relationship("u", "member_of", "g1");
  ASSERT_TRUE(s->store_relationship("u", "member_of", "g1").ok());
  // A store of the subject is not an edge event; a delete cascades.
  ASSERT_TRUE(s->store_data("u", Json{{"n", 1}}).ok());
  const Seq d = *s->delete_data("u");
  const Seq head = *s->store_relationship("w", "member_of", "u");  // u as an object only

  using V = std::vector<std::string>;
  auto rel = [&](Seq seq, ListOptions lo = {}) {
    Result<V> r = s->get_related("u", "member_of", ReadOptions{.as_of = seq}, lo);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : V{"<error>"};
  };
  EXPECT_EQ(rel(a - 1), V{});
  EXPECT_EQ(rel(a), V{"g1"});
  EXPECT_EQ(rel(b), (V{"g1", "g2"}));
  EXPECT_EQ(rel(c), V{"g2"});
  EXPECT_EQ(rel(d - 1), (V{"g1", "g2"}));
  EXPECT_EQ(rel(d + 2), V{});  // the cascade's removals follow the delete
  EXPECT_EQ(rel(head), V{});
  EXPECT_EQ(rel(b, {.limit = 1, .start_after = std::string("g1")}), V{"g2"});
  EXPECT_EQ(s->get_related("u", "member_of", ReadOptions{.as_of = head + 1}).status().code(),
            StatusCode::kInvalidArgument);
  // The current edges agree with the newest as-of answer.
  EXPECT_EQ(*s->get_related("w", "member_of", ReadOptions{.as_of = head}), V{"u"});
  EXPECT_EQ(*s->get_related("w", "member_of"), V{"u"});
}

}  // namespace
}  // namespace omni
