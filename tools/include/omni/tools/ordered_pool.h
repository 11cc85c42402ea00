// Jobs run on several threads and handed back in the order they were submitted:
// the audit export formats batches of the log on every core and still writes them
// in log order.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace omni::tools {

template <typename Job>
class OrderedPool {
 public:
  // run(job) is called once per submitted job, on one of `threads` threads (at
  // least one) or on the thread calling next(), never on two threads for one job.
  OrderedPool(unsigned threads, std::function<void(Job&)> run) : run_(std::move(run)) {
    for (unsigned i = 0; i < std::max(threads, 1u); ++i) threads_.emplace_back([this] { work(); });
  }
  // Waits for the jobs running; the ones not started are dropped.
  ~OrderedPool() {
    {
      std::lock_guard l(mu_);
      stopping_ = true;
    }
    work_cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  OrderedPool(const OrderedPool&) = delete;
  OrderedPool& operator=(const OrderedPool&) = delete;

  void submit(std::unique_ptr<Job> job) {
    {
      std::lock_guard l(mu_);
      slots_.push_back({std::move(job), false});
    }
    work_cv_.notify_one();
  }

  // The oldest job not yet taken, once it has run; nullptr when none is left.
  // While the oldest is still running, the calling thread runs jobs not yet
  // started itself rather than sleep: on a machine with as many busy threads as
  // cores, a caller that sleeps must be woken for every job (a futex and an IPI
  // each, and a worker preempted to run it).
  std::unique_ptr<Job> next() {
    std::unique_lock l(mu_);
    if (slots_.empty()) return nullptr;
    while (!slots_.front().done && started_ < slots_.size()) run_one(l);
    done_cv_.wait(l, [&] { return slots_.front().done; });
    std::unique_ptr<Job> job = std::move(slots_.front().job);
    slots_.pop_front();
    --started_;  // the front had started: every index shifts by one
    return job;
  }

  // Jobs submitted and not yet taken by next().
  std::size_t outstanding() const {
    std::lock_guard l(mu_);
    return slots_.size();
  }

 private:
  struct Slot {
    std::unique_ptr<Job> job;
    bool done;
  };

  void work() {
    std::unique_lock l(mu_);
    for (;;) {
      work_cv_.wait(l, [&] { return stopping_ || started_ < slots_.size(); });
      if (stopping_) return;
      run_one(l);
      done_cv_.notify_all();
    }
  }

  // Runs the oldest job not started (there must be one), with mu_ released.
  void run_one(std::unique_lock<std::mutex>& l) {
    // A deque keeps references to its elements across push_back and pop_front,
    // and this slot is not popped before it is done.
    Slot& slot = slots_[started_++];
    l.unlock();
    run_(*slot.job);
    l.lock();
    slot.done = true;
  }

  const std::function<void(Job&)> run_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // a job was submitted, or stopping_
  std::condition_variable done_cv_;  // a job is done
  std::deque<Slot> slots_;           // guarded by mu_: oldest first
  std::size_t started_ = 0;          // guarded by mu_: slots_[0, started_) have started
  bool stopping_ = false;            // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace omni::tools
