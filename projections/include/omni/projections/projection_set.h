// The projection registry the log maintains with every group: durable projections
// (rows in the group's WriteBatch: the state and the audit index built in, more
// through add()) and views (in memory, through add_view(): the LRU view, whose
// entries for the group's keys are invalidated before the batch becomes visible).
//
// Checkpoints. A group's batch records, at most every kCheckpointEvery events, the
// last seq it holds in the log's "meta" column family ("checkpoint"), so the
// checkpoint is written together with the rows it vouches for and never passes
// them; close() records the head (save_checkpoint). A projection joins with its own row
// ("checkpoint/<name>", the seq it was caught up to). At open, catch_up() replays
// the log into each projection that is behind: a new one (no row of its own) from
// the start, every one from the shared checkpoint if the log is ahead of it. A
// checkpoint ahead of the log means the log lost events the projections hold:
// kCorruption, the store is not served.
//
// Verification. Checkpoints say how far a projection got, not that its rows
// survived: after catching up, each projection is checked against the log's
// kVerifyWindow newest events (which fix the rows of their keys exactly), and one
// that disagrees is rebuilt from the whole log (findings() says which and why). The
// log itself is checked by EventLog::open (no gap, nothing lost before its anchor).
#pragma once

#include <memory>
#include <vector>

#include "omni/log/event_log.h"
#include "omni/projections/audit_index.h"
#include "omni/projections/policy_index.h"
#include "omni/projections/projection.h"
#include "omni/projections/relationships.h"
#include "omni/projections/state.h"
#include "omni/projections/versions.h"

namespace omni::projections {

// Column families the log must open for the projections (built in and added).
std::vector<std::string> column_families();

class ProjectionSet final : public log::Projector {
 public:
  explicit ProjectionSet(const log::EventLog& log);

  // Registers another durable projection (before catch_up() and the first append).
  // Staged after the state and before the audit index, in the order added.
  void add(std::unique_ptr<DurableProjection> p);
  // Registers a view (before catch_up() and the first append); it must outlive
  // this object.
  void add_view(View& v);

  // Brings every durable projection up to the log's head (see above), then loads
  // the views. Call once, after the projections are registered and before the
  // store serves requests.
  Status catch_up();

  // Records the head as the shared checkpoint (at close, writes stopped).
  Status save_checkpoint();

  // What catch_up() found wrong, one line each: a projection it rebuilt from the
  // log because its rows disagreed with the log's newest events, or a damaged
  // event among those that kept it from verifying.
  const std::vector<std::string>& findings() const { return findings_; }

  static constexpr Seq kCheckpointEvery = 1024;
  // How many of the log's newest events open checks each projection against.
  static constexpr Seq kVerifyWindow = 1024;

  Status expand(log::AppendRequest& req) override;
  Status stage(log::AppendRequest& req, Seq first_seq, rocksdb::WriteBatch* batch) override;
  void before_write(Seq last_seq, rocksdb::WriteBatch* batch) override;
  void finish_group(bool committed) override;

  StateProjection& state() { return state_; }
  AuditIndex& audit() { return audit_; }

  // Checkpoint rows in the meta column family (for tests and tools).
  static std::string checkpoint_key();
  static std::string checkpoint_key(std::string_view projection);

 private:
  Status replay(const std::vector<DurableProjection*>& targets, Seq from, Seq to);
  // Checks every projection against the newest events; rebuilds those that fail.
  Status verify_or_rebuild();

  const log::EventLog& log_;
  StateProjection state_;
  AuditIndex audit_;
  std::vector<std::unique_ptr<DurableProjection>> added_;
  std::vector<DurableProjection*> all_;  // stage order: state first (it can refuse)
  std::vector<View*> views_;
  rocksdb::ColumnFamilyHandle* meta_;
  Seq checkpointed_ = 0;  // leader-only: the last checkpoint a batch carried
  std::vector<std::string> findings_;
};

}  // namespace omni::projections
