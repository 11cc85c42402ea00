// Notifier: the data_changed and relationship_changed callback registry and its
// delivery.
//
// Sync callbacks run on the writing thread right after its commit. Async callbacks
// run on the engine's executor, one delivery at a time, in commit (seq) order:
// the group leader reserves a slot for each committed request in seq order
// (log::CommitListener), the writer fills its slot with the changes once it has
// built them, and filled slots leave from the front only, so a writer that
// finished early waits for the earlier seqs instead of overtaking them.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + g++ 12)

#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <spdlog/logger.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "lifecycle.h"
#include "omni/log/event_log.h"
#include "omni/storage.h"

namespace omni::detail {

class Notifier final : public log::CommitListener {
 public:
  using Executor = boost::asio::thread_pool::executor_type;
  // `owner` marks the threads running callbacks (see CallbackScope).
  Notifier(Lifecycle& life, std::shared_ptr<spdlog::logger> logger, Executor ex, const void* owner);

  Result<Notifications::CallbackId> add(std::string_view event, Notifications::DataChangedFn fn,
                                        bool async);
  Result<Notifications::CallbackId> add(std::string_view event,
                                        Notifications::RelationshipChangedFn fn, bool async);
  // After it returns the callback is not called again (an invocation already
  // running on another thread finishes).
  bool remove(Notifications::CallbackId id);

  // Whether a write starting now must build DataChanged values / take an ordered
  // slot for async delivery.
  bool wants_changes() const { return any_.load(std::memory_order_acquire); }
  bool wants_relationship_changes() const { return any_rel_.load(std::memory_order_acquire); }
  // Whether any async callback (of either event) is registered.
  bool wants_async() const { return any_async_.load(std::memory_order_acquire); }

  // Leader: reserves the request's slot in commit order.
  void committed(const log::AppendRequest& req) override;
  // The writer, after its commit: runs the sync callbacks on this thread and hands
  // the async ones to the ordered queue. `slot` says whether the request took a
  // slot (AppendRequest::listen); if it did, this must be called exactly once.
  // Data changes are delivered before relationship changes (a cascade's removals
  // follow its delete).
  void publish(Seq first_seq, bool slot, std::vector<DataChanged> changes,
               std::vector<RelationshipChanged> edges = {});

  // close(): queued deliveries that have not started skip the user's callbacks.
  void drop_pending() { dropping_.store(true); }

 private:
  struct Callback {
    Notifications::CallbackId id;
    Notifications::DataChangedFn fn;           // data_changed, or
    Notifications::RelationshipChangedFn rel;  // relationship_changed
    bool async;
    std::shared_ptr<std::atomic<bool>> live;  // cleared by remove()
  };
  using List = std::vector<Callback>;
  struct Slot {
    bool filled = false;
    std::shared_ptr<const List> list;
    std::vector<DataChanged> changes;
    std::vector<RelationshipChanged> edges;
  };

  std::shared_ptr<const List> list() const;
  Result<Notifications::CallbackId> add(Callback cb);
  void run(const Callback& cb, const DataChanged& c, const char* kind);
  void run(const Callback& cb, const RelationshipChanged& c, const char* kind);
  // Runs the callbacks of `list` that are async (or sync) for every change.
  void run_all(const List& list, bool async, const std::vector<DataChanged>& changes,
               const std::vector<RelationshipChanged>& edges);

  Lifecycle& life_;
  std::shared_ptr<spdlog::logger> logger_;
  boost::asio::strand<Executor> strand_;
  const void* owner_;

  mutable std::mutex list_mu_;
  std::shared_ptr<const List> list_;  // copy-on-write
  std::atomic<bool> any_{false}, any_rel_{false}, any_async_{false};
  Notifications::CallbackId next_id_ = 1;  // guarded by list_mu_

  std::mutex order_mu_;
  std::map<Seq, Slot> slots_;  // by first seq; guarded by order_mu_
  std::atomic<bool> dropping_{false};
};

}  // namespace omni::detail
