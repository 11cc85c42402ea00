// Versions: labelled snapshots of a key (store_version and its reads) and
// storage->versioning(). The index is projections::VersionIndex; the limit, the
// cleanup pass and its timer are the VersionKeeper's.
#include "storage_impl.h"
#include "validation.h"
#include "version_keeper.h"

namespace omni {

using detail::Op;
using detail::OpScope;

namespace {

std::string what(std::string_view key, Seq seq) {
  return "version of key '" + detail::printable_key(key) + "' at seq " + std::to_string(seq);
}

// The VersionStored event a row points at. Anything else there is damage.
Result<log::Event> version_event(detail::StorageImpl& impl, std::string_view key, Seq seq) {
  Result<log::Event> ev = impl.log().read(seq);
  if (!ev.ok()) {
    // The index vouched for this seq: a missing event is damage, not "not found".
    const StatusCode code =
        ev.status().code() == StatusCode::kNotFound ? StatusCode::kCorruption : ev.status().code();
    return impl.health().note(Status(code, what(key, seq) + ": " + ev.status().message()));
  }
  if (ev->type != log::EventType::VersionStored || ev->key != key) {
    return impl.health().note(
        Status::corruption(what(key, seq) + ": the event there is not a version of that key"));
  }
  return ev;
}

Result<std::optional<Json>> document_at(detail::StorageImpl& impl, std::string_view key, Seq seq) {
  OMNI_ASSIGN_OR_RETURN(log::Event ev, version_event(impl, key, seq));
  Json doc = Json::parse(ev.payload, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return impl.health().note(Status::corruption(what(key, seq) + ": the document is not valid JSON"));
  }
  return std::optional<Json>(std::move(doc));
}

Result<Seq> store(detail::StorageImpl& impl, std::string_view key, std::string_view label, const Json& doc,
                  const VersionWriteOptions& vo) {
  OMNI_RETURN_IF_ERROR(detail::validate_key(key));
  OMNI_RETURN_IF_ERROR(detail::validate_label(label));
  log::EventDraft d;
  d.type = log::EventType::VersionStored;
  d.key = key;
  d.attrs.label = label;
  OMNI_RETURN_IF_ERROR(detail::encode_document(key, doc, impl.options().max_value_bytes, &d.payload));
  std::vector<log::EventDraft> drafts;
  drafts.push_back(std::move(d));
  projections::WriteContext ctx;
  ctx.overwrite_versions = vo.overwrite;
  WriteOptions wo;
  wo.identity = vo.identity;  // validated by append
  wo.sync = vo.sync;
  // The index checks the label and appends the prune the limit implies.
  OMNI_ASSIGN_OR_RETURN(detail::AppendResult r, impl.writes().append(std::move(drafts), std::move(ctx), wo,
                                                                    /*listen=*/false, {&doc}));
  return impl.writes().settle(r, r.first_seq);
}

Result<std::vector<VersionInfo>> list(detail::StorageImpl& impl, std::string_view key) {
  OMNI_RETURN_IF_ERROR(detail::validate_key(key));
  Result<std::vector<projections::VersionRow>> rows = impl.versions().list(key);
  if (!rows.ok()) return impl.health().note(rows.status());
  std::vector<VersionInfo> out;
  out.reserve(rows->size());
  for (projections::VersionRow& row : *rows) {
    OMNI_ASSIGN_OR_RETURN(log::Event ev, version_event(impl, key, row.seq));
    out.push_back({std::move(row.label), row.seq,
                   std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
                       std::chrono::nanoseconds(ev.timestamp_ns)))});
  }
  return out;
}

Result<std::optional<Json>> load_newest(detail::StorageImpl& impl, std::string_view key) {
  OMNI_RETURN_IF_ERROR(detail::validate_key(key));
  Result<std::optional<projections::VersionRow>> row = impl.versions().newest(key);
  if (!row.ok()) return impl.health().note(row.status());
  if (!*row) return std::optional<Json>();
  return document_at(impl, key, (*row)->seq);
}

Result<std::optional<Json>> load_label(detail::StorageImpl& impl, std::string_view key, std::string_view label) {
  OMNI_RETURN_IF_ERROR(detail::validate_key(key));
  OMNI_RETURN_IF_ERROR(detail::validate_label(label));
  Result<std::optional<Seq>> seq = impl.versions().find(key, label);
  if (!seq.ok()) return impl.health().note(seq.status());
  if (!*seq) return std::optional<Json>();
  return document_at(impl, key, **seq);
}

}  // namespace

Result<Seq> Storage::store_version(std::string_view key, std::string_view label, const Json& doc,
                                   const VersionWriteOptions& vo) {
  OpScope op(*impl_, Op::kStoreVersion, key);
  if (!op.admitted()) return detail::closed_status();
  return op.finish(store(*impl_, key, label, doc, vo));
}

Result<std::vector<VersionInfo>> Storage::list_versions(std::string_view key) {
  OpScope op(*impl_, Op::kLoadVersion, key);
  if (!op.admitted()) return detail::closed_status();
  return op.finish(list(*impl_, key));
}

Result<std::optional<Json>> Storage::load_version(std::string_view key) {
  OpScope op(*impl_, Op::kLoadVersion, key);
  if (!op.admitted()) return detail::closed_status();
  return op.finish(load_newest(*impl_, key));
}

Result<std::optional<Json>> Storage::load_version(std::string_view key, std::string_view label) {
  OpScope op(*impl_, Op::kLoadVersion, key);
  if (!op.admitted()) return detail::closed_status();
  return op.finish(load_label(*impl_, key, label));
}

Status Versioning::configure(const VersioningConfig& config) {
  OpScope op(impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  return impl_.version_keeper().configure(config);
}

VersioningConfig Versioning::config() const { return impl_.version_keeper().config(); }

Status Versioning::cleanup() {
  OpScope op(impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  return impl_.version_keeper().cleanup();
}

}  // namespace omni
