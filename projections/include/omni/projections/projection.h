// The two kinds of projection the registry (ProjectionSet) keeps in step with the
// log. Relationships, versions and the policy cache are added as new classes
// behind these interfaces, not as edits to the write path:
//  - DurableProjection: rows in its own column families, staged into each group's
//    WriteBatch (so it is exactly consistent with the log after any crash), with a
//    checkpoint; caught up or rebuilt from the log at open.
//  - View: in memory (the LRU view, the policy cache); told of each request's
//    events by the group leader before the batch becomes visible, filled after.
#pragma once

#include <rocksdb/write_batch.h>

#include <string_view>
#include <vector>

#include "omni/log/event.h"
#include "omni/log/event_log.h"
#include "omni/projections/row_sink.h"

namespace omni::projections {

class DurableProjection {
 public:
  virtual ~DurableProjection() = default;
  // Unique and stable across versions: it names the projection's checkpoint row.
  virtual std::string_view name() const = 0;
  // Leader-only (see log::Projector::expand): appends the events req implies given
  // committed state plus the group's earlier requests (a delete's relationship
  // removals, a version store's prune). Default: none.
  virtual Status expand(log::AppendRequest& req) {
    (void)req;
    return Status();
  }
  // Leader-only (see log::Projector::stage): checks the request's preconditions
  // that this projection owns against committed state plus the group's earlier
  // requests, then adds its rows to *batch. On error it leaves no trace in its own
  // overlay (the log rolls the batch back).
  virtual Status stage(log::AppendRequest& req, Seq first_seq, rocksdb::WriteBatch* batch) = 0;
  // The group's batch was written (committed = true) or failed.
  virtual void finish_group(bool committed) = 0;
  // Catch-up and rebuild: the rows of one event already in the log, with no
  // preconditions. Events arrive in seq order, batched (several may share *batch).
  virtual Status apply(const log::Event& e, rocksdb::WriteBatch* batch) = 0;
  // Bulk-loadable projections only (bulk_loadable() true): the rows of
  // apply(e, batch), written to `rows`; a rebuild passes a BulkLoader, which sorts
  // them and ingests them as files. Such a projection's apply() never reads the
  // store (its rows follow from the events alone, a later row of a key replacing
  // an earlier one) and must not keep state between calls, as events may be
  // applied on another thread than the one reading the log. A projection whose
  // apply() reads rows an earlier batch wrote (whether an edge exists, a label's
  // current version) is not bulk-loadable.
  virtual bool bulk_loadable() const { return false; }
  // Whether apply() / apply_rows() read an event's payload (the document). A
  // rebuild reads the log without payloads when no projection does (the reading
  // thread is its bound; a document copy per event was part of it).
  virtual bool reads_payloads() const { return true; }
  virtual Status apply_rows(const log::Event& e, RowSink& rows) {
    (void)e, (void)rows;
    return Status::internal("projection '" + std::string(name()) + "' is not bulk-loadable");
  }
  // Rebuild: deletes every row of the projection into *batch (its checkpoint is
  // the registry's).
  virtual void clear(rocksdb::WriteBatch* batch) = 0;
  // At open, once caught up: checks the rows that `newest` — the log's newest
  // events, oldest first, ending at the head — determine exactly. kCorruption
  // saying what disagrees makes the registry rebuild the projection from the log.
  // Default: nothing is checked.
  virtual Status verify(const std::vector<log::Event>& newest) const {
    (void)newest;
    return Status();
  }
  // Rebuild: this instance replaces `previous` (the same class, the live
  // generation): take over its runtime configuration (limits). Default: none.
  virtual void inherit(const DurableProjection& previous) { (void)previous; }
};

// [Threading] staging() runs on the group leader, one group at a time, in seq
// order; every other method may run concurrently with it.
class View {
 public:
  virtual ~View() = default;
  virtual std::string_view name() const = 0;
  // Leader-only, after the durable projections accepted the request and before
  // its batch is visible: drop or mark what its events (seq first_seq + i) make
  // stale, so no reader can see the view older than the log it read.
  virtual void staging(const log::AppendRequest& req, Seq first_seq) = 0;
  // Leader-only: the group whose requests were staged was written (committed) or
  // failed; still before the batch is visible to readers of the log.
  virtual void finish_group(bool committed) { (void)committed; }
  // At open, once the durable projections have caught up with the log: fill what
  // must be there before the store serves requests (the policy cache's unexpired
  // decisions). Default: nothing.
  virtual Status load(const log::EventLog& log) {
    (void)log;
    return Status();
  }
};

}  // namespace omni::projections
