// BackendRegistry: the store's backends, each with its sink worker, and the sync
// strategy that decides what a write waits for.
//
//   add_backend ─► SinkWorker (on the registry's own executor: backend calls may
//                  block, and write-through callers on the engine's executor wait
//                  for them) ─► replays the log from the backend's position
//   a write: admit() before the append (the strategy; kUnavailable when it needs
//            a backend and none is healthy) ─► append ─► settle() (waits as the
//            ticket says, failing over to the next healthy backend)
//   load_data of a key the log never had ─► fallback() asks backends by priority
//
// engine/backend_registry.cc: workers, offline mode, reads, dead letters, health;
// engine/sync_strategy.cc: admit / settle and the strategies.
// [Threading] Thread-safe.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + g++ 12)

#include <boost/asio/thread_pool.hpp>
#include <spdlog/logger.h>

#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "omni/backend.h"
#include "omni/log/cursor_store.h"
#include "omni/log/event_log.h"
#include "omni/options.h"
#include "omni/sinks/dead_letter_store.h"
#include "omni/sinks/sink_worker.h"
#include "omni/sync_strategy.h"
#include "omni/types.h"

namespace omni::detail {

// What the strategy asks of one write, from admit() to settle().
struct WriteTicket {
  enum class Wait { kNone, kFirstHealthy, kAllHealthy, kNamed };
  Wait wait = Wait::kNone;
  std::vector<std::string> named;  // kNamed
  bool fill_view = true;           // false: write_around (or a custom plan's skip_view)
  std::chrono::milliseconds timeout{0};
};

class BackendRegistry {
 public:
  // `log` must outlive this object; `seed` emits the current state (reseed.h).
  BackendRegistry(const Options& options, log::EventLog& log, sinks::SeedFn seed,
                  std::shared_ptr<spdlog::logger> logger);
  ~BackendRegistry();  // close()s

  Status add(std::string_view name, std::unique_ptr<Backend> backend, int priority);
  Status remove(std::string_view name);
  bool empty() const;

  void set_offline(bool offline);
  bool offline() const { return offline_.load(std::memory_order_acquire); }

  // --- The strategy (sync_strategy.cc).
  Status set_strategy(SyncStrategy s, const StrategyOptions& o);
  Status set_custom_strategy(std::string_view name, CustomStrategyFn fn);
  // Before a request is appended: its events and, where known, each event's document.
  Result<WriteTicket> admit(const std::vector<log::EventDraft>& drafts, const std::vector<const Json*>& docs);
  // After it committed as seqs up to `seq`: waits as the ticket says. kTimedOut
  // (naming seq) when no backend it waits for applied it in time.
  Status settle(const WriteTicket& ticket, Seq seq);

  // The first document a backend holds for key, by priority (errors fail over to
  // the next). Never writes it locally.
  std::optional<Json> fallback(std::string_view key);
  // Whether a document read from a backend goes into the LRU view (not under write_around).
  bool fills_view_on_read() const;
  Status wait_for(std::string_view name, Seq seq, std::chrono::milliseconds timeout);

  Result<std::vector<DeadLetter>> dead_letters(std::string_view backend) const;
  Status retry_dead_letter(std::string_view backend, Seq seq);
  Status drop_dead_letter(std::string_view backend, Seq seq);

  // probe: run each backend's health_check() now.
  std::vector<BackendHealth> health(bool probe);
  std::vector<BackendStatistics> statistics() const;

  // Writes waiting in settle() give up (the store is closing).
  void begin_close();
  // Lets write-behind work drain until `deadline` (while its backend is healthy),
  // logs what is left, stops the workers and joins their executor. Idempotent.
  void close(std::chrono::steady_clock::time_point deadline);

 private:
  using WorkerPtr = std::shared_ptr<sinks::SinkWorker>;
  std::vector<WorkerPtr> workers() const;  // by priority
  WorkerPtr find(std::string_view name) const;
  sinks::FlushPolicy flush_policy() const;  // strategy_mu_ held
  // settle()'s condition, with progress_.mu held.
  bool settled(const WriteTicket& t, Seq seq, const std::vector<WorkerPtr>& ws) const;

  const Options& options_;
  log::EventLog& log_;
  sinks::SeedFn seed_;
  std::shared_ptr<spdlog::logger> logger_;
  log::CursorStore cursors_;
  sinks::DeadLetterStore dead_letters_;
  sinks::Progress progress_;
  boost::asio::thread_pool pool_;

  mutable std::shared_mutex mu_;
  std::vector<WorkerPtr> workers_;  // guarded by mu_; sorted by priority (stable)
  bool closed_ = false;             // guarded by mu_

  mutable std::mutex strategy_mu_;
  SyncStrategy strategy_;                 // guarded by strategy_mu_
  StrategyOptions strategy_options_;      // guarded by strategy_mu_
  std::string custom_name_;               // guarded by strategy_mu_; non-empty: custom active
  std::shared_ptr<const CustomStrategyFn> custom_;  // guarded by strategy_mu_

  std::atomic<bool> offline_{false};
  std::atomic<bool> closing_{false};
};

}  // namespace omni::detail
