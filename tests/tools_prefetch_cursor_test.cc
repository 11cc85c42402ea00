// PrefetchCursor: the rows EventCursor yields, in the same order, read on a
// thread of its own across many batches (bounded by rows and by bytes).
#include "omni/tools/prefetch_cursor.h"

#include <gtest/gtest.h>

#include <utility>

#include "omni/storage.h"
#include "test_util.h"

namespace omni {
namespace {

using Rows = std::vector<std::pair<Seq, std::string>>;

template <typename Cursor>
Rows walk(Cursor& cur) {
  Rows out;
  while (cur.next()) out.emplace_back(cur.key(), std::string(cur.bytes()));
  EXPECT_TRUE(cur.status().ok()) << cur.status().to_string();
  return out;
}

TEST(PrefetchCursorTest, YieldsTheRowsOfAnEventCursorAcrossBatches) {
  testing::TempDir dir;
  {
    auto s = Storage::open({.path = dir.path()}).value();
    // 5,000 small events (several 1,024-row batches) and a few of 100 kB (batches
    // cut by bytes).
    for (int i = 0; i < 5000; ++i) {
      const std::string big(i % 1000 == 7 ? 100000 : 10, 'x');
      ASSERT_TRUE(s->store_data("k" + std::to_string(i % 300), Json{{"i", i}, {"pad", big}}).ok());
    }
    ASSERT_TRUE(s->close().ok());
  }
  auto lg = tools::open_read_only(dir.path()).value();
  const Seq head = lg->head_seq();
  for (auto [from, upto] : {std::pair<Seq, Seq>{1, head}, std::pair<Seq, Seq>{1500, 3100}}) {
    SCOPED_TRACE(std::to_string(from) + ".." + std::to_string(upto));
    Rows expected, got;
    {
      tools::EventCursor plain(*lg, from, upto);
      expected = walk(plain);
    }
    {
      tools::PrefetchCursor ahead(*lg, from, upto);
      got = walk(ahead);
      EXPECT_FALSE(ahead.next());  // stays at the end
    }
    ASSERT_EQ(expected.size(), upto - from + 1);
    EXPECT_TRUE(got == expected);
  }
}

TEST(PrefetchCursorTest, CanBeDestroyedBeforeTheEnd) {
  testing::TempDir dir;
  {
    auto s = Storage::open({.path = dir.path()}).value();
    for (int i = 0; i < 5000; ++i) ASSERT_TRUE(s->store_data("k" + std::to_string(i), Json{{"i", i}}).ok());
    ASSERT_TRUE(s->close().ok());
  }
  auto lg = tools::open_read_only(dir.path()).value();
  for (int stop_after : {0, 1, 1024, 1025}) {
    tools::PrefetchCursor cur(*lg, 1, lg->head_seq());
    for (int i = 0; i < stop_after; ++i) {
      ASSERT_TRUE(cur.next());
      EXPECT_EQ(cur.key(), static_cast<Seq>(i + 1));
    }
  }  // the reader is stopped and joined, wherever it was
}

}  // namespace
}  // namespace omni
