// Placeholder: the version index is being implemented (issue 7).
#include "omni/projections/versions.h"

namespace omni::projections {

VersionIndex::VersionIndex(const log::EventLog& log) : log_(log), cf_(log.column_family(kVersionsCf)) {}
Result<std::vector<VersionRow>> VersionIndex::list(std::string_view) const {
  return Status::internal("versions are not implemented yet");
}
Result<std::optional<Seq>> VersionIndex::find(std::string_view, std::string_view) const {
  return Status::internal("versions are not implemented yet");
}
Result<std::optional<VersionRow>> VersionIndex::newest(std::string_view) const {
  return Status::internal("versions are not implemented yet");
}
Status VersionIndex::over_limit(const std::function<bool(std::string_view, std::vector<std::string>)>&) const {
  return Status();
}
Status VersionIndex::expand(log::AppendRequest&) { return Status(); }
Status VersionIndex::stage(log::AppendRequest&, Seq, rocksdb::WriteBatch*) { return Status(); }
void VersionIndex::finish_group(bool) { overlay_.clear(); }
Status VersionIndex::apply(const log::Event&, rocksdb::WriteBatch*) { return Status(); }
void VersionIndex::clear(rocksdb::WriteBatch*) {}
Status VersionIndex::verify(const std::vector<log::Event>&) const { return Status(); }

}  // namespace omni::projections
