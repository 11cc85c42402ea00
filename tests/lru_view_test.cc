#include "omni/projections/lru_view.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

namespace omni::projections {
namespace {

LruView::Entry doc(Seq seq, int v) {
  return {seq, std::make_shared<const nlohmann::json>(nlohmann::json{{"v", v}})};
}

int value(const std::optional<LruView::Entry>& e) { return (*e->doc)["v"].get<int>(); }

TEST(LruViewTest, EvictsLeastRecentlyUsed) {
  LruView v(2);
  v.put("a", doc(1, 1), 1);
  v.put("b", doc(2, 2), 2);
  ASSERT_TRUE(v.get("a"));  // a is now the most recent
  v.put("c", doc(3, 3), 3);
  EXPECT_FALSE(v.peek("b"));
  EXPECT_TRUE(v.peek("a"));
  EXPECT_TRUE(v.peek("c"));
  EXPECT_EQ(v.size(), 2u);
  EXPECT_EQ(v.evictions(), 1u);
}

TEST(LruViewTest, RecentlyHitEntriesOutliveColdOnesInALargeView) {
  LruView v(100);
  for (int i = 0; i < 100; ++i) v.put("k" + std::to_string(i), doc(i + 1, i), i + 1);
  // k0..k9 are the oldest; touch them, then insert 50 new keys.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(v.get("k" + std::to_string(i)));
  for (int i = 100; i < 150; ++i) v.put("k" + std::to_string(i), doc(i + 1, i), i + 1);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(v.peek("k" + std::to_string(i))) << i;
  for (int i = 10; i < 60; ++i) EXPECT_FALSE(v.peek("k" + std::to_string(i))) << i;
  EXPECT_EQ(v.size(), 100u);
}

TEST(LruViewTest, CountsHitsAndMisses) {
  LruView v(4);
  v.put("a", doc(1, 1), 1);
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

TEST(LruViewTest, PutObeysTheWatermarkOfAConcurrentWrite) {
  LruView v(4);
  // The leader of write seq 10 invalidated k; a manual put whose caller observed head
  // 5 lands only now. Stored, it would outlive the write: it is ordered before it.
  v.invalidate("k", 10);
  EXPECT_FALSE(v.put("k", doc(5, 5), 5));
  EXPECT_FALSE(v.get("k"));
  // A caller that observed that write's commit (head 10) overrides it.
  EXPECT_TRUE(v.put("k", doc(10, 100), 10));
  EXPECT_EQ(value(v.get("k")), 100);

  // In a fresh view (no watermark involved): the entry of a write committed as seq 12
  // beats a put as of head 11; a put as of head 12 overrides it (same version, the
  // caller's document), and refilling version 12 does not undo that put.
  LruView w(4);
  ASSERT_TRUE(w.fill("k", doc(12, 12), 12));
  EXPECT_FALSE(w.put("k", doc(11, 111), 11));
  EXPECT_EQ(value(w.peek("k")), 12);
  EXPECT_TRUE(w.put("k", doc(12, 112), 12));
  EXPECT_FALSE(w.fill("k", doc(12, 12), 12));
  EXPECT_EQ(value(w.peek("k")), 112);
}

// A 10,000-key batch as the engine commits it: the leader invalidates every key (seqs
// 1..10000) before the batch is visible; then the writer fills each key i with
// Entry{seq_i}. With read_snapshot = the request's last seq every fill sticks. With
// read_snapshot = seq_i only the newest key of each watermark bucket does (the others'
// buckets were invalidated with a later seq), so about 1,024 of 10,000.
TEST(LruViewTest, BatchFillsWithTheRequestsLastSeqAllStick) {
  constexpr Seq kBatch = 10000;
  constexpr std::size_t kBuckets = 1024;  // LruView::kWatermarks
  auto fill_batch = [&](bool with_last_seq) {
    LruView v(kBatch);
    for (Seq i = 1; i <= kBatch; ++i) v.invalidate("k" + std::to_string(i), i);
    std::size_t stuck = 0;
    for (Seq i = 1; i <= kBatch; ++i) {
      const Seq snapshot = with_last_seq ? kBatch : i;
      stuck += v.fill("k" + std::to_string(i), doc(i, static_cast<int>(i)), snapshot);
    }
    EXPECT_EQ(v.size(), stuck);
    return stuck;
  };
  EXPECT_EQ(fill_batch(true), kBatch);
  const std::size_t per_seq = fill_batch(false);
  EXPECT_LE(per_seq, kBuckets);
  EXPECT_GT(per_seq, kBuckets * 9 / 10);  // 10,000 keys leave hardly a bucket empty
}

TEST(LruViewTest, EvictionCallbackSeesEachEvictedEntry) {
  LruView v(2);
  std::vector<std::string> evicted;
  v.set_on_evict([&](const std::string& k, const LruView::Doc&) { evicted.push_back(k); });
  v.put("a", doc(1, 1), 1);
  v.put("b", doc(2, 2), 2);
  v.put("c", doc(3, 3), 3);
  v.set_capacity(1);
  EXPECT_EQ(evicted, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(v.capacity(), 1u);
}

TEST(LruViewTest, CallbackMayReenterTheView) {
  LruView v(1);
  v.set_on_evict([&](const std::string&, const LruView::Doc&) { (void)v.peek("x"); });
  v.put("a", doc(1, 1), 1);
  v.put("b", doc(2, 2), 2);  // would deadlock if the callback ran under the lock
  EXPECT_EQ(v.size(), 1u);
}

TEST(LruViewTest, EraseAndClear) {
  LruView v(3);
  v.put("a", doc(1, 1), 1);
  v.put("b", doc(2, 2), 2);
  EXPECT_TRUE(v.erase("a"));
  EXPECT_FALSE(v.erase("a"));
  v.put("c", doc(3, 3), 3);
  v.put("d", doc(4, 4), 4);
  EXPECT_EQ(v.size(), 3u);
  v.clear();
  EXPECT_EQ(v.size(), 0u);
  v.put("e", doc(5, 5), 5);
  EXPECT_EQ(value(v.get("e")), 5);
}

TEST(LruViewTest, ZeroCapacityStoresNothing) {
  LruView v(0);
  EXPECT_FALSE(v.put("a", doc(1, 1), 1));
  EXPECT_FALSE(v.fill("b", doc(2, 2), 2));
  EXPECT_EQ(v.size(), 0u);
  EXPECT_FALSE(v.get("a"));
}

// The engine's protocols around the view, for the concurrent tests. Each write is a
// group of one, committed by one thread at a time like the group-commit leader.
class SimulatedEngine {
 public:
  static constexpr int kKeys = 64;

  explicit SimulatedEngine(std::size_t capacity) : view(capacity) {
    for (int k = 0; k < kKeys; ++k) keys_[k] = "k" + std::to_string(k);
  }

  const std::string& key(int k) const { return keys_[k]; }
  // The log head: every write with seq <= head is visible.
  Seq head() const { return head_.load(); }
  // The key's committed version as the state projection has it (0: never written).
  Seq version(int k) const { return committed_[k].load(); }

  // store_data: the leader invalidates the key with the new seq, the write becomes
  // visible in the state, and only then does the head move past it (as in
  // EventLog::write_group). The writer fills its own value afterwards, once woken:
  // the yield stands for that delay and widens the race windows.
  void write(int k) {
    Seq seq;
    {
      std::lock_guard l(commit_mu_);
      seq = ++last_seq_;
      view.invalidate(key(k), seq);
      committed_[k].store(seq);
      head_.store(seq);
    }
    std::this_thread::yield();
    view.fill(key(k), doc(seq, k), seq);
  }

  // Writer w of `writers` owns the keys k with k % writers == w and writes them in
  // turn, 20,000 times or for 500 ms: on a loaded machine the readers can starve the
  // writers, and the invariants hold for whatever interleavings do happen.
  void run_writer(int w, int writers) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    for (int i = 0; i < 20000 && std::chrono::steady_clock::now() < deadline; ++i) {
      write((i * writers + w) % kKeys);
    }
  }

  // load_data's view part: the head, then the state read (the version), then the
  // view; on a miss, fill the version read with the head as the snapshot. Returns
  // the version the caller observes; fails the test if the view returns an entry
  // older than the version committed before the get started (a stale read).
  Seq read(int k) {
    const Seq snapshot = head();
    const Seq committed = version(k);
    if (auto e = view.get(key(k))) {
      if (e->seq < committed) {
        fail(key(k) + ": got seq " + std::to_string(e->seq) + " after version " +
             std::to_string(committed) + " was committed");
      }
      return e->seq;
    }
    view.fill(key(k), doc(committed, k), snapshot);
    return committed;
  }

  // Reports the first few failures only: one race can repeat many times.
  void fail(const std::string& what) {
    if (failures_.fetch_add(1) < 5) ADD_FAILURE() << what;
  }
  int failures() const { return failures_.load(); }

  LruView view;

 private:
  std::array<std::string, kKeys> keys_;
  std::array<std::atomic<Seq>, kKeys> committed_{};
  std::atomic<Seq> head_{0};
  std::mutex commit_mu_;
  Seq last_seq_ = 0;  // guarded by commit_mu_
  std::atomic<int> failures_{0};
};

// Writers (each owning its keys) and readers run the engine's protocols on a view
// much smaller than the key set (constant eviction and refill). During the run each
// reader checks that (a) it never gets an entry older than the key's version
// committed before its get (SimulatedEngine::read), and (b) each key's version it
// observes never decreases.
TEST(LruViewTest, ConcurrentUseKeepsInvariants) {
  constexpr int kWriters = 2, kReaders = 2;
  SimulatedEngine engine(16);
  // Every key exists before the run: a miss of an absent key would be remembered
  // with the head as its seq, which is not a version of the key.
  for (int k = 0; k < SimulatedEngine::kKeys; ++k) engine.write(k);
  std::atomic<int> writing{kWriters};
  std::vector<std::thread> ts;
  for (int w = 0; w < kWriters; ++w) {
    ts.emplace_back([&, w] {
      engine.run_writer(w, kWriters);
      --writing;
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    ts.emplace_back([&, r] {
      std::array<Seq, SimulatedEngine::kKeys> seen{};
      for (unsigned i = r; writing > 0; i += 7) {
        const int k = static_cast<int>(i % SimulatedEngine::kKeys);
        const Seq observed = engine.read(k);
        if (observed < seen[k]) {
          engine.fail(engine.key(k) + ": observed seq " + std::to_string(observed) + " after " +
                      std::to_string(seen[k]));
        }
        seen[k] = observed;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(engine.failures(), 0);
  EXPECT_LE(engine.view.size(), 16u);
}

// Manual puts race with writes of the same keys: a put whose caller observed an older
// head must not land between the leader's invalidate and the writer's fill and then
// serve a version older than the committed one. Readers check (a) as above; (b) does
// not hold here: a put is tagged with the head, not a version of the key, so once it
// is evicted a reader may observe an older seq (the stored document) legitimately.
TEST(LruViewTest, ConcurrentPutsNeverOutliveAWrite) {
  constexpr int kWriters = 2;
  SimulatedEngine engine(16);
  for (int k = 0; k < SimulatedEngine::kKeys; ++k) engine.write(k);
  std::atomic<int> writing{kWriters};
  std::vector<std::thread> ts;
  for (int w = 0; w < kWriters; ++w) {
    ts.emplace_back([&, w] {
      engine.run_writer(w, kWriters);
      --writing;
    });
  }
  ts.emplace_back([&] {  // cache().put(): tagged with the head observed before it
    for (unsigned i = 0; writing > 0; i += 5) {
      const int k = static_cast<int>(i % SimulatedEngine::kKeys);
      const Seq snapshot = engine.head();
      std::this_thread::yield();  // the caller's own delay: the head may move meanwhile
      engine.view.put(engine.key(k), doc(snapshot, -1), snapshot);
    }
  });
  ts.emplace_back([&] {
    for (unsigned i = 0; writing > 0; i += 7) {
      engine.read(static_cast<int>(i % SimulatedEngine::kKeys));
    }
  });
  for (auto& t : ts) t.join();
  EXPECT_EQ(engine.failures(), 0);
}

}  // namespace
}  // namespace omni::projections
