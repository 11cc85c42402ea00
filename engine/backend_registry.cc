#include "backend_registry.h"

#include <algorithm>

#include "validation.h"

namespace omni::detail {

BackendRegistry::BackendRegistry(const Options& options, log::EventLog& log, sinks::SeedFn seed,
                                 std::shared_ptr<spdlog::logger> logger)
    : options_(options),
      log_(log),
      seed_(std::move(seed)),
      logger_(std::move(logger)),
      cursors_(log, sinks::kSinkCursorsCf),
      dead_letters_(log),
      pool_(options.replication.threads),
      strategy_(options.sync_strategy),
      strategy_options_(options.strategy_options) {}

BackendRegistry::~BackendRegistry() { close(std::chrono::steady_clock::now()); }

std::vector<BackendRegistry::WorkerPtr> BackendRegistry::workers() const {
  std::shared_lock l(mu_);
  return workers_;
}

BackendRegistry::WorkerPtr BackendRegistry::find(std::string_view name) const {
  std::shared_lock l(mu_);
  for (const WorkerPtr& w : workers_) {
    if (w->name() == name) return w;
  }
  return nullptr;
}

bool BackendRegistry::empty() const {
  std::shared_lock l(mu_);
  return workers_.empty();
}

Status BackendRegistry::add(std::string_view name, std::unique_ptr<Backend> backend, int priority) {
  OMNI_RETURN_IF_ERROR(validate_backend_name(name));
  if (!backend) return Status::invalid_argument("add_backend('" + std::string(name) + "'): the backend is null");
  const ReplicationOptions& r = options_.replication;
  sinks::SinkOptions so{r.max_batch_events, r.max_batch_bytes, r.initial_backoff,
                        r.max_backoff,      r.max_attempts,    r.health_interval};
  sinks::FlushPolicy flush;
  {
    std::lock_guard l(strategy_mu_);
    flush = flush_policy();
  }
  auto worker = std::make_shared<sinks::SinkWorker>(
      std::string(name), priority, std::move(backend),
      sinks::SinkWorker::Deps{log_, cursors_, dead_letters_, progress_, pool_.get_executor(), seed_, logger_}, so,
      flush);
  {
    std::unique_lock l(mu_);
    if (closed_) return Status::unavailable("the store is closed");
    for (const WorkerPtr& w : workers_) {
      if (w->name() == name) {
        return Status::invalid_argument("a backend named '" + std::string(name) + "' is already added");
      }
    }
    // Stable: among equal priorities, the one added first comes first.
    auto at = std::upper_bound(workers_.begin(), workers_.end(), priority,
                               [](int p, const WorkerPtr& w) { return p < w->priority(); });
    workers_.insert(at, worker);
  }
  if (offline()) worker->set_paused(true);
  worker->start();
  logger_->info("backend '{}' added (priority {}), {}", name, priority,
                worker->healthy() ? "healthy" : "unhealthy: " + worker->last_error());
  return Status();
}

Status BackendRegistry::remove(std::string_view name) {
  WorkerPtr w;
  {
    std::unique_lock l(mu_);
    auto it = std::find_if(workers_.begin(), workers_.end(), [&](const WorkerPtr& x) { return x->name() == name; });
    if (it == workers_.end()) return Status::not_found("no backend named '" + std::string(name) + "'");
    w = *it;
    workers_.erase(it);
  }
  w->stop();  // its cursor and dead letters stay: adding it again resumes
  progress_.bump();
  return Status();
}

void BackendRegistry::set_offline(bool offline) {
  offline_.store(offline, std::memory_order_release);
  for (const WorkerPtr& w : workers()) w->set_paused(offline);
  logger_->info(offline ? "offline mode on: writes stay local, backends wait" : "offline mode off: backends drain");
  progress_.bump();
}

std::optional<Json> BackendRegistry::fallback(std::string_view key) {
  if (offline()) return std::nullopt;
  for (const WorkerPtr& w : workers()) {
    Result<std::optional<Json>> r = w->backend().load_data(key);
    if (!r.ok()) {
      logger_->debug("read fallback: backend '{}' failed: {}", w->name(), r.status().to_string());
      continue;
    }
    if (*r) return std::move(**r);
  }
  return std::nullopt;
}

Status BackendRegistry::wait_for(std::string_view name, Seq seq, std::chrono::milliseconds timeout) {
  WorkerPtr w = find(name);
  if (!w) return Status::not_found("no backend named '" + std::string(name) + "'");
  if (seq > log_.head_seq()) {
    return Status::invalid_argument("seq " + std::to_string(seq) + " is past the head (" +
                                    std::to_string(log_.head_seq()) + ")");
  }
  const auto deadline = log::deadline_after<std::chrono::steady_clock>(std::chrono::steady_clock::now(), timeout);
  std::unique_lock l(progress_.mu);
  while (w->cursor() < seq) {
    if (closing_.load()) return Status::unavailable("the store is closing");
    if (progress_.cv.wait_until(l, deadline) == std::cv_status::timeout && w->cursor() < seq) {
      return Status::timed_out("backend '" + std::string(name) + "' has applied up to seq " +
                               std::to_string(w->cursor()) + ", not yet seq " + std::to_string(seq) +
                               (w->healthy() ? "" : " (unhealthy: " + w->last_error() + ")"));
    }
  }
  return Status();
}

Result<std::vector<DeadLetter>> BackendRegistry::dead_letters(std::string_view backend) const {
  return dead_letters_.list(backend);
}

Status BackendRegistry::retry_dead_letter(std::string_view backend, Seq seq) {
  WorkerPtr w = find(backend);
  if (!w) return Status::not_found("no backend named '" + std::string(backend) + "' is added");
  return w->retry_dead_letter(seq);
}

Status BackendRegistry::drop_dead_letter(std::string_view backend, Seq seq) {
  OMNI_ASSIGN_OR_RETURN(std::optional<DeadLetter> d, dead_letters_.get(backend, seq));
  if (!d) {
    return Status::not_found("backend '" + std::string(backend) + "' has no dead letter at seq " +
                             std::to_string(seq));
  }
  return dead_letters_.erase(backend, seq);
}

std::vector<BackendHealth> BackendRegistry::health(bool probe) {
  std::vector<BackendHealth> out;
  const bool off = offline();
  for (const WorkerPtr& w : workers()) {
    if (probe && !off) w->probe().ok();
    const BackendStatistics st = w->statistics();
    BackendHealth h;
    h.name = st.name;
    h.status = st.ahead_of_log ? "ahead_of_log" : st.paused ? "paused" : st.healthy ? "healthy" : "unhealthy";
    h.cursor = st.cursor;
    h.lag = st.lag;
    h.last_error = st.last_error;
    out.push_back(std::move(h));
  }
  return out;
}

std::vector<BackendStatistics> BackendRegistry::statistics() const {
  std::vector<BackendStatistics> out;
  for (const WorkerPtr& w : workers()) out.push_back(w->statistics());
  return out;
}

void BackendRegistry::begin_close() {
  closing_.store(true);
  progress_.bump();
}

void BackendRegistry::close(std::chrono::steady_clock::time_point deadline) {
  std::vector<WorkerPtr> ws;
  {
    std::unique_lock l(mu_);
    if (closed_) return;
    closed_ = true;
    ws = workers_;
  }
  begin_close();
  const Seq head = log_.head_seq();
  if (!offline()) {
    for (const WorkerPtr& w : ws) w->flush_now();
    std::unique_lock l(progress_.mu);
    auto pending = [&] {
      return std::any_of(ws.begin(), ws.end(), [&](const WorkerPtr& w) { return w->healthy() && w->cursor() < head; });
    };
    while (pending() && progress_.cv.wait_until(l, deadline) != std::cv_status::timeout) {
    }
  }
  for (const WorkerPtr& w : ws) {
    w->stop();
    if (w->cursor() < head) {
      logger_->warn("close: backend '{}' has applied up to seq {} of {} ({} event(s) left); it resumes from there "
                    "when added again",
                    w->name(), w->cursor(), head, head - w->cursor());
    }
  }
  pool_.stop();
  pool_.join();
}

}  // namespace omni::detail
