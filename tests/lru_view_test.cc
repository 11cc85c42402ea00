#include "omni/projections/lru_view.h"

#include <gtest/gtest.h>

#include <thread>

namespace omni::projections {
namespace {

LruView::Entry doc(Seq seq, int v) {
  return {seq, std::make_shared<const nlohmann::json>(nlohmann::json{{"v", v}})};
}

int value(const std::optional<LruView::Entry>& e) { return (*e->doc)["v"].get<int>(); }

TEST(LruViewTest, EvictsLeastRecentlyUsed) {
  LruView v(2);
  v.put("a", doc(1, 1));
  v.put("b", doc(2, 2));
  ASSERT_TRUE(v.get("a"));  // a is now the most recent
  v.put("c", doc(3, 3));
  EXPECT_FALSE(v.peek("b"));
  EXPECT_TRUE(v.peek("a"));
  EXPECT_TRUE(v.peek("c"));
  EXPECT_EQ(v.size(), 2u);
  EXPECT_EQ(v.evictions(), 1u);
}

TEST(LruViewTest, RecentlyHitEntriesOutliveColdOnesInALargeView) {
  LruView v(100);
  for (int i = 0; i < 100; ++i) v.put("k" + std::to_string(i), doc(i + 1, i));
  // k0..k9 are the oldest; touch them, then insert 50 new keys.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(v.get("k" + std::to_string(i)));
  for (int i = 100; i < 150; ++i) v.put("k" + std::to_string(i), doc(i + 1, i));
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(v.peek("k" + std::to_string(i))) << i;
  for (int i = 10; i < 60; ++i) EXPECT_FALSE(v.peek("k" + std::to_string(i))) << i;
  EXPECT_EQ(v.size(), 100u);
}

TEST(LruViewTest, CountsHitsAndMisses) {
  LruView v(4);
  v.put("a", doc(1, 1));
  EXPECT_TRUE(v.get("a"));
  EXPECT_FALSE(v.get("zz"));
  EXPECT_TRUE(v.get("a"));
  EXPECT_EQ(v.hits(), 2u);
  EXPECT_EQ(v.misses(), 1u);
}

TEST(LruViewTest, FillKeepsTheNewestSeq) {
  LruView v(4);
  EXPECT_TRUE(v.fill("k", doc(5, 5), 5));
  EXPECT_FALSE(v.fill("k", doc(4, 4), 5));  // a late, older value
  EXPECT_EQ(value(v.peek("k")), 5);
  EXPECT_TRUE(v.fill("k", {6, nullptr}, 6));  // delete tombstone
  EXPECT_FALSE(v.peek("k")->doc);
  EXPECT_FALSE(v.fill("k", doc(5, 5), 6));
}

TEST(LruViewTest, InvalidatedKeyRefusesOlderValues) {
  LruView v(4);
  ASSERT_TRUE(v.fill("k", doc(5, 5), 5));
  // The leader of write seq 9 invalidates k before the write is visible.
  v.invalidate("k", 9);
  EXPECT_FALSE(v.peek("k"));
  // A reader that observed head 8 read version 5 from the state: refused.
  EXPECT_FALSE(v.fill("k", doc(5, 5), 8));
  // The slow writer of seq 7 (an older group) arrives late: refused.
  EXPECT_FALSE(v.fill("k", doc(7, 7), 7));
  // The writer of seq 9 fills after its commit.
  EXPECT_TRUE(v.fill("k", doc(9, 9), 9));
  EXPECT_EQ(value(v.peek("k")), 9);
}

TEST(LruViewTest, FillRefusesStaleValueAfterNewerEviction) {
  LruView v(1);
  // A reader observed head 10 and read version 10 of "k"; meanwhile a writer stored
  // seq 11 of "k", and it was evicted by another key.
  ASSERT_TRUE(v.fill("k", doc(11, 11), 11));
  ASSERT_TRUE(v.fill("other", doc(12, 12), 12));
  EXPECT_FALSE(v.peek("k"));
  EXPECT_FALSE(v.fill("k", doc(10, 10), /*read_snapshot=*/10));
  EXPECT_FALSE(v.peek("k"));
  // A reader that started after that eviction may fill.
  EXPECT_TRUE(v.fill("k", doc(11, 11), /*read_snapshot=*/12));
}

TEST(LruViewTest, EvictionCallbackSeesEachEvictedEntry) {
  LruView v(2);
  std::vector<std::string> evicted;
  v.set_on_evict([&](const std::string& k, const LruView::Doc&) { evicted.push_back(k); });
  v.put("a", doc(1, 1));
  v.put("b", doc(2, 2));
  v.put("c", doc(3, 3));
  v.set_capacity(1);
  EXPECT_EQ(evicted, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(v.capacity(), 1u);
}

TEST(LruViewTest, CallbackMayReenterTheView) {
  LruView v(1);
  v.set_on_evict([&](const std::string&, const LruView::Doc&) { (void)v.peek("x"); });
  v.put("a", doc(1, 1));
  v.put("b", doc(2, 2));  // would deadlock if the callback ran under the lock
  EXPECT_EQ(v.size(), 1u);
}

TEST(LruViewTest, EraseAndClear) {
  LruView v(3);
  v.put("a", doc(1, 1));
  v.put("b", doc(2, 2));
  EXPECT_TRUE(v.erase("a"));
  EXPECT_FALSE(v.erase("a"));
  v.put("c", doc(3, 3));
  v.put("d", doc(4, 4));
  EXPECT_EQ(v.size(), 3u);
  v.clear();
  EXPECT_EQ(v.size(), 0u);
  v.put("e", doc(5, 5));
  EXPECT_EQ(value(v.get("e")), 5);
}

TEST(LruViewTest, ZeroCapacityStoresNothing) {
  LruView v(0);
  v.put("a", doc(1, 1));
  EXPECT_EQ(v.size(), 0u);
  EXPECT_FALSE(v.get("a"));
}

TEST(LruViewTest, ConcurrentUseKeepsInvariants) {
  LruView v(64);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        const std::string k = "k" + std::to_string((i * 7 + t) % 200);
        if (i % 3 == 0) {
          v.fill(k, doc(static_cast<Seq>(i), i), static_cast<Seq>(i));
        } else if (i % 3 == 1) {
          (void)v.get(k);
        } else {
          v.invalidate(k, static_cast<Seq>(i));
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_LE(v.size(), 64u);
}

}  // namespace
}  // namespace omni::projections
