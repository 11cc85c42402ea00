// The durable projections the log writes with every group: state and audit index.
#pragma once

#include <vector>

#include "omni/log/event_log.h"
#include "omni/projections/audit_index.h"
#include "omni/projections/state.h"

namespace omni::projections {

// Column families the log must open for these projections.
std::vector<std::string> column_families();

class ProjectionSet final : public log::Projector {
 public:
  explicit ProjectionSet(const log::EventLog& log) : state_(log), audit_(log) {}

  Status stage(log::AppendRequest& req, Seq first_seq, rocksdb::WriteBatch* batch) override;
  void finish_group(bool committed) override;

  StateProjection& state() { return state_; }
  AuditIndex& audit() { return audit_; }

 private:
  StateProjection state_;
  AuditIndex audit_;
};

}  // namespace omni::projections
