// Lifecycle: admission of every call into a Storage and the counting that lets
// close() wait for what is running.
//
// Three kinds of work are counted, each in before it checks `closing` (so close(),
// which sets `closing` first and then waits for the counts, cannot miss any; all
// of it seq_cst):
//   in_flight  - a synchronous call (store_data, cache().put, …) while it runs;
//   async      - an Asio operation, from initiation until its handler was invoked;
//   callbacks  - an ordered delivery of async data_changed callbacks on the strand.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace omni::detail {

class Lifecycle {
 public:
  using Deadline = std::chrono::steady_clock::time_point;

  // Counts a call in; false when the store is closing (the caller must still
  // leave(), and fails with kUnavailable).
  bool enter() {
    in_flight_[stripe()].n.fetch_add(1);
    return !closing_.load();
  }
  void leave() {
    in_flight_[stripe()].n.fetch_sub(1);
    if (closing_.load()) {  // a stripe at 0 says nothing of the sum: wake the waiter to look
      std::lock_guard l(mu_);
      cv_.notify_all();
    }
  }
  bool begin_async() {
    async_.fetch_add(1);
    return !closing_.load();
  }
  void end_async() { release(async_); }
  void begin_callback() { callbacks_.fetch_add(1); }
  void end_callback() { release(callbacks_); }

  void start_closing() { closing_.store(true); }

  // Until no call and no async operation is running; false at the deadline.
  bool wait_idle(Deadline deadline);
  // Until every queued callback delivery ran; false at the deadline.
  bool wait_callbacks(Deadline deadline);

  std::int64_t in_flight() const {
    std::int64_t n = 0;
    for (const Stripe& s : in_flight_) n += s.n.load();
    return n;
  }
  std::int64_t async_pending() const { return async_.load(); }
  std::int64_t callbacks_pending() const { return callbacks_.load(); }

 private:
  void release(std::atomic<std::int64_t>& n) {
    if (n.fetch_sub(1) == 1 && closing_.load()) {
      std::lock_guard l(mu_);
      cv_.notify_all();
    }
  }
  bool wait(Deadline deadline, bool (Lifecycle::*done)() const);
  bool idle() const { return in_flight() == 0 && async_.load() == 0; }
  bool no_callbacks() const { return callbacks_.load() == 0; }

  std::atomic<bool> closing_{false};
  // Synchronous calls are counted per stripe of threads, so concurrent calls do
  // not all increment one cache line (bench/policy_bench.cc: a cached policy hit
  // is a few dozen ns, as long as one contended increment). The count is the sum; a
  // call enters and leaves on one thread, so its stripe never goes negative.
  static constexpr std::size_t kStripes = 16;
  struct alignas(64) Stripe {
    std::atomic<std::int64_t> n{0};
  };
  static std::size_t stripe() {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
    return mine;
  }
  std::array<Stripe, kStripes> in_flight_;
  std::atomic<std::int64_t> async_{0};
  std::atomic<std::int64_t> callbacks_{0};
  std::mutex mu_;
  std::condition_variable cv_;
};

// Marks the current thread as running user code (a callback) on behalf of a
// store, so close() on that thread knows it must not wait for itself.
class CallbackScope {
 public:
  explicit CallbackScope(const void* store) : prev_(current_) { current_ = store; }
  CallbackScope(const CallbackScope&) = delete;  // restores the marker on exit
  CallbackScope& operator=(const CallbackScope&) = delete;
  ~CallbackScope() { current_ = prev_; }
  // Whether this thread is inside a callback of `store` (possibly nested).
  static bool inside(const void* store);

 private:
  const void* prev_;
  static thread_local const void* current_;
};

}  // namespace omni::detail
