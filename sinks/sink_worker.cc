#include "omni/sinks/sink_worker.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>

#include <random>

#include "omni/sinks/change_codec.h"

namespace omni::sinks {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kNever = Clock::time_point::max();

// The backend refuses this change for good (backend.h): retrying it as it is
// cannot help, so it is retried a few times on its own and then dead-lettered.
bool permanent(const Status& s) {
  return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kBackend;
}

std::string bounded(std::string s) {
  constexpr std::size_t kMax = 1000;
  if (s.size() > kMax) s.resize(kMax);
  return s;
}

}  // namespace

SinkWorker::SinkWorker(std::string name, int priority, std::unique_ptr<Backend> backend, Deps deps,
                       SinkOptions options, FlushPolicy flush)
    : name_(std::move(name)),
      priority_(priority),
      backend_(std::move(backend)),
      deps_(std::move(deps)),
      options_(options),
      strand_(boost::asio::make_strand(deps_.executor)),
      timer_(strand_),
      last_flush_(Clock::now()),
      timer_at_(kNever),
      flush_(flush) {}

void SinkWorker::start() {
  if (!backend_->keeps_watermark()) {
    // Decided once, here: a backend the store has no cursor for is seeded from
    // the state if the store had events when it was added. (Runs before the first
    // step is posted, so the strand-only fields are safe to set.)
    Result<Seq> c = deps_.cursors.get(name_);
    if (c.ok()) {
      needs_reseed_ = *c == 0 && deps_.log.head_seq() > 0;
      std::lock_guard l(mu_);
      cursor_ = *c;
    }
    positioned_ = c.ok();
  }
  // After the fields above: probe() may post the first step.
  probe().ok();  // the first health is known before add_backend returns
  post_step();
}

void SinkWorker::stop() {
  std::unique_lock l(mu_);
  if (!stopping_) {
    stopping_ = true;
    boost::asio::post(strand_, [self = shared_from_this()] { self->timer_.cancel(); });
  }
  // A prefetch reads the log (deps) on its own thread: waited for like a step.
  idle_cv_.wait(l, [&] { return !running_ && prefetching_ == 0; });
}

void SinkWorker::set_paused(bool paused) {
  {
    std::lock_guard l(mu_);
    paused_ = paused;
  }
  deps_.progress.bump();
  if (!paused) post_step();
}

void SinkWorker::set_flush_policy(const FlushPolicy& flush) {
  {
    std::lock_guard l(mu_);
    flush_ = flush;
  }
  post_step();
}

void SinkWorker::flush_now() {
  {
    std::lock_guard l(mu_);
    flush_requested_ = true;
  }
  post_step();
}

Seq SinkWorker::cursor() const {
  std::lock_guard l(mu_);
  return cursor_;
}

bool SinkWorker::healthy() const {
  std::lock_guard l(mu_);
  return healthy_;
}

bool SinkWorker::ahead_of_log() const {
  std::lock_guard l(mu_);
  return ahead_;
}

std::string SinkWorker::last_error() const {
  std::lock_guard l(mu_);
  return last_error_;
}

BackendStatistics SinkWorker::statistics() const {
  BackendStatistics st;
  st.name = name_;
  st.priority = priority_;
  {
    std::lock_guard l(mu_);
    st.cursor = cursor_;
    st.applied_events = applied_events_;
    st.batches = batches_;
    st.retries = retries_;
    st.reseeds = reseeds_;
    st.last_error = last_error_;
    st.healthy = healthy_;
    st.paused = paused_;
    st.ahead_of_log = ahead_;
  }
  const Seq head = deps_.log.head_seq();
  st.lag = head > st.cursor ? head - st.cursor : 0;
  if (auto n = deps_.dead_letters.count(name_); n.ok()) st.dead_letters = *n;
  return st;
}

Status SinkWorker::probe() {
  Status s = backend_->health_check();
  if (s.ok()) {
    bool was;
    {
      std::lock_guard l(mu_);
      was = healthy_;
      // A target that reports a watermark past our head stays unhealthy whatever it says.
      if (!ahead_) {
        healthy_ = true;
        last_error_.clear();
      }
    }
    if (!was) post_step();  // it came back: drain now rather than at the next backoff
  } else {
    set_health(false, s.to_string());
  }
  deps_.progress.bump();
  return s;
}

void SinkWorker::post_step() {
  {
    std::lock_guard l(mu_);
    if (stopping_ || scheduled_) return;
    scheduled_ = true;
  }
  boost::asio::post(strand_, [self = shared_from_this()] { self->step(); });
}

void SinkWorker::step() {
  {
    std::lock_guard l(mu_);
    scheduled_ = false;
    if (stopping_ || paused_) return;
    running_ = true;
  }
  run_batch();
  {
    std::lock_guard l(mu_);
    running_ = false;
  }
  idle_cv_.notify_all();
}

void SinkWorker::set_health(bool healthy, std::string error) {
  bool was;
  {
    std::lock_guard l(mu_);
    was = healthy_;
    healthy_ = healthy;
    last_error_ = bounded(std::move(error));
  }
  if (was && !healthy) deps_.logger->warn("backend '{}' is unhealthy: {}", name_, last_error());
  if (!was && healthy) deps_.logger->info("backend '{}' is healthy again", name_);
  deps_.progress.bump();
}

std::chrono::milliseconds SinkWorker::next_backoff() {
  backoff_ = backoff_.count() == 0 ? options_.initial_backoff : std::min(backoff_ * 2, options_.max_backoff);
  // Full jitter over the upper half: workers of many stores that lost one Redis
  // together do not come back in lockstep.
  thread_local std::minstd_rand rng(std::random_device{}());
  const auto half = backoff_.count() / 2;
  return std::chrono::milliseconds(half + (half > 0 ? static_cast<long>(rng() % (half + 1)) : 0));
}

void SinkWorker::fail(const Status& s, bool permanent_rejection) {
  prefetch_.reset();  // the batch it follows was not acknowledged
  {
    std::lock_guard l(mu_);
    ++retries_;
  }
  if (permanent_rejection) {
    std::lock_guard l(mu_);
    last_error_ = bounded(s.to_string());
  } else {
    // Unreachable or broken: the target may have restarted without our last
    // writes, so its position is read again before the next batch.
    positioned_ = false;
    set_health(false, s.to_string());
  }
  retry_later(next_backoff());
}

void SinkWorker::retry_later(std::chrono::milliseconds delay) { wait_until(Clock::now() + delay); }

void SinkWorker::wait_until(Clock::time_point t) {
  const auto now = Clock::now();
  if (timer_at_ > now && timer_at_ <= t) return;  // an earlier wake-up is armed
  timer_at_ = t;
  timer_.expires_at(t);
  timer_.async_wait(boost::asio::bind_executor(strand_, [self = shared_from_this()](boost::system::error_code ec) {
    if (ec == boost::asio::error::operation_aborted) return;
    self->timer_at_ = kNever;
    self->post_step();
  }));
}

void SinkWorker::wait_for_head(Seq seq) {
  if (head_wait_armed_) return;
  head_wait_armed_ = true;
  std::weak_ptr<SinkWorker> weak = weak_from_this();
  // Called on the committing thread (or here, if the head is there already):
  // only posts.
  deps_.log.notify_when(seq, [weak](Status) {
    if (auto self = weak.lock()) {
      boost::asio::post(self->strand_, [self] {
        self->head_wait_armed_ = false;
        self->post_step();
      });
    }
  });
}

Status SinkWorker::position() {
  const Seq head = deps_.log.head_seq();
  Seq at = 0;
  if (backend_->keeps_watermark()) {
    needs_reseed_ = false;
    OMNI_ASSIGN_OR_RETURN(std::optional<Seq> w, backend_->watermark());
    known_watermark_ = w;
    if (!w) {
      needs_reseed_ = head > 0;  // empty or wiped: fed again from the current state
    } else if (*w > head) {
      {
        std::lock_guard l(mu_);
        ahead_ = true;
        target_watermark_ = *w;
        cursor_ = *w;
      }
      set_health(false, "backend '" + name_ + "' has applied up to seq " + std::to_string(*w) +
                            " but the local log ends at seq " + std::to_string(head) +
                            ": the local log lost its tail (or the target belongs to another store); "
                            "nothing more is applied to it, so no seq is reused");
      positioned_ = true;
      return Status();
    } else {
      at = *w;
    }
  } else {
    OMNI_RETURN_IF_ERROR(backend_->health_check());  // reachable again?
    OMNI_ASSIGN_OR_RETURN(at, deps_.cursors.get(name_));  // (start() decided about re-seeding)
  }
  Seq had;
  {
    std::lock_guard l(mu_);
    had = cursor_;
    cursor_ = at;
    ahead_ = false;
  }
  if (had > at) {
    deps_.logger->warn("backend '{}' is at seq {} although seq {} was acknowledged: it lost writes; "
                       "feeding it again from seq {}",
                       name_, at, had, at + 1);
  }
  positioned_ = true;
  set_health(true, "");
  return Status();
}

Status SinkWorker::reseed() {
  prefetch_.reset();  // the position moves to wherever the state is
  std::uint64_t sent = 0;
  const EmitFn emit = [&](std::vector<Change>&& chunk) -> Status {
    ChangeBatch b{std::move(chunk), 0, /*reseed=*/true};
    Status s = apply(b);
    if (s.ok() || !permanent(s)) {
      if (s.ok()) sent += b.changes.size();
      return s;
    }
    for (Change& c : b.changes) {
      ChangeBatch one{{c}, 0, true};
      s = apply(one);
      if (permanent(s)) {
        OMNI_RETURN_IF_ERROR(dead_letter(c, s, 1));
      } else if (!s.ok()) {
        return s;
      } else {
        ++sent;
      }
    }
    return Status();
  };
  OMNI_ASSIGN_OR_RETURN(const Seq through, deps_.seed(emit));
  ChangeBatch mark{{}, through, false};
  OMNI_RETURN_IF_ERROR(apply(mark));
  if (!backend_->keeps_watermark()) OMNI_RETURN_IF_ERROR(deps_.cursors.put(name_, through));
  needs_reseed_ = false;
  {
    std::lock_guard l(mu_);
    cursor_ = through;
    ++reseeds_;
    applied_events_ += sent;
  }
  deps_.logger->info("backend '{}' re-seeded from the current state: {} change(s), at seq {}", name_, sent,
                     through);
  deps_.progress.bump();
  return Status();
}

Status SinkWorker::apply(ChangeBatch& b) {
  if (!backend_->keeps_watermark()) return backend_->apply(b);
  b.expected_watermark = known_watermark_;
  Status s = backend_->apply(b);
  if (s.ok() && b.through > 0) known_watermark_ = b.through;
  return s;
}

bool SinkWorker::advance(Seq through, std::size_t applied) {
  if (!backend_->keeps_watermark()) {
    if (Status s = deps_.cursors.put(name_, through); !s.ok()) {
      fail(s, false);
      return false;
    }
  }
  backoff_ = std::chrono::milliseconds(0);
  bool was;
  {
    std::lock_guard l(mu_);
    cursor_ = std::max(cursor_, through);
    applied_events_ += applied;
    ++batches_;
    was = healthy_;
    healthy_ = true;
    last_error_.clear();
  }
  if (!was) deps_.logger->info("backend '{}' is healthy again", name_);
  deps_.progress.bump();
  return true;
}

Status SinkWorker::dead_letter(const Change& c, const Status& why, std::uint32_t attempts) {
  DeadLetter d;
  d.backend = name_;
  d.seq = c.seq;
  d.key = c.key;
  d.operation = std::string(change_type_name(c.type));
  d.error_class = std::string(status_code_name(why.code()));
  d.attempts = attempts;
  d.last_error = bounded(why.message());
  d.time = std::chrono::system_clock::now();
  OMNI_RETURN_IF_ERROR(deps_.dead_letters.put(d));
  deps_.logger->warn("backend '{}' rejected seq {} {} times; moved to the dead letters: {}", name_, c.seq,
                     attempts, d.last_error);
  return Status();
}

void SinkWorker::run_batch() {
  const auto now = Clock::now();
  if (!positioned_) {
    if (Status s = position(); !s.ok()) return fail(s, false);
  }
  if (ahead_of_log()) {
    positioned_ = false;  // look again later: an operator may have wiped the target
    return retry_later(options_.max_backoff);
  }
  if (needs_reseed_) {
    if (Status s = reseed(); !s.ok()) return fail(s, permanent(s));
  }
  const Seq head = deps_.log.head_seq();
  const Seq at = cursor();
  FlushPolicy flush;
  bool flush_requested;
  {
    std::lock_guard l(mu_);
    flush = flush_;
    flush_requested = flush_requested_;
    if (at >= head) flush_requested_ = false;
  }
  if (at >= head) {
    wait_for_head(at + 1);
    if (options_.health_interval.count() > 0) {
      // Idle: a health probe now and then (the timer that wakes this step).
      if (timer_at_ == kNever || timer_at_ <= now) {
        if (last_probe_ + options_.health_interval <= now) {
          last_probe_ = now;
          if (!probe().ok()) {
            positioned_ = false;
            return retry_later(next_backoff());
          }
        }
        wait_until(last_probe_ + options_.health_interval);
      }
    }
    return;
  }
  if (flush.delayed && at >= flush_through_) {
    const auto due = last_flush_ + flush.interval;
    if (!flush_requested && head - at < flush.batch_size && now < due) {
      wait_until(due);
      wait_for_head(at + flush.batch_size);
      return;
    }
    // A flush begins: it applies what is pending now, in as many batches as that
    // takes, and the next interval runs from here. (Counted from the last time
    // the worker caught up instead, writers that keep it a few events behind made
    // every step after the first interval a flush of the few events written
    // during the step before: tiny batches, each through Redis's script path.)
    last_flush_ = now;
    flush_through_ = head;
  }

  const bool single = split_until_ > at;
  ChangeBatch batch;
  bool prefetched = false;
  if (std::shared_ptr<Prefetch> p = std::move(prefetch_);
      p && p->from == at + 1 && !single && p->coalesce == flush.coalesce) {
    std::lock_guard l(mu_);
    if (!p->done) {
      prefetch_ = std::move(p);  // still reading: its end posts the next step
      return;
    }
    // A read that failed is done again below, where its error is reported.
    if (p->status.ok()) {
      batch = std::move(p->batch);
      prefetched = true;
    }
  }  // any other prefetch is for a position we are no longer at: dropped
  if (!prefetched) {
    log::ReadLimits limits{single ? std::size_t{1} : options_.max_batch_events, options_.max_batch_bytes};
    if (Status r = read_batch(at + 1, limits, flush.coalesce, &batch); !r.ok()) {
      deps_.logger->error("backend '{}': reading the log after seq {} failed: {}", name_, at, r.to_string());
      return fail(r, false);
    }
  }
  // While the backend applies this batch (the strand waits for the target), the
  // next one is read, decoded and coalesced on another thread: a fifth of the
  // worker's time on a Redis drain (bench/README.md). Only with a full batch's
  // backlog behind this one, so it is never a short batch a read after the
  // apply would have made longer, and tailing a slow trickle costs nothing.
  if (!single && deps_.log.head_seq() >= batch.through + options_.max_batch_events) {
    start_prefetch(batch.through + 1, flush.coalesce);
  }

  Status s = apply(batch);
  if (!s.ok()) deps_.logger->debug("backend '{}': applying seqs {}..{} failed: {}", name_, at + 1, batch.through, s.to_string());
  if (s.code() == StatusCode::kNotFound) {
    // The target is not where we left it (wiped, or it lost writes): read its
    // position again now; an empty one is re-seeded.
    deps_.logger->warn("backend '{}': {}; reading its position again", name_, s.message());
    positioned_ = false;
    prefetch_.reset();
    return post_step();
  }
  if (s.ok()) {
    if (single && !batch.changes.empty()) attempts_.erase(batch.changes.front().seq);
    if (advance(batch.through, batch.changes.size())) post_step();
    return;
  }
  if (!permanent(s) || batch.changes.empty()) return fail(s, false);
  if (batch.changes.size() > 1) {
    // Which change is it? Apply them one by one up to the end of this batch.
    split_until_ = batch.through;
    prefetch_.reset();
    {
      std::lock_guard l(mu_);
      ++retries_;
    }
    return post_step();
  }
  const Change& bad = batch.changes.front();
  const std::uint32_t n = ++attempts_[bad.seq];
  if (n < options_.max_attempts) return fail(s, true);
  attempts_.erase(bad.seq);
  if (Status d = dead_letter(bad, s, n); !d.ok()) return fail(d, false);
  // Past it: the target's watermark moves too, or it would be fed again.
  ChangeBatch mark{{}, batch.through, false};
  if (Status m = apply(mark); !m.ok()) return fail(m, false);
  if (advance(batch.through, 0)) post_step();
}

Status SinkWorker::read_batch(Seq from, const log::ReadLimits& limits, bool coalesce_changes,
                              ChangeBatch* out) const {
  OMNI_ASSIGN_OR_RETURN(log::EventBatch read, deps_.log.read_from(from, limits));
  out->through = read.next - 1;
  out->changes.reserve(read.events.size());
  for (log::Event& e : read.events) {
    if (!to_change(std::move(e), &out->changes.emplace_back())) out->changes.pop_back();
  }
  if (coalesce_changes) coalesce(&out->changes);
  return Status();
}

void SinkWorker::start_prefetch(Seq from, bool coalesce_changes) {
  auto p = std::make_shared<Prefetch>();
  p->from = from;
  p->coalesce = coalesce_changes;
  {
    std::lock_guard l(mu_);
    if (stopping_) return;
    ++prefetching_;  // before the post: stop() waits for it from here on
  }
  prefetch_ = p;
  // On the executor, not the strand: the strand is about to block in apply().
  boost::asio::post(deps_.executor, [self = shared_from_this(), p] { self->run_prefetch(*p); });
}

void SinkWorker::run_prefetch(Prefetch& p) {
  bool stopping;
  {
    std::lock_guard l(mu_);
    stopping = stopping_;
  }
  ChangeBatch batch;
  Status s = stopping ? Status::unavailable("backend '" + name_ + "' is stopping")
                      : read_batch(p.from, {options_.max_batch_events, options_.max_batch_bytes}, p.coalesce,
                                   &batch);
  {
    std::lock_guard l(mu_);
    p.done = true;
    p.status = std::move(s);
    p.batch = std::move(batch);
  }
  post_step();  // the strand may be waiting for it
  {
    std::lock_guard l(mu_);
    --prefetching_;
  }
  idle_cv_.notify_all();
}

Status SinkWorker::retry_dead_letter(Seq seq) {
  OMNI_ASSIGN_OR_RETURN(std::optional<DeadLetter> d, deps_.dead_letters.get(name_, seq));
  if (!d) {
    return Status::not_found("backend '" + name_ + "' has no dead letter at seq " + std::to_string(seq));
  }
  OMNI_ASSIGN_OR_RETURN(log::Event e, deps_.log.read(seq));
  std::optional<Change> c = to_change(std::move(e));
  if (!c) return deps_.dead_letters.erase(name_, seq);
  // Out of order (the worker moved past it): checked per item, not against the
  // watermark, like a re-seed.
  ChangeBatch b{{std::move(*c)}, 0, /*reseed=*/true};
  Status s = backend_->apply(b);
  if (s.ok()) return deps_.dead_letters.erase(name_, seq);
  d->attempts += 1;
  d->error_class = std::string(status_code_name(s.code()));
  d->last_error = bounded(s.message());
  d->time = std::chrono::system_clock::now();
  OMNI_RETURN_IF_ERROR(deps_.dead_letters.put(*d));
  return s;
}

}  // namespace omni::sinks
