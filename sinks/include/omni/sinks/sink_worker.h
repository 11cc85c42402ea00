// SinkWorker: replays the log into one backend.
//
//   position ── the target's watermark (Backend::keeps_watermark) or the store's
//     │         cursor (sink_cursors); none (an empty or wiped target) ─► re-seed
//     ▼         from the current state, then go on from the log
//   read_from(cursor + 1) ─► Changes (coalesced under write-behind) ─► apply
//     │   while a backlog of a full batch waits behind it, the next batch is read
//     │   and converted on another thread of the executor during the apply
//     │   (prefetch); it is used only if it starts at the new cursor + 1
//     ok ─► cursor = batch.through (persisted in the target or in sink_cursors)
//     transient error ─► unhealthy; retry after capped exponential backoff with
//                        jitter, re-reading the position first (a target that
//                        restarted may have lost writes)
//     permanent error ─► retry change by change; a change rejected max_attempts
//                        times goes to the dead letters and the worker moves on
//
// Runs on a strand of the executor it is given: woken by the log's head-advanced
// signal (EventLog::notify_when) and by its own timers; no thread waits for it.
// Internal to the engine.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + g++ 12)

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/logger.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "omni/backend.h"
#include "omni/log/cursor_store.h"
#include "omni/log/event_log.h"
#include "omni/sink_types.h"
#include "omni/sinks/dead_letter_store.h"

namespace omni::sinks {

struct SinkOptions {
  std::size_t max_batch_events = 1000;
  std::size_t max_batch_bytes = 4u << 20;  // encoded event bytes read per batch
  std::chrono::milliseconds initial_backoff{50};
  std::chrono::milliseconds max_backoff{5000};
  std::uint32_t max_attempts = 5;  // permanent rejections of one change before it is dead-lettered
  // While idle, the backend's health_check() runs this often (0: never), so a
  // target that went away is known before the next write needs it.
  std::chrono::milliseconds health_interval{2000};
};

// When a worker applies what arrived: at once, or as a write-behind flush.
struct FlushPolicy {
  // Write-behind: a flush at most every `interval` (counted from the start of the
  // last one), sooner when `batch_size` events are pending.
  bool delayed = false;
  std::chrono::milliseconds interval{1000};
  std::size_t batch_size = 1000;
  bool coalesce = false;  // keep only the newest change per item within a flush
};

// Re-seeding: emits the store's current state as changes (in chunks) and returns
// a seq S read before the state was: the state holds every event up to S.
using EmitFn = std::function<Status(std::vector<Change>&&)>;
using SeedFn = std::function<Result<Seq>(const EmitFn& emit)>;

// Shared by the workers of one store: bumped and notified on every cursor or
// health change, so a write-through can wait for "any healthy backend".
struct Progress {
  std::mutex mu;
  std::condition_variable cv;
  std::uint64_t generation = 0;  // guarded by mu
  void bump() {
    {
      std::lock_guard l(mu);
      ++generation;
    }
    cv.notify_all();
  }
};

class SinkWorker : public std::enable_shared_from_this<SinkWorker> {
 public:
  struct Deps {
    log::EventLog& log;
    log::CursorStore& cursors;
    DeadLetterStore& dead_letters;
    Progress& progress;
    boost::asio::any_io_executor executor;
    SeedFn seed;
    std::shared_ptr<spdlog::logger> logger;
  };
  // Everything in deps must outlive the worker's stop().
  SinkWorker(std::string name, int priority, std::unique_ptr<Backend> backend, Deps deps,
             SinkOptions options, FlushPolicy flush);
  SinkWorker(const SinkWorker&) = delete;
  SinkWorker& operator=(const SinkWorker&) = delete;

  // Probes the backend's health (on this thread) and starts replaying.
  void start();
  // No new attempt starts; waits for the one running and for a prefetch in
  // flight (neither touches deps after it returns). Idempotent.
  void stop();
  void set_paused(bool paused);  // offline mode
  void set_flush_policy(const FlushPolicy& flush);
  // Write-behind: apply what is pending now instead of at the next interval.
  void flush_now();

  const std::string& name() const { return name_; }
  int priority() const { return priority_; }
  Backend& backend() { return *backend_; }
  Seq cursor() const;
  bool healthy() const;
  bool ahead_of_log() const;
  std::string last_error() const;
  BackendStatistics statistics() const;
  // Runs the backend's health_check() now and records the outcome.
  Status probe();

  // Applies the dead letter at seq again (from the log) on this thread: OK drops
  // it; an error updates it (attempts, last error) and is returned.
  Status retry_dead_letter(Seq seq);

 private:
  void post_step();
  void step();  // on the strand
  Status position();
  Status reseed();
  void run_batch();
  bool advance(Seq through, std::size_t applied);  // false: failed (retry armed)
  // Applies b, with the watermark check for targets that keep one.
  Status apply(ChangeBatch& b);
  void fail(const Status& s, bool permanent);
  void retry_later(std::chrono::milliseconds delay);
  void wait_for_head(Seq seq);
  void wait_until(std::chrono::steady_clock::time_point t);
  std::chrono::milliseconds next_backoff();
  void set_health(bool healthy, std::string error);
  Status dead_letter(const Change& c, const Status& why, std::uint32_t attempts);

  // The batch after the one being applied, read and converted off the strand.
  struct Prefetch {
    Seq from = 0;          // read_from(from)
    bool coalesce = false;  // as the flush policy said when it was started
    bool done = false;     // guarded by mu_; then status and batch are set
    Status status;         // guarded by mu_
    ChangeBatch batch;     // guarded by mu_
  };
  // Reads [from, ...) as run_batch() would, into prefetch_ (on the strand).
  void start_prefetch(Seq from, bool coalesce_changes);
  void run_prefetch(Prefetch& p);  // on a thread of the executor, not the strand
  // Reads and converts a batch from `from` (on whichever thread).
  Status read_batch(Seq from, const log::ReadLimits& limits, bool coalesce_changes, ChangeBatch* out) const;

  const std::string name_;
  const int priority_;
  std::unique_ptr<Backend> backend_;
  Deps deps_;
  const SinkOptions options_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  boost::asio::steady_timer timer_;  // used on the strand only

  // Strand-only state.
  bool positioned_ = false;
  bool needs_reseed_ = false;
  std::optional<Seq> known_watermark_;  // keeps_watermark(): what the target holds, as last read or set
  Seq split_until_ = 0;  // > cursor: apply change by change up to here (a permanent error)
  std::map<Seq, std::uint32_t> attempts_;  // permanent rejections per seq
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point last_flush_;  // write-behind: when the last flush began
  Seq flush_through_ = 0;  // ... and the head then: it goes on, undelayed, up to here
  std::chrono::steady_clock::time_point last_probe_{};
  bool head_wait_armed_ = false;
  std::chrono::steady_clock::time_point timer_at_{};  // the armed timer's expiry (max: none)
  // The prefetched next batch (null: none). Dropped whenever the batch it follows
  // is not acknowledged or the position may move (failure, retry, re-seed).
  std::shared_ptr<Prefetch> prefetch_;

  mutable std::mutex mu_;
  std::condition_variable idle_cv_;
  bool stopping_ = false;    // guarded by mu_
  bool running_ = false;     // guarded by mu_: a step is in progress
  int prefetching_ = 0;      // guarded by mu_: prefetches reading the log
  bool scheduled_ = false;   // guarded by mu_: a step is posted
  bool paused_ = false;      // guarded by mu_
  bool flush_requested_ = false;  // guarded by mu_
  FlushPolicy flush_;        // guarded by mu_
  Seq cursor_ = 0;           // guarded by mu_
  bool healthy_ = false;     // guarded by mu_
  bool ahead_ = false;       // guarded by mu_
  Seq target_watermark_ = 0;  // guarded by mu_: when ahead_
  std::string last_error_;   // guarded by mu_
  std::uint64_t applied_events_ = 0, batches_ = 0, retries_ = 0, reseeds_ = 0;  // guarded by mu_
};

}  // namespace omni::sinks
