// WritePath: the one way a write reaches the log.
//
//   validate ──► drafts + WriteContext (preconditions) ──► EventLog::append
//            ──► AppendResult (seqs, each key's prior state) ──► after commit:
//                fill the view with the writer's documents, publish notifications,
//                let the audit trail schedule retention
//
// store_data, delete_data and store_batch enter through write_data(); later write
// calls (relationships, versions, policy decisions) build their own drafts and go
// through append(), so validation of the common fields, durability, error logging
// and the after-commit steps are never copied.
// [Threading] Thread-safe; the log batches concurrent writers into groups.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "audit_trail.h"
#include "backend_registry.h"
#include "health_record.h"
#include "notifier.h"
#include "omni/log/event_log.h"
#include "omni/options.h"
#include "omni/projections/write_context.h"
#include "read_path.h"

namespace omni::detail {

// One data write: a store (doc set) or a delete (doc null). `owned` holds the
// document when the caller gave it up, so it can go into the LRU view.
struct Write {
  std::string_view key;
  const Json* doc = nullptr;
  std::shared_ptr<const Json> owned;
  std::optional<Seq> expected_version;
};

// What one committed request produced.
struct AppendResult {
  Seq first_seq = 0;
  Seq last_seq = 0;
  std::int64_t timestamp_ns = 0;
  std::string identity;  // as recorded (the default identity when none was given)
  // Per event, the key's state before it (when the request asked for it).
  std::vector<projections::PriorState> prior;
  // The request's events as committed: the caller's drafts, then what the
  // projections appended (a delete's relationship removals, a version prune).
  std::vector<log::EventDraft> events;
  // Whether the request holds an ordered slot in the Notifier (it must publish).
  bool listened = false;
  // What the sync strategy asks of the write (see settle()).
  WriteTicket ticket;
};

class WritePath {
 public:
  // Everything borrowed must outlive this object.
  WritePath(const Options& options, log::EventLog& log, ReadPath& reads, Notifier& notifier,
            AuditTrail& audit, HealthRecord& health, std::shared_ptr<spdlog::logger> logger);

  // store_data / delete_data / store_batch: validates every key and document, then
  // appends them as one atomic request; returns the last write's seq.
  Result<Seq> write_data(std::vector<Write>& writes, const WriteOptions& wo);

  // Appends `drafts` atomically: validates the identity, applies the store's
  // durability default, hands `ctx` (preconditions) to the projections and returns
  // what they learned. `listen`: take an ordered slot for async notifications (the
  // caller must then publish). Nothing is written on error.
  // `docs`: each draft's document where the caller has it (for custom strategies).
  // With backends, the sync strategy is asked first (BackendRegistry::admit): it
  // may refuse the write (kUnavailable) before anything is written.
  Result<AppendResult> append(std::vector<log::EventDraft> drafts, projections::WriteContext ctx,
                              const WriteOptions& wo, bool listen, const std::vector<const Json*>& docs = {});
  // The last step of a write call, after its view and notification steps: waits
  // for the backends as r.ticket says; `result` or kTimedOut (the write is
  // committed) / kUnavailable (closing).
  Result<Seq> settle(const AppendResult& r, Seq result);

  // At open, once: the store's backends (null: none can be added).
  void set_backends(BackendRegistry* b) { backends_ = b; }

  // Whether a write starting now must take an ordered slot: some async callback
  // would see a change of it.
  bool wants_slot() const { return notifier_.wants_async(); }
  // relationship_changed values for the request's relationship events from
  // index `from` on (none when no callback wants them).
  std::vector<RelationshipChanged> edge_changes(const AppendResult& r, std::size_t from = 0) const;
  Notifier& notifier() { return notifier_; }

 private:
  // The writer's own documents enter the view (see the comment in the .cc).
  void fill_view(const std::vector<Write>& writes, const AppendResult& r);
  std::vector<DataChanged> changes(const std::vector<Write>& writes, AppendResult& r);

  const Options& options_;
  log::EventLog& log_;
  ReadPath& reads_;
  Notifier& notifier_;
  AuditTrail& audit_;
  HealthRecord& health_;
  std::shared_ptr<spdlog::logger> logger_;
  BackendRegistry* backends_ = nullptr;
};

}  // namespace omni::detail
