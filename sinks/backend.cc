#include "omni/backend.h"

namespace omni {

std::string_view change_type_name(ChangeType t) {
  switch (t) {
    case ChangeType::kStore: return "store";
    case ChangeType::kDelete: return "delete";
    case ChangeType::kRelationshipAdded: return "relationship_added";
    case ChangeType::kRelationshipRemoved: return "relationship_removed";
    case ChangeType::kVersionStored: return "version_stored";
    case ChangeType::kVersionsPruned: return "versions_pruned";
    case ChangeType::kPolicyDecided: return "policy_decided";
  }
  return "unknown";
}

Result<Json> Change::document() const {
  Json doc = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Status::corruption("the document of seq " + std::to_string(seq) + " is not valid JSON");
  }
  return doc;
}

Status Backend::apply(const ChangeBatch& batch) {
  for (const Change& c : batch.changes) {
    if (c.type == ChangeType::kStore) {
      OMNI_ASSIGN_OR_RETURN(Json doc, c.document());
      OMNI_RETURN_IF_ERROR(store_data(c.key, doc, c.seq));
    } else if (c.type == ChangeType::kDelete) {
      OMNI_RETURN_IF_ERROR(delete_data(c.key, c.seq));
    }
  }
  return Status();
}

}  // namespace omni
