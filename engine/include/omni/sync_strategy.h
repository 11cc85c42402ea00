// Custom sync strategies: Storage::set_sync_strategy(name, fn) lets fn decide, per
// write, which backends must have applied it before the call returns; the others
// catch up from the log in the background. The log stays the truth whatever fn
// decides: every backend receives every event eventually.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace omni {

// What a custom strategy sees of one write (borrowed for the call).
struct WriteInfo {
  // As AuditEntry::operation: "store", "delete", "relationship_added", …
  std::string_view operation;
  // The document's key; a relationship's subject; a decision's resource.
  std::string_view key;
  const nlohmann::json* doc = nullptr;  // stores and versions: the document; else null
};

class SyncPlan {
 public:
  // The write returns once `backend` has applied it (kTimedOut after
  // StrategyOptions::write_timeout; the write is committed all the same). Unknown
  // backend: kInvalidArgument; unhealthy (and offline mode off): kUnavailable;
  // both before anything is written.
  void apply_now(std::string_view backend) { now_.emplace_back(backend); }
  // `backend` catches up in the background, from the log (the reference README's
  // queue_backup(backend, key, data); every backend does, this names the intent
  // and checks the name). key and doc are accepted for that form and not needed.
  void queue_backup(std::string_view backend, std::string_view key = {},
                    const nlohmann::json* doc = nullptr) {
    (void)key;
    (void)doc;
    queued_.emplace_back(backend);
  }
  // Do not put the written document into the LRU view (as write_around).
  void skip_view() { view_ = false; }

  const std::vector<std::string>& immediate() const { return now_; }
  const std::vector<std::string>& queued() const { return queued_; }
  bool fills_view() const { return view_; }

 private:
  std::vector<std::string> now_;
  std::vector<std::string> queued_;
  bool view_ = true;
};

// Called on the writing thread before the write is appended, once per item of
// the call (store_batch: each item). Must be quick and must not call the store.
using CustomStrategyFn = std::function<void(SyncPlan& plan, const WriteInfo& write)>;

}  // namespace omni
