#include "version_keeper.h"

#include <string>
#include <vector>

namespace omni::detail {

VersionKeeper::VersionKeeper(const Options& options, std::function<projections::VersionIndex&()> index, WritePath& writes,
                             Lifecycle& life, boost::asio::thread_pool& pool, HealthRecord& health,
                             std::shared_ptr<spdlog::logger> logger)
    : index_(std::move(index)),
      writes_(writes),
      life_(life),
      health_(health),
      logger_(std::move(logger)),
      config_{options.max_versions_per_key, options.version_cleanup_interval},
      timer_(pool.get_executor()) {
  index_().set_max_versions_per_key(options.max_versions_per_key);
}

VersionKeeper::~VersionKeeper() { stop(); }

Status VersionKeeper::configure(const VersioningConfig& config) {
  if (config.cleanup_interval && config.cleanup_interval->count() <= 0) {
    return Status::invalid_argument("VersioningConfig::cleanup_interval must be positive (got " +
                                    std::to_string(config.cleanup_interval->count()) + " s)");
  }
  std::lock_guard l(mu_);
  if (config.max_versions_per_key) {
    config_.max_versions_per_key = config.max_versions_per_key;
    index_().set_max_versions_per_key(*config.max_versions_per_key);
  }
  if (config.cleanup_interval) {
    config_.cleanup_interval = config.cleanup_interval;
    if (!stopped_) arm_locked();
  }
  return Status();
}

VersioningConfig VersionKeeper::config() const {
  std::lock_guard l(mu_);
  return config_;
}

Status VersionKeeper::cleanup() {
  std::lock_guard pass(pass_mu_);
  // Rounds of at most kRound keys, so a store with many keys over the limit is not
  // held in memory at once; a pruned key is no longer over the limit, so each
  // round's scan finds the next ones.
  constexpr std::size_t kRound = 1024;
  for (;;) {
    std::vector<std::pair<std::string, std::vector<std::string>>> over;
    OMNI_RETURN_IF_ERROR(index_().over_limit([&](std::string_view key, std::vector<std::string> labels) {
      over.emplace_back(std::string(key), std::move(labels));
      return over.size() < kRound;
    }));
    std::size_t pruned = 0;
    for (auto& [key, labels] : over) {
      if (stopping_.load()) return Status::unavailable("the store is closing");
      log::EventDraft d;
      d.type = log::EventType::VersionsPruned;
      d.key = key;
      d.attrs.names = std::move(labels);
      std::vector<log::EventDraft> drafts;
      drafts.push_back(std::move(d));
      Result<AppendResult> r = writes_.append(std::move(drafts), {}, WriteOptions{}, /*listen=*/false);
      if (r.ok()) {
        ++pruned;
      } else if (r.status().code() != StatusCode::kConflict) {
        return r.status();
      }
      // kConflict: a write changed the key since the scan (and pruned it itself).
    }
    // Done when a round was not full, or made no progress (every key conflicted:
    // the next pass sees what the writes left).
    if (over.size() < kRound || pruned == 0) return Status();
  }
}

void VersionKeeper::start() {
  std::lock_guard l(mu_);
  if (!stopped_) arm_locked();
}

void VersionKeeper::stop() {
  stopping_.store(true);
  std::lock_guard l(mu_);
  stopped_ = true;
  ++generation_;
  timer_.cancel();
}

void VersionKeeper::arm_locked() {
  const std::uint64_t gen = ++generation_;
  timer_.expires_after(*config_.cleanup_interval);
  timer_.async_wait([this, gen](const boost::system::error_code& ec) {
    if (!ec) on_timer(gen);
  });
}

void VersionKeeper::on_timer(std::uint64_t generation) {
  {
    std::lock_guard l(mu_);
    if (stopped_ || generation != generation_) return;  // stopped or re-armed since
  }
  // Counted while it runs so close() waits for it; refused once closing.
  if (life_.begin_async()) {
    if (Status s = cleanup(); !s.ok() && s.code() != StatusCode::kUnavailable) {
      logger_->error("version cleanup pass failed: {}", s.to_string());
      health_.note(s).ok();
    }
  }
  life_.end_async();
  std::lock_guard l(mu_);
  if (!stopped_ && generation == generation_) arm_locked();
}

}  // namespace omni::detail
