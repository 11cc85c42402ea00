// omni::Storage: open/close, the write and read paths, health and statistics.
#include "omni/storage.h"

#include <spdlog/sinks/null_sink.h>

#include <boost/asio/post.hpp>

#include <unordered_set>

#include "omni/log/deadline.h"
#include "rocksdb_logger.h"
#include "storage_impl.h"
#include "validation.h"

namespace omni {
namespace detail {

namespace {
std::shared_ptr<spdlog::logger> logger_or_null(const std::shared_ptr<spdlog::logger>& l) {
  if (l) return l;
  return std::make_shared<spdlog::logger>("omni", std::make_shared<spdlog::sinks::null_sink_mt>());
}
}  // namespace

StorageImpl::StorageImpl(Options o)
    : options(std::move(o)),
      logger(logger_or_null(options.logger)),
      lru(options.cache_size),
      pool(options.executor_threads),
      notifier(life, logger, pool.get_executor(), this),
      instrumentation(std::make_shared<const std::vector<InstrumentationFn>>()) {
  audit_config = {std::chrono::seconds(0), false, 0};
}

namespace {
// Reading the clock twice costs about as much as an LRU hit, so latency is timed
// for one operation in 8 per thread; percentiles from the sample are unbiased.
bool sample_latency() {
  thread_local unsigned n = 0;
  return (n++ & 7) == 0;
}
}  // namespace

OpScope::OpScope(StorageImpl& impl, Op op, std::string_view key)
    : impl_(impl),
      op_(op),
      key_(key),
      timed_(op != kUnmeasured && (impl.has_instrumentation.load(std::memory_order_relaxed) ||
                                   sample_latency())) {
  if (timed_) start_ = std::chrono::steady_clock::now();
  admitted_ = impl_.life.enter();
  if (!admitted_) failed_ = true;
}

OpScope::~OpScope() {
  std::chrono::nanoseconds d{-1};
  if (timed_) d = std::chrono::steady_clock::now() - start_;
  if (op_ != kUnmeasured) impl_.metrics.record(op_, d, failed_);
  if (timed_ && impl_.has_instrumentation.load(std::memory_order_acquire)) {
    std::shared_ptr<const std::vector<InstrumentationFn>> fns;
    {
      std::lock_guard l(impl_.instrumentation_mu);
      fns = impl_.instrumentation;
    }
    CallbackScope scope(&impl_);
    for (const auto& fn : *fns) {
      try {
        fn(op_name(op_), key_, d);
      } catch (...) {
        impl_.logger->error("an instrumentation callback threw; ignored");
      }
    }
  }
  impl_.life.leave();
}

Status StorageImpl::note(Status s) {
  if (s.code() == StatusCode::kCorruption || s.code() == StatusCode::kIOError) {
    std::lock_guard l(health_mu);
    if (damage.ok()) {
      damage = s;
      logger->error("{}", s.to_string());
    }
  }
  return s;
}

Result<Seq> StorageImpl::commit(std::vector<Write>& writes, const WriteOptions& wo) {
  log::AppendRequest req;
  if (!wo.identity.empty()) OMNI_RETURN_IF_ERROR(validate_identity(wo.identity));
  req.identity = wo.identity.empty() ? options.default_identity : wo.identity;
  req.sync = wo.sync.value_or(options.sync);
  const bool want_changes = notifier.wants_changes();
  req.listen = want_changes && notifier.wants_async();  // an ordered slot for async delivery
  req.events.reserve(writes.size());
  for (Write& w : writes) {
    OMNI_RETURN_IF_ERROR(validate_key(w.key));
    log::EventDraft d;
    d.type = w.doc ? log::EventType::kDataStored : log::EventType::kDataDeleted;
    if (w.doc) OMNI_RETURN_IF_ERROR(encode_document(w.key, *w.doc, options.max_value_bytes, &d.payload));
    d.key = w.key;
    d.expected_version = w.expected_version;
    d.want_prior = want_changes;
    req.events.push_back(std::move(d));
  }
  Status s = log->append(&req);
  if (!s.ok()) {
    if (s.code() == StatusCode::kIOError || s.code() == StatusCode::kCorruption) {
      logger->error("write failed: {}", s.to_string());
    }
    return s;
  }
  const Seq last = req.first_seq + writes.size() - 1;

  // The leader invalidated these keys before the write became visible; fill()
  // refuses our value if a newer write of the key's bucket happened since. The
  // request's own last seq is the snapshot: the request's later keys bumped their
  // buckets' watermarks, and must not refuse its earlier ones. Only a key's last
  // write in the request is filled: an earlier one would be served, stale, until
  // the later fill replaced it.
  if (writes.size() == 1) {
    if (writes[0].owned || !writes[0].doc) lru.fill(writes[0].key, {last, writes[0].owned}, last);
  } else {
    std::unordered_set<std::string_view> later;
    later.reserve(writes.size());
    for (std::size_t i = writes.size(); i-- > 0;) {
      if (!later.insert(writes[i].key).second) continue;
      const Seq seq = req.first_seq + i;
      if (writes[i].owned || !writes[i].doc) lru.fill(writes[i].key, {seq, writes[i].owned}, last);
    }
  }
  if (want_changes) {
    std::vector<DataChanged> changes;
    changes.reserve(writes.size());
    for (std::size_t i = 0; i < writes.size(); ++i) {
      DataChanged c;
      c.key = writes[i].key;
      const log::EventDraft& d = req.events[i];
      if (d.prior_payload) {
        Json old = Json::parse(*d.prior_payload, nullptr, /*allow_exceptions=*/false);
        if (old.is_discarded()) {
          c.old_data_error = "the previous document of key '" + printable_key(c.key) +
                             "' (version " + std::to_string(d.prior_version) +
                             ") is not valid JSON";
          note(Status::corruption(*c.old_data_error)).ok();
        } else {
          c.old_data = std::move(old);
        }
      }
      if (writes[i].doc) c.new_data = *writes[i].doc;
      c.seq = req.first_seq + i;
      c.identity = req.identity;
      changes.push_back(std::move(c));
    }
    notifier.publish(req.first_seq, req.listen, std::move(changes));
  }
  maybe_schedule_retention();
  return last;
}

Result<Seq> StorageImpl::write_one(Op op, Write w, const WriteOptions& wo) {
  OpScope scope(*this, op, w.key);
  if (!scope.admitted()) return closed_status();
  std::vector<Write> writes;
  writes.push_back(std::move(w));
  return scope.finish(commit(writes, wo));
}

Result<std::shared_ptr<const Json>> StorageImpl::load(std::string_view key) {
  using R = Result<std::shared_ptr<const Json>>;
  // Only valid keys enter the view, so a hit needs no validation.
  if (auto e = lru.get(key)) return R(std::move(e->doc));
  OMNI_RETURN_IF_ERROR(validate_key(key));
  // The head before the read: the view refuses this fill if a newer write to the
  // key's bucket has been invalidated or evicted since (see LruView::fill).
  const Seq snapshot = log->head_seq();
  Result<std::optional<projections::StateEntry>> st = projections->state().get(key);
  if (!st.ok()) return note(st.status());
  if (!st->has_value()) {
    lru.fill(key, {snapshot, nullptr}, snapshot);
    return R(nullptr);
  }
  Json j = Json::parse((*st)->payload, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return note(Status::corruption("stored document of key '" + printable_key(key) + "' (version " +
                                   std::to_string((*st)->version) + ") is not valid JSON"));
  }
  auto doc = std::make_shared<const Json>(std::move(j));
  lru.fill(key, {(*st)->version, doc}, snapshot);
  return R(std::move(doc));
}

Statistics StorageImpl::statistics() {
  Statistics s;
  rocksdb::DB* db = log->db();
  s.head_seq = log->head_seq();
  s.event_count = s.head_seq;  // seqs are dense from 1 and the log is never truncated yet
  db->GetIntProperty(log->column_family(projections::kStateCf), "rocksdb.estimate-num-keys",
                     &s.approximate_keys);
  std::uint64_t sst = 0;
  db->GetAggregatedIntProperty("rocksdb.total-sst-files-size", &sst);
  rocksdb::VectorLogPtr wals;
  std::uint64_t wal = 0;
  if (db->GetSortedWalFiles(wals).ok()) {
    for (const auto& f : wals) wal += f->SizeFileBytes();
  }
  s.disk_bytes = sst + wal;
  return s;
}

bool StorageImpl::on_engine_thread() const {
  return pool.get_executor().running_in_this_thread() || CallbackScope::inside(this);
}

Status StorageImpl::close(bool with_deadline) {
  std::lock_guard cl(close_mu);
  if (closed) return Status();
  const auto deadline =
      with_deadline
          ? log::deadline_after<std::chrono::steady_clock>(std::chrono::steady_clock::now(),
                                                           options.close_timeout)
          : std::chrono::steady_clock::time_point::max();
  life.start_closing();
  log->interrupt_waiters();
  if (!life.wait_idle(deadline)) {
    return Status::timed_out(std::to_string(life.in_flight()) + " call(s) and " +
                             std::to_string(life.async_pending()) +
                             " async operation(s) still running after close_timeout (new calls "
                             "fail with kUnavailable; call close() again)");
  }
  // Async callbacks queued before closing still run, within the deadline; what is
  // left then is dropped (one already running is waited for by the pool's join).
  if (!life.wait_callbacks(deadline)) {
    logger->warn("close: dropping {} queued async callback deliveries", life.callbacks_pending());
    notifier.drop_pending();
  }
  {
    std::lock_guard l(stats_mu);
    final_statistics = statistics();  // for get_statistics() after close
  }
  if (Status c = projections->save_checkpoint(); !c.ok()) logger->warn("close: {}", c.to_string());
  Status flushed = log->close(deadline);
  if (!flushed.ok()) logger->warn("close: {}", flushed.to_string());
  pool.stop();
  pool.join();
  projections.reset();
  log.reset();
  closed = true;
  logger->info("closed '{}'", options.path);
  return flushed;
}

void StorageImpl::close_in_background() {
  life.start_closing();  // refuse new calls at once
  std::lock_guard l(closer_mu);
  if (closer.joinable()) return;
  closer = std::thread([this] {
    Status s = close(/*with_deadline=*/true);
    if (!s.ok()) logger->warn("close (started from a callback): {}", s.to_string());
  });
}

void StorageImpl::join_closer() {
  std::thread t;
  {
    std::lock_guard l(closer_mu);
    t = std::move(closer);
  }
  if (t.joinable()) t.join();
}

}  // namespace detail

using detail::Op;
using detail::OpScope;

Result<std::unique_ptr<Storage>> Storage::open(Options options) {
  OMNI_RETURN_IF_ERROR(detail::validate_options(options));
  std::unique_ptr<detail::StorageImpl> impl;
  const std::size_t threads = options.executor_threads;
  try {
    impl = std::make_unique<detail::StorageImpl>(std::move(options));
  } catch (const std::exception& e) {
    return Status::io_error("cannot start the executor's " + std::to_string(threads) +
                            " thread(s): " + e.what());
  }
  log::EventLogOptions lo;
  lo.path = impl->options.path;
  lo.extra_column_families = projections::column_families();
  lo.write_buffer_size = impl->options.write_buffer_size;
  lo.info_log = detail::make_rocksdb_logger(impl->logger);
  lo.env = impl->options.rocksdb_env;
  lo.refuse_damaged_wal = impl->options.wal_recovery == WalRecovery::kAbsoluteConsistency;
  Result<std::unique_ptr<log::EventLog>> l = log::EventLog::open(std::move(lo));
  if (!l.ok()) {
    impl->logger->error("open '{}' failed: {}", impl->options.path, l.status().to_string());
    return l.status();
  }
  impl->log = std::move(*l);
  if (const log::RecoveryReport& r = impl->log->recovery_report(); r.wal_damaged) {
    impl->note(Status::corruption("open recovered the log only up to seq " +
                                  std::to_string(r.recovered_head) + ": " +
                                  std::to_string(r.events_beyond_damage) +
                                  " event(s) after damage inside the WAL were dropped (" +
                                  r.detail + ")"))
        .ok();
  }
  impl->projections = std::make_unique<projections::ProjectionSet>(*impl->log, &impl->lru);
  impl->log->set_projector(impl->projections.get());
  impl->log->set_commit_listener(&impl->notifier);
  if (Status s = impl->projections->catch_up(); !s.ok()) {
    impl->logger->error("open '{}': {}", impl->options.path, s.to_string());
    return s;
  }
  if (!impl->options.preload_keys.empty()) {
    if (Status s = impl->preload(impl->options.preload_keys); !s.ok()) {
      impl->logger->error("open '{}': preloading keys failed: {}", impl->options.path, s.to_string());
      return s;
    }
  }
  impl->logger->info("opened '{}' at seq {}", impl->options.path, impl->log->head_seq());
  return std::unique_ptr<Storage>(new Storage(std::move(impl)));
}

Storage::Storage(std::unique_ptr<detail::StorageImpl> impl)
    : impl_(std::move(impl)), cache_(*impl_), audit_(*impl_), notifications_(*impl_) {}

Storage::~Storage() {
  if (impl_->on_engine_thread()) {
    // Waiting here would wait for ourselves: the close finishes on a thread of its
    // own once this callback returns, and that thread frees the state.
    impl_->logger->warn("a Storage was destroyed on its own executor or in its own callback; "
                        "it finishes closing on a thread of its own");
    impl_->life.start_closing();
    std::thread([impl = std::move(impl_)]() mutable {
      impl->join_closer();
      impl->close(/*with_deadline=*/false).ok();
    }).detach();
    return;
  }
  impl_->join_closer();
  Status s = impl_->close(/*with_deadline=*/true);
  if (s.code() == StatusCode::kTimedOut) {
    impl_->logger->warn("close: {}; waiting for them", s.to_string());
    impl_->close(/*with_deadline=*/false).ok();
  }
}

Status Storage::close() {
  if (impl_->on_engine_thread()) {
    impl_->close_in_background();
    return Status();
  }
  impl_->join_closer();
  return impl_->close(/*with_deadline=*/true);
}

boost::asio::any_io_executor Storage::executor() { return impl_->pool.get_executor(); }

bool Storage::async_begin(detail::StorageImpl* impl) { return impl->life.begin_async(); }

void Storage::async_end(detail::StorageImpl* impl) { impl->life.end_async(); }

void Storage::notify_when(detail::StorageImpl* impl, Seq seq, std::function<void(const Status&)> fn) {
  impl->log->notify_when(seq, [fn = std::move(fn)](Status s) { fn(s); });
}

Result<Seq> Storage::store_data(std::string_view key, Json&& doc, const WriteOptions& wo) {
  auto owned = std::make_shared<const Json>(std::move(doc));
  const Json* d = owned.get();
  return impl_->write_one(Op::kStoreData, {key, d, std::move(owned), wo.expected_version}, wo);
}

Result<Seq> Storage::store_data(std::string_view key, const Json& doc, const WriteOptions& wo) {
  return impl_->write_one(Op::kStoreData, {key, &doc, nullptr, wo.expected_version}, wo);
}

Result<Seq> Storage::delete_data(std::string_view key, const WriteOptions& wo) {
  return impl_->write_one(Op::kDeleteData, {key, nullptr, nullptr, wo.expected_version}, wo);
}

Result<Seq> Storage::store_batch(std::vector<BatchItem> items, const WriteOptions& wo) {
  OpScope op(*impl_, Op::kStoreBatch, {});
  if (!op.admitted()) return detail::closed_status();
  if (items.empty()) return op.finish(Result<Seq>(Status::invalid_argument("store_batch of no items")));
  if (wo.expected_version) {
    return op.finish(Result<Seq>(Status::invalid_argument(
        "store_batch: set BatchItem::expected_version, not WriteOptions::expected_version")));
  }
  std::vector<detail::Write> w;
  w.reserve(items.size());
  for (BatchItem& it : items) {
    auto owned = std::make_shared<const Json>(std::move(it.doc));
    const Json* doc = owned.get();
    w.push_back({it.key, doc, std::move(owned), it.expected_version});
  }
  return op.finish(impl_->commit(w, wo));
}

Result<std::optional<Json>> Storage::load_data(std::string_view key) {
  OpScope op(*impl_, Op::kLoadData, key);
  if (!op.admitted()) return detail::closed_status();
  auto doc = op.finish(impl_->load(key));
  if (!doc.ok()) return doc.status();
  return *doc ? std::optional<Json>(**doc) : std::nullopt;
}

Result<std::shared_ptr<const Json>> Storage::load_shared(std::string_view key) {
  OpScope op(*impl_, Op::kLoadData, key);
  if (!op.admitted()) return detail::closed_status();
  return op.finish(impl_->load(key));
}

Result<Seq> Storage::get_version(std::string_view key) {
  OMNI_RETURN_IF_ERROR(detail::validate_key(key));
  OpScope op(*impl_, Op::kLoadData, key);
  if (!op.admitted()) return detail::closed_status();
  auto st = impl_->projections->state().get(key);
  if (!st.ok()) return op.finish(Result<Seq>(impl_->note(st.status())));
  return st->has_value() ? (*st)->version : Seq{0};
}

Status Storage::wait_for(Seq seq, std::chrono::milliseconds timeout) {
  OpScope op(*impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  return impl_->log->wait_for(seq, timeout);
}

Health Storage::check_health() {
  Health h;
  OpScope op(*impl_, detail::kUnmeasured, {});
  if (!op.admitted()) {
    h.status = HealthStatus::kOffline;
    h.detail = "the store is closed";
    return h;
  }
  log::EventLog& lg = *impl_->log;
  h.head_seq = lg.head_seq();
  std::vector<std::string> problems;
  if (Status w = lg.write_error(); !w.ok()) {
    // A disk that was full may have room again: try now rather than wait for a write.
    if (Status r = lg.resume(); !r.ok()) {
      problems.push_back("writes are stopped after a failed write (" + w.to_string() +
                         "); resuming failed: " + r.to_string());
    }
    h.head_seq = lg.head_seq();
  }
  {
    std::lock_guard l(impl_->health_mu);
    if (!impl_->damage.ok()) problems.push_back(impl_->damage.to_string());
  }
  if (!problems.empty()) {
    h.status = HealthStatus::kDegraded;
    for (std::size_t i = 0; i < problems.size(); ++i) h.detail += (i ? "; " : "") + problems[i];
  }
  return h;
}

Statistics Storage::get_statistics() {
  OpScope op(*impl_, detail::kUnmeasured, {});
  Statistics s;
  if (op.admitted()) {
    s = impl_->statistics();
  } else {
    // Closed (or closing): the figures as of close, marked as such.
    std::lock_guard l(impl_->stats_mu);
    s = impl_->final_statistics;
    s.closed = true;
  }
  s.cache = cache_.statistics();
  return s;
}

Metrics Storage::get_metrics() { return impl_->metrics.snapshot(); }

std::string Storage::metrics_text() { return detail::prometheus_text(get_metrics(), get_statistics()); }

std::uint64_t Storage::add_instrumentation_callback(InstrumentationFn fn) {
  std::lock_guard l(impl_->instrumentation_mu);
  auto next = std::make_shared<std::vector<InstrumentationFn>>(*impl_->instrumentation);
  next->push_back(std::move(fn));
  impl_->instrumentation = std::move(next);
  impl_->has_instrumentation.store(true, std::memory_order_release);
  return impl_->instrumentation->size();
}

std::string_view health_status_name(HealthStatus s) {
  switch (s) {
    case HealthStatus::kHealthy: return "healthy";
    case HealthStatus::kDegraded: return "degraded";
    case HealthStatus::kOffline: return "offline";
  }
  return "unknown";
}

}  // namespace omni
