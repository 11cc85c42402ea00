// The projections the log maintains with every group: the durable state and audit
// index (rows in the group's WriteBatch), and the LRU view, whose entries for the
// group's keys are invalidated before the batch becomes visible.
#pragma once

#include <vector>

#include "omni/log/event_log.h"
#include "omni/projections/audit_index.h"
#include "omni/projections/lru_view.h"
#include "omni/projections/state.h"

namespace omni::projections {

// Column families the log must open for these projections.
std::vector<std::string> column_families();

class ProjectionSet final : public log::Projector {
 public:
  // `view` may be null; it must outlive this object.
  ProjectionSet(const log::EventLog& log, LruView* view) : state_(log), audit_(log), view_(view) {}

  Status stage(log::AppendRequest& req, Seq first_seq, rocksdb::WriteBatch* batch) override;
  void finish_group(bool committed) override;

  StateProjection& state() { return state_; }
  AuditIndex& audit() { return audit_; }

 private:
  StateProjection state_;
  AuditIndex audit_;
  LruView* view_;
};

}  // namespace omni::projections
