// omni::Storage relationships: store_relationship / remove_relationship write
// through WritePath::append like every other write; the queries read the
// relationship index (projections/relationships.h). The cascade of delete_data
// is the index's expand(): nothing here.
#include "as_of.h"
#include "storage_impl.h"
#include "validation.h"

namespace omni {
namespace {

Status validate_edge(std::string_view subject, std::string_view predicate, std::string_view object) {
  if (Status s = detail::validate_key(subject); !s.ok()) {
    return Status::invalid_argument("relationship subject: " + s.message());
  }
  OMNI_RETURN_IF_ERROR(detail::validate_predicate(predicate));
  if (Status s = detail::validate_key(object); !s.ok()) {
    return Status::invalid_argument("relationship object: " + s.message());
  }
  return Status();
}

Result<Seq> write_edge(detail::StorageImpl& impl, log::EventType type, std::string_view subject,
                       std::string_view predicate, std::string_view object, const WriteOptions& wo) {
  OMNI_RETURN_IF_ERROR(validate_edge(subject, predicate, object));
  if (wo.expected_version) {
    return Status::invalid_argument("expected_version does not apply to relationships (edge of '" +
                                    detail::printable_key(subject) + "')");
  }
  std::vector<log::EventDraft> drafts(1);
  drafts[0].type = type;
  drafts[0].key = subject;
  drafts[0].attrs.predicate = predicate;
  drafts[0].attrs.object = object;
  detail::WritePath& writes = impl.writes();
  detail::Notifier& notifier = writes.notifier();
  // Decided before the write, as write_data does: a callback sees the writes that
  // start after it was added.
  const bool want = notifier.wants_relationship_changes();
  OMNI_ASSIGN_OR_RETURN(detail::AppendResult r,
                        writes.append(std::move(drafts), {}, wo, want && writes.wants_slot()));
  if (want || r.listened) notifier.publish(r.first_seq, r.listened, {}, writes.edge_changes(r));
  return writes.settle(r, r.first_seq);
}

projections::Page page_of(const ListOptions& lo) { return {lo.limit, lo.start_after}; }

}  // namespace

Result<Seq> Storage::store_relationship(std::string_view subject, std::string_view predicate,
                                        std::string_view object, const WriteOptions& wo) {
  detail::OpScope op(*impl_, detail::Op::kStoreRelationship, subject);
  if (!op.admitted()) return detail::closed_status();
  return op.finish(write_edge(*impl_, log::EventType::RelationshipAdded, subject, predicate, object, wo));
}

Result<Seq> Storage::remove_relationship(std::string_view subject, std::string_view predicate,
                                         std::string_view object, const WriteOptions& wo) {
  detail::OpScope op(*impl_, detail::Op::kRemoveRelationship, subject);
  if (!op.admitted()) return detail::closed_status();
  return op.finish(write_edge(*impl_, log::EventType::RelationshipRemoved, subject, predicate, object, wo));
}

Result<std::vector<std::string>> Storage::get_related(std::string_view subject, std::string_view predicate,
                                                      const ListOptions& lo) {
  detail::OpScope op(*impl_, detail::Op::kGetRelated, subject);
  if (!op.admitted()) return detail::closed_status();
  auto run = [&]() -> Result<std::vector<std::string>> {
    OMNI_RETURN_IF_ERROR(detail::validate_key(subject));
    OMNI_RETURN_IF_ERROR(detail::validate_predicate(predicate));
    return impl_->relationships().objects(subject, predicate, page_of(lo));
  };
  return op.finish(run());
}

Result<std::vector<std::string>> Storage::get_related(std::string_view subject, std::string_view predicate,
                                                      const ReadOptions& ro, const ListOptions& lo) {
  if (!ro.as_of) return get_related(subject, predicate, lo);
  detail::OpScope op(*impl_, detail::Op::kGetRelated, subject);
  if (!op.admitted()) return detail::closed_status();
  auto run = [&]() -> Result<std::vector<std::string>> {
    OMNI_RETURN_IF_ERROR(detail::validate_key(subject));
    OMNI_RETURN_IF_ERROR(detail::validate_predicate(predicate));
    detail::AsOf as_of(impl_->log(), impl_->projections().audit());
    return as_of.related(subject, predicate, *ro.as_of, lo);
  };
  return op.finish(run());
}

Result<std::vector<std::string>> Storage::get_related_reverse(std::string_view object,
                                                              std::string_view predicate,
                                                              const ListOptions& lo) {
  detail::OpScope op(*impl_, detail::Op::kGetRelated, object);
  if (!op.admitted()) return detail::closed_status();
  auto run = [&]() -> Result<std::vector<std::string>> {
    OMNI_RETURN_IF_ERROR(detail::validate_key(object));
    OMNI_RETURN_IF_ERROR(detail::validate_predicate(predicate));
    return impl_->relationships().subjects(object, predicate, page_of(lo));
  };
  return op.finish(run());
}

Result<std::vector<Relationship>> Storage::get_relationships(std::string_view key, const ListOptions& lo) {
  detail::OpScope op(*impl_, detail::Op::kGetRelated, key);
  if (!op.admitted()) return detail::closed_status();
  auto run = [&]() -> Result<std::vector<Relationship>> {
    OMNI_RETURN_IF_ERROR(detail::validate_key(key));
    OMNI_ASSIGN_OR_RETURN(std::vector<projections::Edge> edges,
                          impl_->relationships().edges(key, page_of(lo)));
    std::vector<Relationship> out;
    out.reserve(edges.size());
    for (projections::Edge& e : edges) {
      out.push_back({std::move(e.subject), std::move(e.predicate), std::move(e.object), e.seq});
    }
    return out;
  };
  return op.finish(run());
}

std::string relationship_cursor(const Relationship& r) {
  return projections::RelationshipIndex::cursor(r.subject, r.predicate, r.object);
}

}  // namespace omni
