#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "omni/storage.h"
#include "test_util.h"

namespace omni {
namespace {

// 8 threads x 1000 read-modify-write attempts on one key with expected_version:
// exactly the successful ones are in the final document, every failure is kConflict.
TEST(ConcurrencyTest, ExpectedVersionUpdatesOfOneKeyNeverLoseAWrite) {
  omni::testing::TempDir dir;
  auto s = std::move(*Storage::open({.path = dir.path()}));
  ASSERT_TRUE(s->store_data("counter", {{"n", 0}}).ok());
  constexpr int kThreads = 8, kAttempts = 1000;
  std::atomic<int> successes{0}, conflicts{0}, other{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < kAttempts; ++i) {
        Seq v = *s->get_version("counter");
        Json doc = **s->load_data("counter");
        doc["n"] = doc["n"].get<int>() + 1;
        Result<Seq> r = s->store_data("counter", doc, {.expected_version = v});
        if (r.ok()) {
          ++successes;
        } else if (r.status().code() == StatusCode::kConflict) {
          ++conflicts;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(successes + conflicts, kThreads * kAttempts);
  EXPECT_GT(successes.load(), 0);
  // Each success incremented n exactly once, and each success is one more version.
  EXPECT_EQ((**s->load_data("counter"))["n"].get<int>(), successes.load());
  EXPECT_EQ(s->get_audit_trail("counter")->size(), static_cast<std::size_t>(successes + 1));
  EXPECT_EQ(s->get_statistics().head_seq, static_cast<Seq>(successes + 1));
  // The key's final version is the seq of its last write: the initial store (seq 1)
  // plus one per success.
  EXPECT_EQ(*s->get_version("counter"), static_cast<Seq>(successes + 1));
}

// Concurrent writers and readers of overlapping keys: after the writers stop, every
// key reads back its last committed document (the LRU view never keeps a stale one).
TEST(ConcurrencyTest, ReadersNeverSeeStaleValuesAfterWritesSettle) {
  omni::testing::TempDir dir;
  Options o;
  o.path = dir.path();
  o.cache_size = 16;  // small: constant eviction and refill
  auto s = std::move(*Storage::open(o));
  constexpr int kKeys = 64;
  std::atomic<bool> stop{false};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        ASSERT_TRUE(s->store_data("k" + std::to_string((i * 5 + t) % kKeys), {{"w", t}, {"i", i}}).ok());
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    ts.emplace_back([&] {
      int i = 0;
      while (!stop) ASSERT_TRUE(s->load_data("k" + std::to_string(i++ % kKeys)).ok());
    });
  }
  for (int t = 0; t < 4; ++t) ts[t].join();
  stop = true;
  for (std::size_t t = 4; t < ts.size(); ++t) ts[t].join();
  for (int k = 0; k < kKeys; ++k) {
    const std::string key = "k" + std::to_string(k);
    auto trail = *s->get_audit_trail(key);
    ASSERT_FALSE(trail.empty());
    ASSERT_TRUE(s->audit().configure({.include_data_snapshots = true}).ok());
    Json last = *s->get_audit_trail(key)->back().data;
    EXPECT_EQ(**s->load_data(key), last) << key;
  }
}

// As above, but checked during the run: each key is owned by one writer, which stores
// {"n": i} with i counting its writes of that key, so every reader must see each key's
// n only increase (absent only before the key's first write). A stale entry left in
// the small LRU view would show an older n.
TEST(ConcurrencyTest, ReadersSeeEachKeysVersionOnlyIncrease) {
  omni::testing::TempDir dir;
  Options o;
  o.path = dir.path();
  o.cache_size = 16;  // small: constant eviction and refill
  auto s = std::move(*Storage::open(o));
  constexpr int kWriters = 4, kKeysPerWriter = 16, kWritesPerKey = 125;
  constexpr int kKeys = kWriters * kKeysPerWriter;
  auto key = [](int k) { return "k" + std::to_string(k); };
  std::atomic<int> writing{kWriters}, failures{0};
  auto fail = [&](const std::string& what) {
    if (failures.fetch_add(1) < 5) ADD_FAILURE() << what;  // one race can repeat often
  };
  std::vector<std::thread> ts;
  for (int w = 0; w < kWriters; ++w) {
    ts.emplace_back([&, w] {
      // Writer w owns keys w, w + kWriters, ...; round i writes n = i to each of them.
      for (int i = 0; i < kKeysPerWriter * kWritesPerKey; ++i) {
        const int k = w + kWriters * (i % kKeysPerWriter);
        if (!s->store_data(key(k), {{"n", i / kKeysPerWriter}}).ok()) {
          fail("store_data of " + key(k) + " failed");
          break;
        }
      }
      --writing;
    });
  }
  // More readers than cores: a reader preempted between its state read and its fill
  // is what a broken view would let leave a stale entry.
  for (int r = 0; r < 4; ++r) {
    ts.emplace_back([&, r] {
      std::vector<int> seen(kKeys, -1);  // -1: not seen yet
      for (unsigned i = r; writing > 0; i += 7) {
        const int k = static_cast<int>(i % kKeys);
        Result<std::optional<Json>> d = s->load_data(key(k));
        if (!d.ok()) {
          fail("load_data of " + key(k) + " failed");
          break;
        }
        const int n = d->has_value() ? (**d)["n"].get<int>() : -1;
        if (n < seen[k]) {
          fail(key(k) + ": read n = " + std::to_string(n) + " after " + std::to_string(seen[k]));
        }
        seen[k] = std::max(seen[k], n);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (int k = 0; k < kKeys; ++k) {
    EXPECT_EQ((**s->load_data(key(k)))["n"], kWritesPerKey - 1) << key(k);
  }
}

}  // namespace
}  // namespace omni
