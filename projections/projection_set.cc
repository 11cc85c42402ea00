#include "omni/projections/projection_set.h"

namespace omni::projections {

std::vector<std::string> column_families() {
  return {std::string(kStateCf), std::string(kKeyIndexCf)};
}

Status ProjectionSet::stage(log::AppendRequest& req, Seq first_seq, rocksdb::WriteBatch* batch) {
  // State first: it is the one that can refuse (expected version).
  OMNI_RETURN_IF_ERROR(state_.stage(req, first_seq, batch));
  OMNI_RETURN_IF_ERROR(audit_.stage(req, first_seq, batch));
  if (view_) {
    for (std::size_t i = 0; i < req.events.size(); ++i) {
      view_->invalidate(req.events[i].key, first_seq + i);
    }
  }
  return Status();
}

void ProjectionSet::finish_group(bool) {
  state_.finish_group();
  audit_.finish_group();
}

}  // namespace omni::projections
