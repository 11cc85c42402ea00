// rebuild_projections(): every durable projection rebuilt from the log into a new
// generation of column families while the store serves (ProjectionSet::rebuild).
#include "storage_impl.h"

namespace omni {

Status Storage::rebuild_projections(const RebuildOptions& options) {
  detail::OpScope op(*impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  projections::ProjectionSet::Progress progress;
  if (options.progress) {
    progress = [&](Seq applied, Seq target, bool swapped) {
      try {
        options.progress(RebuildProgress{applied, target, swapped});
      } catch (...) {
        impl_->logger().warn("a rebuild_projections progress callback threw; ignored");
      }
    };
  }
  Status s = impl_->projections().rebuild(progress);
  if (!s.ok() && s.code() != StatusCode::kConflict) impl_->logger().error("rebuild_projections: {}", s.to_string());
  if (s.ok()) impl_->logger().info("rebuild_projections: now on generation '{}'", impl_->projections().suffix());
  return op.finish(s);
}

}  // namespace omni
