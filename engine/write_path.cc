#include "write_path.h"

#include <algorithm>
#include <unordered_set>

#include "validation.h"

namespace omni::detail {

WritePath::WritePath(const Options& options, log::EventLog& log, ReadPath& reads, Notifier& notifier,
                     AuditTrail& audit, HealthRecord& health, std::shared_ptr<spdlog::logger> logger)
    : options_(options),
      log_(log),
      reads_(reads),
      notifier_(notifier),
      audit_(audit),
      health_(health),
      logger_(std::move(logger)) {}

Result<AppendResult> WritePath::append(std::vector<log::EventDraft> drafts,
                                       projections::WriteContext ctx, const WriteOptions& wo,
                                       bool listen, const std::vector<const Json*>& docs) {
  if (!wo.identity.empty()) OMNI_RETURN_IF_ERROR(validate_identity(wo.identity));
  WriteTicket ticket;
  if (backends_ && !backends_->empty()) {
    OMNI_ASSIGN_OR_RETURN(ticket, backends_->admit(drafts, docs));
  }
  log::AppendRequest req;
  req.events = std::move(drafts);
  req.identity = wo.identity.empty() ? options_.default_identity : wo.identity;
  req.sync = wo.sync.value_or(options_.sync);
  req.listen = listen;
  req.context = &ctx;
  Status s = log_.append(&req);
  if (!s.ok()) {
    if (s.code() == StatusCode::kIOError || s.code() == StatusCode::kCorruption) {
      logger_->error("write failed: {}", s.to_string());
    }
    return s;
  }
  AppendResult r;
  r.first_seq = req.first_seq;
  r.last_seq = req.first_seq + req.events.size() - 1;  // with what the projections appended
  r.timestamp_ns = req.timestamp_ns;
  r.identity = std::move(req.identity);
  r.prior = std::move(ctx.prior);
  r.events = std::move(req.events);
  r.listened = listen;
  r.ticket = std::move(ticket);
  audit_.after_write();
  return r;
}

Result<Seq> WritePath::settle(const AppendResult& r, Seq result) {
  if (r.ticket.wait == WriteTicket::Wait::kNone) return result;
  OMNI_RETURN_IF_ERROR(backends_->settle(r.ticket, r.last_seq));
  return result;
}

Result<Seq> WritePath::write_data(std::vector<Write>& writes, const WriteOptions& wo) {
  std::vector<log::EventDraft> drafts;
  drafts.reserve(writes.size());
  std::vector<const Json*> docs;
  if (backends_ && !backends_->empty()) {
    docs.reserve(writes.size());
    for (const Write& w : writes) docs.push_back(w.doc);
  }
  projections::WriteContext ctx;
  const bool want_changes = notifier_.wants_changes();
  const bool deletes = std::any_of(writes.begin(), writes.end(), [](const Write& w) { return !w.doc; });
  // A delete may remove relationships (appended by the projections).
  const bool want_edges = deletes && notifier_.wants_relationship_changes();
  ctx.want_prior = want_changes;
  for (std::size_t i = 0; i < writes.size(); ++i) {
    const Write& w = writes[i];
    OMNI_RETURN_IF_ERROR(validate_key(w.key));
    log::EventDraft d;
    d.type = w.doc ? log::EventType::DataStored : log::EventType::DataDeleted;
    if (w.doc) OMNI_RETURN_IF_ERROR(encode_document(w.key, *w.doc, options_.max_value_bytes, &d.payload));
    d.key = w.key;
    if (w.expected_version) {
      ctx.expected_versions.resize(writes.size());
      ctx.expected_versions[i] = w.expected_version;
    }
    drafts.push_back(std::move(d));
  }
  // An ordered slot only when async callbacks will need commit order.
  OMNI_ASSIGN_OR_RETURN(AppendResult r, append(std::move(drafts), std::move(ctx), wo,
                                               (want_changes || want_edges) && wants_slot(), docs));
  if (r.ticket.fill_view) fill_view(writes, r);
  if (want_changes || want_edges) {
    std::vector<DataChanged> data;
    if (want_changes) data = changes(writes, r);
    notifier_.publish(r.first_seq, r.listened, std::move(data), edge_changes(r, writes.size()));
  }
  // The last data write's seq: a delete's appended removals come after it.
  return settle(r, r.first_seq + writes.size() - 1);
}

std::vector<RelationshipChanged> WritePath::edge_changes(const AppendResult& r, std::size_t from) const {
  std::vector<RelationshipChanged> out;
  if (!notifier_.wants_relationship_changes()) return out;
  for (std::size_t i = from; i < r.events.size(); ++i) {
    const log::EventDraft& d = r.events[i];
    const bool added = d.type == log::EventType::RelationshipAdded;
    if (!added && d.type != log::EventType::RelationshipRemoved) continue;
    out.push_back({d.key, d.attrs.predicate, d.attrs.object, added ? "added" : "removed",
                   r.first_seq + i, r.identity});
  }
  return out;
}

void WritePath::fill_view(const std::vector<Write>& writes, const AppendResult& r) {
  // The leader invalidated these keys before the write became visible; fill()
  // refuses our value if a newer write of the key's bucket happened since. The
  // request's own last seq is the snapshot: the request's later keys bumped their
  // buckets' watermarks, and must not refuse its earlier ones. Only a key's last
  // write in the request is filled: an earlier one would be served, stale, until
  // the later fill replaced it. A document the caller kept (no `owned`) is not
  // copied in: its first load caches it.
  projections::LruView& view = reads_.view();
  if (writes.size() == 1) {
    if (writes[0].owned || !writes[0].doc) view.fill(writes[0].key, {r.last_seq, writes[0].owned}, r.last_seq);
    return;
  }
  std::unordered_set<std::string_view> later;
  later.reserve(writes.size());
  for (std::size_t i = writes.size(); i-- > 0;) {
    if (!later.insert(writes[i].key).second) continue;
    if (writes[i].owned || !writes[i].doc) {
      view.fill(writes[i].key, {r.first_seq + i, writes[i].owned}, r.last_seq);
    }
  }
}

std::vector<DataChanged> WritePath::changes(const std::vector<Write>& writes, AppendResult& r) {
  std::vector<DataChanged> out;
  out.reserve(writes.size());
  for (std::size_t i = 0; i < writes.size(); ++i) {
    DataChanged c;
    c.key = writes[i].key;
    if (i < r.prior.size() && r.prior[i].payload) {
      Json old = Json::parse(*r.prior[i].payload, nullptr, /*allow_exceptions=*/false);
      if (old.is_discarded()) {
        c.old_data_error = "the previous document of key '" + printable_key(c.key) + "' (version " +
                           std::to_string(r.prior[i].version) + ") is not valid JSON";
        health_.note(Status::corruption(*c.old_data_error)).ok();
      } else {
        c.old_data = std::move(old);
      }
    }
    if (writes[i].doc) c.new_data = *writes[i].doc;
    c.seq = r.first_seq + i;
    c.identity = r.identity;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace omni::detail
