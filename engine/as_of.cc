#include "as_of.h"

#include <algorithm>
#include <set>

#include "storage_impl.h"
#include "validation.h"

namespace omni {
namespace detail {

Status AsOf::check(Seq seq) const {
  const Seq head = log_.head_seq();
  if (seq > head) {
    return Status::invalid_argument("as_of seq " + std::to_string(seq) + " is past the head (seq " +
                                    std::to_string(head) + ")");
  }
  return Status();
}

Status AsOf::pruned(std::string_view key, Seq through, Seq seq) const {
  return Status::not_found("audit retention no longer keeps the history of key '" + printable_key(key) +
                           "' up to seq " + std::to_string(through) + ", which a read as of seq " +
                           std::to_string(seq) + " needs");
}

Result<std::optional<Json>> AsOf::document(std::string_view key, Seq seq) const {
  OMNI_RETURN_IF_ERROR(check(seq));
  OMNI_ASSIGN_OR_RETURN(const std::vector<Seq> seqs, index_.seqs(key));
  // Newest first from seq down: the first data event of the key decides.
  for (auto it = std::upper_bound(seqs.begin(), seqs.end(), seq); it != seqs.begin();) {
    --it;
    OMNI_ASSIGN_OR_RETURN(log::Event e, log_.read(*it));
    if (e.key != key) continue;  // a relationship naming the key as its object
    if (e.type == log::EventType::DataDeleted) return std::optional<Json>();
    if (e.type != log::EventType::DataStored) continue;
    Json doc = Json::parse(e.payload, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
      return Status::corruption("event seq " + std::to_string(e.seq) + " of key '" + printable_key(key) +
                                "': the document is not valid JSON");
    }
    return std::optional<Json>(std::move(doc));
  }
  OMNI_ASSIGN_OR_RETURN(const Seq through, index_.pruned_through(key));
  if (through > 0) return pruned(key, through, seq);
  return std::optional<Json>();
}

Result<std::vector<std::string>> AsOf::related(std::string_view subject, std::string_view predicate,
                                               Seq seq, const ListOptions& lo) const {
  OMNI_RETURN_IF_ERROR(check(seq));
  OMNI_ASSIGN_OR_RETURN(const Seq through, index_.pruned_through(subject));
  if (through > 0) return pruned(subject, through, seq);
  OMNI_ASSIGN_OR_RETURN(const std::vector<Seq> seqs, index_.seqs(subject));
  std::set<std::string, std::less<>> objects;
  for (Seq s : seqs) {
    if (s > seq) break;
    OMNI_ASSIGN_OR_RETURN(log::Event e, log_.read(s));
    if (e.key != subject || e.attrs.predicate != predicate) continue;
    if (e.type == log::EventType::RelationshipAdded) {
      objects.insert(std::move(e.attrs.object));
    } else if (e.type == log::EventType::RelationshipRemoved) {
      objects.erase(e.attrs.object);
    }
  }
  std::vector<std::string> out;
  auto it = lo.start_after ? objects.upper_bound(*lo.start_after) : objects.begin();
  for (; it != objects.end() && (lo.limit == 0 || out.size() < lo.limit); ++it) out.push_back(*it);
  return out;
}

}  // namespace detail

Result<std::optional<Json>> Storage::load_data(std::string_view key, const ReadOptions& ro) {
  if (!ro.as_of) return load_data(key);
  detail::OpScope op(*impl_, detail::Op::kLoadData, key);
  if (!op.admitted()) return detail::closed_status();
  if (Status s = detail::validate_key(key); !s.ok()) return op.finish(Result<std::optional<Json>>(s));
  detail::AsOf as_of(impl_->log(), impl_->projections().audit());
  return op.finish(as_of.document(key, *ro.as_of));
}

}  // namespace omni
