// Placeholder: the policy index is being implemented (issue 7).
#include "omni/projections/policy_index.h"

namespace omni::projections {

std::vector<std::string_view> invalidated_names(const log::EventDraft&) { return {}; }
PolicyIndex::PolicyIndex(const log::EventLog& log) : log_(log), cf_(log.column_family(kPolicyCf)) {}
Status PolicyIndex::for_each(const std::function<bool(const Decision&)>&) const { return Status(); }
Result<std::optional<Decision>> PolicyIndex::get(std::string_view, std::string_view, std::string_view) const {
  return std::optional<Decision>();
}
Status PolicyIndex::stage(log::AppendRequest&, Seq, rocksdb::WriteBatch*) { return Status(); }
void PolicyIndex::finish_group(bool) { overlay_.clear(); }
Status PolicyIndex::apply(const log::Event&, rocksdb::WriteBatch*) { return Status(); }
void PolicyIndex::clear(rocksdb::WriteBatch*) {}

}  // namespace omni::projections
