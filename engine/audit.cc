// get_audit_trail() and storage->audit(): the key's history from the audit index
// and the log. Retention is a function of the log and the configuration only
// (see AuditConfig): a read leaves out what the configuration excludes and never
// writes; the index is pruned at write time (per-key limit, in the projection) and
// by a background pass (age) that writes schedule.
#include <boost/asio/post.hpp>

#include "omni/log/deadline.h"
#include "storage_impl.h"
#include "validation.h"

namespace omni {
namespace detail {

namespace {
std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The oldest event time a trail shows: INT64_MIN (everything) without retention.
std::int64_t retention_cutoff(const AuditConfig& cfg) {
  if (cfg.retention->count() <= 0) return std::numeric_limits<std::int64_t>::min();
  return log::ns_before(now_ns(), *cfg.retention);
}
}  // namespace

Status StorageImpl::apply_retention() {
  AuditConfig cfg;
  {
    std::lock_guard l(audit_mu);
    cfg = audit_config;
  }
  const std::int64_t cutoff = retention_cutoff(cfg);
  Status s = projections->audit().prune_before(cutoff);
  if (!s.ok()) logger->error("audit retention pass failed: {}", s.to_string());
  return note(s);
}

void StorageImpl::maybe_schedule_retention() {
  const std::int64_t due = next_retention_ns.load(std::memory_order_relaxed);
  if (due == std::numeric_limits<std::int64_t>::max()) return;  // nothing to prune
  const std::int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  if (now < due || retention_running.exchange(true)) return;
  const auto interval = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      options.audit_prune_interval);
  next_retention_ns.store(now + interval.count());
  if (!life.begin_async()) {  // closing: close() waits for what it admitted
    life.end_async();
    retention_running.store(false);
    return;
  }
  boost::asio::post(pool, [this] {
    apply_retention().ok();  // logged and noted for check_health()
    retention_running.store(false);
    life.end_async();
  });
}

}  // namespace detail

Status Audit::configure(const AuditConfig& config) {
  detail::OpScope op(impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  if (config.retention && config.retention->count() < 0) {
    return Status::invalid_argument("AuditConfig::retention is negative (" +
                                    std::to_string(config.retention->count()) + " s)");
  }
  std::lock_guard l(impl_.audit_mu);
  if (config.retention) {
    impl_.audit_config.retention = config.retention;
    // Zero means keep forever: no background pass until a retention is set.
    impl_.next_retention_ns.store(config.retention->count() > 0
                                      ? std::numeric_limits<std::int64_t>::min()
                                      : std::numeric_limits<std::int64_t>::max());
  }
  if (config.include_data_snapshots) {
    impl_.audit_config.include_data_snapshots = config.include_data_snapshots;
  }
  if (config.max_entries_per_key) {
    impl_.audit_config.max_entries_per_key = config.max_entries_per_key;
    impl_.projections->audit().set_max_entries_per_key(*config.max_entries_per_key);
    if (*config.max_entries_per_key > 0) {
      impl_.next_retention_ns.store(std::numeric_limits<std::int64_t>::min());  // trim soon
    }
  }
  return Status();
}

AuditConfig Audit::config() const {
  std::lock_guard l(impl_.audit_mu);
  return impl_.audit_config;
}

Status Audit::apply_retention() {
  detail::OpScope op(impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  return impl_.apply_retention();
}

Result<std::vector<AuditEntry>> Storage::get_audit_trail(std::string_view key) {
  detail::OpScope op(*impl_, detail::Op::kGetAuditTrail, key);
  if (!op.admitted()) return detail::closed_status();
  using R = Result<std::vector<AuditEntry>>;
  if (Status s = detail::validate_key(key); !s.ok()) return op.finish(R(s));
  const AuditConfig cfg = audit_.config();
  auto seqs = impl_->projections->audit().seqs(key);
  if (!seqs.ok()) return op.finish(R(impl_->note(seqs.status())));

  const std::int64_t cutoff = detail::retention_cutoff(cfg);
  std::vector<AuditEntry> trail;
  for (Seq seq : *seqs) {
    Result<log::Event> ev = impl_->log->read(seq);
    if (!ev.ok()) return op.finish(R(impl_->note(ev.status())));
    if (ev->timestamp_ns < cutoff) continue;  // older than the retention
    AuditEntry e;
    e.seq = seq;
    e.timestamp = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::nanoseconds(ev->timestamp_ns)));
    e.operation = ev->type == log::EventType::kDataStored    ? "store"
                  : ev->type == log::EventType::kDataDeleted ? "delete"
                                                             : std::string(log::event_type_name(ev->type));
    e.identity = std::move(ev->identity);
    if (*cfg.include_data_snapshots && !ev->payload.empty()) {
      Json j = Json::parse(ev->payload, nullptr, false);
      if (j.is_discarded()) {
        return op.finish(R(impl_->note(Status::corruption(
            "event seq " + std::to_string(seq) + ": payload is not valid JSON"))));
      }
      e.data = std::move(j);
    }
    trail.push_back(std::move(e));
  }
  const std::size_t max = *cfg.max_entries_per_key;
  if (max > 0 && trail.size() > max) {
    trail.erase(trail.begin(), trail.end() - static_cast<std::ptrdiff_t>(max));
  }
  return op.finish(R(std::move(trail)));
}

}  // namespace omni
