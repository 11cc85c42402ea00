// Placeholder: as-of reads are being implemented (issue 7).
#include "storage_impl.h"

namespace omni {

Result<std::optional<Json>> Storage::load_data(std::string_view, const ReadOptions&) {
  return Status::internal("as-of reads are not implemented yet");
}

}  // namespace omni
