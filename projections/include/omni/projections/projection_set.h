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
//
// Generations and rebuild. The durable projections' column families carry a
// generation suffix ("" for the first, "@<n>" after the n-th rebuild; the meta row
// "generation" names the live one). rebuild() builds generation n+1 from the log
// into fresh column families while the live one keeps serving reads and writes,
// catches up with the writes that arrived meanwhile, and swaps inside
// EventLog::exclusive (no group in flight); only then are the old families
// dropped. A projection takes part through a Factory (add(Factory)), which makes
// an instance for any generation; the live instances are reached through state(),
// audit() and get<P>(slot), never kept across a rebuild.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>

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
  // Makes the projection's instance whose column families end in `suffix`.
  using Factory = std::function<std::unique_ptr<DurableProjection>(const log::EventLog&, std::string_view suffix)>;
  // Progress of rebuild(): events applied, the head it aims at, and whether the
  // final catch-up and swap are done.
  using Progress = std::function<void(Seq applied, Seq target, bool swapped)>;

  // Reads which generation is live (the log must be open with every family).
  explicit ProjectionSet(log::EventLog& log);

  // Registers another durable projection (before catch_up() and the first append).
  // Staged after the state and before the audit index, in the order added.
  // Returns its slot for get<P>(). The Factory form can be rebuilt; an instance
  // added directly makes rebuild() kInvalidArgument.
  std::size_t add(Factory make);
  std::size_t add(std::unique_ptr<DurableProjection> p);
  // The live instance in `slot` (a P by the caller's word).
  template <typename P>
  P& get(std::size_t slot) const {
    return static_cast<P&>(*live()->added[slot]);
  }
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

  StateProjection& state() const { return *live()->state; }
  AuditIndex& audit() const { return *live()->audit; }
  // The live generation's column-family suffix ("" or "@<n>").
  std::string suffix() const { return live()->suffix; }

  // Rebuilds every durable projection from the log into a new generation and
  // swaps to it (see above); reads and writes continue meanwhile. kConflict when a
  // rebuild is already running.
  Status rebuild(const Progress& progress = {});

  // Checkpoint rows in the meta column family (for tests and tools).
  static std::string generation_key() { return "generation"; }
  static std::string checkpoint_key();
  static std::string checkpoint_key(std::string_view projection);

 private:
  struct Generation {
    Seq number = 0;
    std::string suffix;
    std::unique_ptr<StateProjection> state;
    std::unique_ptr<AuditIndex> audit;
    std::vector<std::unique_ptr<DurableProjection>> added;
    std::vector<DurableProjection*> all;  // stage order: state, added, audit
  };
  Generation* live() const { return live_.load(std::memory_order_acquire); }
  std::unique_ptr<Generation> make_generation(Seq number);
  // Applies events from..to to targets; with `checkpoints`, records each target's
  // own checkpoint row per batch. Returns the last seq applied.
  Result<Seq> replay(const std::vector<DurableProjection*>& targets, Seq from, Seq to,
                     bool checkpoints = true, const Progress& progress = {});
  // A rebuild's first pass over the log, from seq 1 to `to`, into a generation no
  // one reads yet: the rows of bulk-loadable projections are ingested as sorted
  // files (BulkLoader), the others' written batch by batch. Returns `to`.
  Result<Seq> bulk_replay(const Generation& g, Seq to, const Progress& progress);
  // Checks every projection against the newest events; rebuilds those that fail.
  Status verify_or_rebuild();
  // Drops the column families of generations other than the live one (left by an
  // interrupted rebuild, or the old one after a swap).
  Status drop_other_generations(bool first_too = false);
  // Whether open had to create one of the projection's families on a store that
  // existed (see EventLog::created_at_open).
  bool lost_family(std::string_view projection) const;

  log::EventLog& log_;
  std::vector<Factory> factories_;  // by slot; null for an instance added directly
  std::atomic<Generation*> live_{nullptr};
  // Every generation made, kept until destruction: a reader may still hold an
  // old one's projection when a rebuild swaps.
  std::vector<std::unique_ptr<Generation>> generations_;
  std::mutex rebuild_mu_;
  std::vector<std::string> created_;  // a live generation's families the constructor had to create
  std::vector<View*> views_;
  rocksdb::ColumnFamilyHandle* meta_;
  Seq checkpointed_ = 0;  // leader-only: the last checkpoint a batch carried
  std::vector<std::string> findings_;
};

}  // namespace omni::projections
