// Placeholder: versions are being implemented (issue 7).
#include "storage_impl.h"

namespace omni {
namespace {
Status todo() { return Status::internal("versions are not implemented yet"); }
}  // namespace

Result<Seq> Storage::store_version(std::string_view, std::string_view, const Json&,
                                   const VersionWriteOptions&) {
  return todo();
}
Result<std::vector<VersionInfo>> Storage::list_versions(std::string_view) { return todo(); }
Result<std::optional<Json>> Storage::load_version(std::string_view) { return todo(); }
Result<std::optional<Json>> Storage::load_version(std::string_view, std::string_view) { return todo(); }
Status Versioning::configure(const VersioningConfig&) { return todo(); }
VersioningConfig Versioning::config() const { return {}; }
Status Versioning::cleanup() { return todo(); }

}  // namespace omni
