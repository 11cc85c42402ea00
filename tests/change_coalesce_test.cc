// coalesce (sinks/include/omni/sinks/change_codec.h): the newest change per item,
// in the order of those newest changes; versions never merge.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "omni/sinks/change_codec.h"

namespace omni::sinks {
namespace {

Change change(Seq seq, ChangeType type, std::string key, std::string a = "", std::string b = "") {
  Change c;
  c.seq = seq;
  c.type = type;
  c.key = std::move(key);
  if (type == ChangeType::kRelationshipAdded || type == ChangeType::kRelationshipRemoved) {
    c.predicate = std::move(a);
    c.object = std::move(b);
  } else if (type == ChangeType::kPolicyDecided) {
    c.principal = std::move(a);
    c.action = std::move(b);
  } else if (type == ChangeType::kVersionStored) {
    c.label = std::move(a);
  }
  return c;
}

std::vector<Seq> seqs(const std::vector<Change>& cs) {
  std::vector<Seq> out;
  for (const Change& c : cs) out.push_back(c.seq);
  return out;
}

TEST(ChangeCoalesceTest, KeepsTheNewestChangePerItemInItsOrder) {
  using T = ChangeType;
  std::vector<Change> cs = {
      change(1, T::kStore, "a"),
      change(2, T::kStore, "b"),
      change(3, T::kDelete, "a"),  // a store and a delete of a key are one item
      change(4, T::kRelationshipAdded, "a", "likes", "b"),
      change(5, T::kRelationshipAdded, "a", "likes", "c"),   // another edge
      change(6, T::kRelationshipRemoved, "a", "likes", "b"),  // the edge of 4
      change(7, T::kPolicyDecided, "doc", "alice", "read"),
      change(8, T::kPolicyDecided, "doc", "alice", "write"),
      change(9, T::kPolicyDecided, "doc", "alice", "read"),
      change(10, T::kVersionStored, "a", "v1"),
      change(11, T::kVersionStored, "a", "v1"),  // versions are never merged
      change(12, T::kStore, "b"),
      // Parts that concatenate alike are still different items.
      change(13, T::kRelationshipAdded, "ab", "c", "d"),
      change(14, T::kRelationshipAdded, "a", "bc", "d"),
  };
  coalesce(&cs);
  EXPECT_EQ(seqs(cs), (std::vector<Seq>{3, 5, 6, 8, 9, 10, 11, 12, 13, 14}));
}

TEST(ChangeCoalesceTest, EmptyAndSingle) {
  std::vector<Change> none;
  coalesce(&none);
  EXPECT_TRUE(none.empty());
  std::vector<Change> one = {change(1, ChangeType::kStore, "")};
  coalesce(&one);
  EXPECT_EQ(seqs(one), std::vector<Seq>{1});
}

// Against a reference built on std::map, over batches large enough that the
// table's probes collide and wrap.
TEST(ChangeCoalesceTest, MatchesAReferenceOnRandomBatches) {
  using T = ChangeType;
  std::mt19937_64 rng(7);
  for (int round = 0; round < 50; ++round) {
    std::vector<Change> cs;
    const std::size_t n = 1 + rng() % 3000;
    for (Seq q = 1; q <= n; ++q) {
      const std::string key = "k" + std::to_string(rng() % 400);
      switch (rng() % 5) {
        case 0: cs.push_back(change(q, T::kStore, key)); break;
        case 1: cs.push_back(change(q, T::kDelete, key)); break;
        case 2: cs.push_back(change(q, T::kRelationshipAdded, key, "p" + std::to_string(rng() % 3), "o")); break;
        case 3: cs.push_back(change(q, T::kPolicyDecided, key, "u", "a" + std::to_string(rng() % 3))); break;
        default: cs.push_back(change(q, T::kVersionStored, key, "v")); break;
      }
    }
    std::map<std::tuple<int, std::string, std::string, std::string>, Seq> newest;
    for (const Change& c : cs) {
      switch (c.type) {
        case T::kStore:
        case T::kDelete: newest[{0, c.key, "", ""}] = c.seq; break;
        case T::kRelationshipAdded: newest[{1, c.key, c.predicate, c.object}] = c.seq; break;
        case T::kPolicyDecided: newest[{2, c.key, c.principal, c.action}] = c.seq; break;
        default: newest[{3, c.key, std::to_string(c.seq), ""}] = c.seq; break;
      }
    }
    std::vector<Seq> want;
    for (const auto& [item, seq] : newest) want.push_back(seq);
    std::sort(want.begin(), want.end());
    coalesce(&cs);
    ASSERT_EQ(seqs(cs), want) << "round " << round;
  }
}

}  // namespace
}  // namespace omni::sinks
