// Placeholder: the relationship index is being implemented (issue 7).
#include "omni/projections/relationships.h"

namespace omni::projections {

RelationshipIndex::RelationshipIndex(const log::EventLog& log)
    : log_(log), fwd_(log.column_family(kRelFwdCf)), rev_(log.column_family(kRelRevCf)) {}
Result<std::vector<std::string>> RelationshipIndex::objects(std::string_view, std::string_view,
                                                            const Page&) const {
  return Status::internal("relationships are not implemented yet");
}
Result<std::vector<std::string>> RelationshipIndex::subjects(std::string_view, std::string_view,
                                                             const Page&) const {
  return Status::internal("relationships are not implemented yet");
}
Result<std::vector<Edge>> RelationshipIndex::edges(std::string_view, const Page&) const {
  return Status::internal("relationships are not implemented yet");
}
std::string RelationshipIndex::cursor(std::string_view s, std::string_view p, std::string_view o) {
  return std::string(s) + '\0' + std::string(p) + '\0' + std::string(o);
}
Status RelationshipIndex::expand(log::AppendRequest&) { return Status(); }
Status RelationshipIndex::stage(log::AppendRequest&, Seq, rocksdb::WriteBatch*) { return Status(); }
void RelationshipIndex::finish_group(bool) { overlay_.clear(); }
Status RelationshipIndex::apply(const log::Event&, rocksdb::WriteBatch*) { return Status(); }
void RelationshipIndex::clear(rocksdb::WriteBatch*) {}
Status RelationshipIndex::verify(const std::vector<log::Event>&) const { return Status(); }

}  // namespace omni::projections
