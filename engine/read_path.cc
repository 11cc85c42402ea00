#include "read_path.h"

#include <fnmatch.h>

#include "validation.h"

namespace omni::detail {

Result<std::optional<Json>> ReadPath::read_state(std::string_view key, Seq snapshot, Seq* version) {
  Result<std::optional<projections::StateEntry>> st = set_->state().get(key);
  if (!st.ok()) return health_.note(st.status());
  if (!st->has_value()) {
    view_.fill(key, {snapshot, nullptr}, snapshot);
    return std::optional<Json>();
  }
  *version = (*st)->version;
  Json j = Json::parse((*st)->payload, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return health_.note(Status::corruption("stored document of key '" + printable_key(key) +
                                           "' (version " + std::to_string(*version) +
                                           ") is not valid JSON"));
  }
  return std::optional<Json>(std::move(j));
}

Result<std::shared_ptr<const Json>> ReadPath::load(std::string_view key) {
  using R = Result<std::shared_ptr<const Json>>;
  // Only valid keys enter the view, so a hit needs no validation.
  if (auto e = view_.get(key)) return R(std::move(e->doc));
  OMNI_RETURN_IF_ERROR(validate_key(key));
  // The head before the read: the view refuses this fill if a newer write to the
  // key's bucket has been invalidated or evicted since (see LruView::fill).
  const Seq snapshot = log_->head_seq();
  Seq version = 0;
  OMNI_ASSIGN_OR_RETURN(std::optional<Json> j, read_state(key, snapshot, &version));
  if (!j) return R(nullptr);
  auto doc = std::make_shared<const Json>(std::move(*j));
  view_.fill(key, {version, doc}, snapshot);
  return R(std::move(doc));
}

Result<std::optional<Json>> ReadPath::load_copy(std::string_view key) {
  if (auto e = view_.get(key)) return e->doc ? std::optional<Json>(*e->doc) : std::nullopt;
  OMNI_RETURN_IF_ERROR(validate_key(key));
  const Seq snapshot = log_->head_seq();
  Seq version = 0;
  OMNI_ASSIGN_OR_RETURN(std::optional<Json> j, read_state(key, snapshot, &version));
  // The view gets the copy and the caller the parsed document; without a view
  // nothing is copied (a document copy measured 8 % of a cache-miss load_data).
  if (j && view_.capacity() > 0) view_.fill(key, {version, std::make_shared<const Json>(*j)}, snapshot);
  return j;
}

Result<Seq> ReadPath::version(std::string_view key) {
  OMNI_RETURN_IF_ERROR(validate_key(key));
  auto st = set_->state().get(key);
  if (!st.ok()) return health_.note(st.status());
  return st->has_value() ? (*st)->version : Seq{0};
}

Status ReadPath::preload(const std::vector<std::string>& patterns) {
  const Seq head = log_->head_seq();
  for (const std::string& pattern : patterns) {
    // Scan only the literal prefix before the first glob metacharacter.
    const std::string prefix = pattern.substr(0, pattern.find_first_of("*?[\\"));
    Status failed;
    Status s = set_->state().for_each(prefix, [&](std::string_view key, const projections::StateEntry& e) {
      if (view_.size() >= view_.capacity()) return false;
      const std::string k(key);
      if (fnmatch(pattern.c_str(), k.c_str(), 0) != 0) return true;
      Json j = Json::parse(e.payload, nullptr, false);
      if (j.is_discarded()) {
        failed = Status::corruption("stored document of key '" + printable_key(key) +
                                    "' is not valid JSON");
        return false;
      }
      view_.fill(key, {e.version, std::make_shared<const Json>(std::move(j))}, head);
      return true;
    });
    OMNI_RETURN_IF_ERROR(health_.note(s));
    OMNI_RETURN_IF_ERROR(health_.note(failed));
  }
  return Status();
}

Status ReadPath::put(std::string_view key, Json doc, std::size_t max_value_bytes) {
  OMNI_RETURN_IF_ERROR(validate_key(key));
  std::string compact;
  OMNI_RETURN_IF_ERROR(encode_document(key, doc, max_value_bytes, &compact));
  // Tagged with the head read now: a write of the key committing concurrently (its
  // seq is past this head) wins, as if this put came just before it.
  const Seq head = log_->head_seq();
  view_.put(key, {head, std::make_shared<const Json>(std::move(doc))}, head);
  return Status();
}

}  // namespace omni::detail
