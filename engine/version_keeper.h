// VersionKeeper: storage->versioning() — the version limit, the cleanup pass that
// prunes keys beyond it, and the timer that runs that pass in the background.
// The prunes are VersionsPruned events appended through the WritePath, so a
// replay of the log gives the same versions; the index refuses a prune that a
// concurrent write made wrong (see projections/versions.h), and the pass then
// leaves that key to the write (which pruned it itself) or to the next pass.
//
// Background pass: a steady timer on the engine's executor. Its wait is not
// counted by the Lifecycle (close need not wait for a timer); a pass that runs is
// (begin_async), so close() waits for it, and the pass stops between keys once
// stop() was called. stop() runs at the start of close().
// [Threading] Thread-safe. Passes never run concurrently with each other.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + g++ 12)

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "health_record.h"
#include "lifecycle.h"
#include "omni/options.h"
#include "omni/projections/versions.h"
#include "write_path.h"

namespace omni::detail {

class VersionKeeper {
 public:
  // Sets the index's limit from `options`. Everything borrowed must outlive this
  // object; `index` and `writes` are only used until stop().
  VersionKeeper(const Options& options, std::function<projections::VersionIndex&()> index, WritePath& writes,
                Lifecycle& life, boost::asio::thread_pool& pool, HealthRecord& health,
                std::shared_ptr<spdlog::logger> logger);
  VersionKeeper(const VersionKeeper&) = delete;  // its timer's handler points at it
  VersionKeeper& operator=(const VersionKeeper&) = delete;
  ~VersionKeeper();

  // Applies the set fields (see Versioning::configure); a new cleanup_interval
  // restarts the timer. kInvalidArgument for a cleanup_interval <= 0, nothing
  // changed then.
  Status configure(const VersioningConfig& config);
  VersioningConfig config() const;  // every field set

  // One pass: a VersionsPruned (one request) for each key beyond the limit.
  Status cleanup();

  // Arms the background pass (after open).
  void start();
  // No pass starts after this; one that is running stops before its next key.
  void stop();

 private:
  void arm_locked();  // mu_ held
  void on_timer(std::uint64_t generation);

  std::function<projections::VersionIndex&()> index_;  // the live instance (rebuild swaps it)
  WritePath& writes_;
  Lifecycle& life_;
  HealthRecord& health_;
  std::shared_ptr<spdlog::logger> logger_;

  mutable std::mutex mu_;
  VersioningConfig config_;  // guarded by mu_; every field set
  boost::asio::steady_timer timer_;  // guarded by mu_
  std::uint64_t generation_ = 0;  // guarded by mu_: a handler of an older arm does nothing
  bool stopped_ = false;          // guarded by mu_
  std::atomic<bool> stopping_{false};  // stop() was called (read by a running pass)
  std::mutex pass_mu_;  // one pass at a time
};

}  // namespace omni::detail
