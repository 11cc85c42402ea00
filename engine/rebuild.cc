// Placeholder: rebuild_projections is being implemented (issue 7).
#include "storage_impl.h"

namespace omni {

Status Storage::rebuild_projections(const RebuildOptions&) {
  return Status::internal("rebuild_projections is not implemented yet");
}

}  // namespace omni
