#include "audit_trail.h"

#include <boost/asio/post.hpp>

#include "omni/log/deadline.h"

namespace omni::detail {

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

std::string operation_name(log::EventType type) {
  switch (type) {
    case log::EventType::DataStored: return "store";
    case log::EventType::DataDeleted: return "delete";
    default: return std::string(log::event_type_name(type));
  }
}
}  // namespace

AuditTrail::AuditTrail(const log::EventLog& log, std::function<projections::AuditIndex&()> index, Lifecycle& life,
                       boost::asio::thread_pool& pool, HealthRecord& health,
                       std::shared_ptr<spdlog::logger> logger, std::chrono::seconds prune_interval)
    : log_(log),
      index_(std::move(index)),
      life_(life),
      pool_(pool),
      health_(health),
      logger_(std::move(logger)),
      prune_interval_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(prune_interval)),
      config_{std::chrono::seconds(0), false, 0} {}

Status AuditTrail::configure(const AuditConfig& config) {
  if (config.retention && config.retention->count() < 0) {
    return Status::invalid_argument("AuditConfig::retention is negative (" +
                                    std::to_string(config.retention->count()) + " s)");
  }
  std::lock_guard l(mu_);
  if (config.retention) {
    config_.retention = config.retention;
    // Zero means keep forever: no background pass until a retention is set.
    next_pass_.store(config.retention->count() > 0 ? std::numeric_limits<std::int64_t>::min()
                                                   : std::numeric_limits<std::int64_t>::max());
  }
  if (config.include_data_snapshots) config_.include_data_snapshots = config.include_data_snapshots;
  if (config.max_entries_per_key) {
    config_.max_entries_per_key = config.max_entries_per_key;
    index_().set_max_entries_per_key(*config.max_entries_per_key);
    if (*config.max_entries_per_key > 0) {
      next_pass_.store(std::numeric_limits<std::int64_t>::min());  // trim soon
    }
  }
  return Status();
}

AuditConfig AuditTrail::config() const {
  std::lock_guard l(mu_);
  return config_;
}

Result<std::vector<AuditEntry>> AuditTrail::trail(std::string_view key) const {
  const AuditConfig cfg = config();
  auto seqs = index_().seqs(key);
  if (!seqs.ok()) return health_.note(seqs.status());

  const std::int64_t cutoff = retention_cutoff(cfg);
  std::vector<AuditEntry> trail;
  for (Seq seq : *seqs) {
    Result<log::Event> ev = log_.read(seq);
    if (!ev.ok()) return health_.note(ev.status());
    if (ev->timestamp_ns < cutoff) continue;  // older than the retention
    AuditEntry e;
    e.seq = seq;
    e.timestamp = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::nanoseconds(ev->timestamp_ns)));
    e.operation = operation_name(ev->type);
    e.identity = std::move(ev->identity);
    if (ev->type == log::EventType::RelationshipAdded || ev->type == log::EventType::RelationshipRemoved) {
      e.subject = ev->key;
      e.predicate = std::move(ev->attrs.predicate);
      e.object = std::move(ev->attrs.object);
    }
    e.label = std::move(ev->attrs.label);
    if (ev->type == log::EventType::VersionsPruned) e.labels = std::move(ev->attrs.names);
    if (*cfg.include_data_snapshots && !ev->payload.empty()) {
      Json j = Json::parse(ev->payload, nullptr, false);
      if (j.is_discarded()) {
        return health_.note(
            Status::corruption("event seq " + std::to_string(seq) + ": payload is not valid JSON"));
      }
      e.data = std::move(j);
    }
    trail.push_back(std::move(e));
  }
  const std::size_t max = *cfg.max_entries_per_key;
  if (max > 0 && trail.size() > max) {
    trail.erase(trail.begin(), trail.end() - static_cast<std::ptrdiff_t>(max));
  }
  return trail;
}

Status AuditTrail::apply_retention() {
  const std::int64_t cutoff = retention_cutoff(config());
  Status s = index_().prune_before(cutoff);
  if (!s.ok()) logger_->error("audit retention pass failed: {}", s.to_string());
  return health_.note(s);
}

void AuditTrail::after_write() {
  const std::int64_t due = next_pass_.load(std::memory_order_relaxed);
  if (due == std::numeric_limits<std::int64_t>::max()) return;  // nothing to prune
  const std::int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  if (now < due || running_.exchange(true)) return;
  next_pass_.store(now + prune_interval_.count());
  if (!life_.begin_async()) {  // closing: close() waits for what it admitted
    life_.end_async();
    running_.store(false);
    return;
  }
  boost::asio::post(pool_, [this] {
    apply_retention().ok();  // logged and noted for check_health()
    running_.store(false);
    life_.end_async();
  });
}

}  // namespace omni::detail
