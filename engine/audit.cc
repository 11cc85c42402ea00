// get_audit_trail() and storage->audit(): the key's history from the audit index
// and the log, with retention and per-key limits pruning the index (never the log).
#include "storage_impl.h"
#include "validation.h"

namespace omni {

void Audit::configure(const AuditConfig& config) {
  std::lock_guard l(impl_.audit_mu);
  if (config.retention) impl_.audit_config.retention = config.retention;
  if (config.include_data_snapshots) {
    impl_.audit_config.include_data_snapshots = config.include_data_snapshots;
  }
  if (config.max_entries_per_key) impl_.audit_config.max_entries_per_key = config.max_entries_per_key;
}

AuditConfig Audit::config() const {
  std::lock_guard l(impl_.audit_mu);
  return impl_.audit_config;
}

Result<std::vector<AuditEntry>> Storage::get_audit_trail(std::string_view key) {
  detail::OpScope op(*impl_, detail::Op::kGetAuditTrail, key);
  if (!op.admitted()) return Status::unavailable("store is closed");
  using R = Result<std::vector<AuditEntry>>;
  if (Status s = detail::validate_key(key); !s.ok()) return op.finish(R(s));
  const AuditConfig cfg = audit_.config();
  auto seqs = impl_->projections->audit().seqs(key);
  if (!seqs.ok()) return op.finish(R(seqs.status()));

  const auto now = std::chrono::system_clock::now();
  std::vector<AuditEntry> trail;
  std::vector<Seq> expired;
  for (Seq seq : *seqs) {
    Result<log::Event> ev = impl_->log->read(seq);
    if (!ev.ok()) return op.finish(R(ev.status()));
    AuditEntry e;
    e.seq = seq;
    e.timestamp = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::nanoseconds(ev->timestamp_ns)));
    if (cfg.retention->count() > 0 && e.timestamp < now - *cfg.retention) {
      expired.push_back(seq);
      continue;
    }
    e.operation = ev->type == log::EventType::kDataStored    ? "store"
                  : ev->type == log::EventType::kDataDeleted ? "delete"
                                                             : std::string(log::event_type_name(ev->type));
    e.identity = std::move(ev->identity);
    if (*cfg.include_data_snapshots && !ev->payload.empty()) {
      Json j = Json::parse(ev->payload, nullptr, false);
      if (j.is_discarded()) {
        return op.finish(R(Status::corruption("event seq " + std::to_string(seq) +
                                              ": payload is not valid JSON")));
      }
      e.data = std::move(j);
    }
    trail.push_back(std::move(e));
  }
  const std::size_t max = *cfg.max_entries_per_key;
  if (max > 0 && trail.size() > max) {
    const std::size_t drop = trail.size() - max;
    for (std::size_t i = 0; i < drop; ++i) expired.push_back(trail[i].seq);
    trail.erase(trail.begin(), trail.begin() + static_cast<std::ptrdiff_t>(drop));
  }
  if (!expired.empty()) {
    Status s = impl_->projections->audit().remove(key, expired);
    if (!s.ok()) impl_->logger->warn("pruning the audit index failed: {}", s.to_string());
  }
  return op.finish(R(std::move(trail)));
}

}  // namespace omni
