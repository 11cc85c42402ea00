// OrderedPool: jobs run on several threads come back in the order they were
// submitted, whatever order they finish in; the caller of next() runs jobs while
// it waits; destroying it with jobs left is safe.
#include "omni/tools/ordered_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <set>
#include <thread>

namespace omni {
namespace {

struct Job {
  int index = 0;
  int delay_us = 0;
  std::thread::id ran_on;
  int runs = 0;
};

TEST(OrderedPoolTest, HandsJobsBackInSubmissionOrderWhateverOrderTheyFinish) {
  std::atomic<int> running{0}, most{0};
  tools::OrderedPool<Job> pool(4, [&](Job& j) {
    const int now = ++running;
    for (int m = most.load(); now > m && !most.compare_exchange_weak(m, now);) {
    }
    std::this_thread::sleep_for(std::chrono::microseconds(j.delay_us));
    j.ran_on = std::this_thread::get_id();
    ++j.runs;
    --running;
  });
  std::mt19937 rng(3);
  std::set<std::thread::id> threads;
  int next_out = 0;
  for (int i = 0; i < 400; ++i) {
    auto j = std::make_unique<Job>();
    j->index = i;
    j->delay_us = static_cast<int>(rng() % 300);  // later jobs often finish first
    pool.submit(std::move(j));
    if (pool.outstanding() > 8) {
      std::unique_ptr<Job> done = pool.next();
      ASSERT_EQ(done->index, next_out++);
      EXPECT_EQ(done->runs, 1);
      threads.insert(done->ran_on);
    }
  }
  for (std::unique_ptr<Job> done; (done = pool.next());) {
    ASSERT_EQ(done->index, next_out++);
    EXPECT_EQ(done->runs, 1);
    threads.insert(done->ran_on);
  }
  EXPECT_EQ(next_out, 400);
  EXPECT_EQ(pool.outstanding(), 0u);
  EXPECT_GT(threads.size(), 1u);  // spread over the threads
  EXPECT_GT(most.load(), 1);      // and really at once
}

TEST(OrderedPoolTest, NextRunsWaitingJobsOnTheCallerWhileTheOldestRuns) {
  // Job 0 holds the only worker until job 1 has run: only the thread waiting in
  // next() can run job 1, so without that next() would never return.
  std::atomic<bool> first_started{false}, second_ran{false};
  tools::OrderedPool<Job> pool(1, [&](Job& j) {
    j.ran_on = std::this_thread::get_id();
    if (j.index == 0) {
      first_started = true;
      while (!second_ran) std::this_thread::sleep_for(std::chrono::microseconds(50));
    } else {
      second_ran = true;
    }
  });
  for (int i = 0; i < 2; ++i) {
    auto j = std::make_unique<Job>();
    j->index = i;
    pool.submit(std::move(j));
  }
  while (!first_started) std::this_thread::sleep_for(std::chrono::microseconds(50));
  std::unique_ptr<Job> a = pool.next();
  std::unique_ptr<Job> b = pool.next();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->index, 0);
  EXPECT_EQ(b->index, 1);
  EXPECT_NE(a->ran_on, std::this_thread::get_id());
  EXPECT_EQ(b->ran_on, std::this_thread::get_id());
  EXPECT_EQ(pool.next(), nullptr);
}

TEST(OrderedPoolTest, CanBeDestroyedWithJobsNotYetTaken) {
  std::atomic<int> ran{0};
  {
    tools::OrderedPool<Job> pool(2, [&](Job&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ++ran;
    });
    for (int i = 0; i < 50; ++i) pool.submit(std::make_unique<Job>());
  }  // waits for the running ones, drops the rest
  EXPECT_LE(ran.load(), 50);
}

}  // namespace
}  // namespace omni
