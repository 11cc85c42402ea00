// Placeholder: relationships are being implemented (issue 7).
#include "storage_impl.h"

namespace omni {
namespace {
Status todo() { return Status::internal("relationships are not implemented yet"); }
}  // namespace

Result<Seq> Storage::store_relationship(std::string_view, std::string_view, std::string_view,
                                        const WriteOptions&) {
  return todo();
}
Result<Seq> Storage::remove_relationship(std::string_view, std::string_view, std::string_view,
                                         const WriteOptions&) {
  return todo();
}
Result<std::vector<std::string>> Storage::get_related(std::string_view, std::string_view,
                                                      const ListOptions&) {
  return todo();
}
Result<std::vector<std::string>> Storage::get_related(std::string_view, std::string_view,
                                                      const ReadOptions&, const ListOptions&) {
  return todo();
}
Result<std::vector<std::string>> Storage::get_related_reverse(std::string_view, std::string_view,
                                                              const ListOptions&) {
  return todo();
}
Result<std::vector<Relationship>> Storage::get_relationships(std::string_view, const ListOptions&) {
  return todo();
}
std::string relationship_cursor(const Relationship& r) {
  return projections::RelationshipIndex::cursor(r.subject, r.predicate, r.object);
}

}  // namespace omni
