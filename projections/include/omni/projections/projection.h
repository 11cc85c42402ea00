// DurableProjection: what a projection kept in RocksDB implements to be part of
// the registry (ProjectionSet). Relationships, versions and the policy cache are
// added as new classes behind this interface, not as edits to the write path.
#pragma once

#include <rocksdb/write_batch.h>

#include <string_view>

#include "omni/log/event.h"
#include "omni/log/event_log.h"

namespace omni::projections {

class DurableProjection {
 public:
  virtual ~DurableProjection() = default;
  // Unique and stable across versions: it names the projection's checkpoint row.
  virtual std::string_view name() const = 0;
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
};

}  // namespace omni::projections
