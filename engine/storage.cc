// omni::Storage: open/close, the write and read paths, health and statistics.
#include "omni/storage.h"

#include <spdlog/sinks/null_sink.h>

#include <boost/asio/post.hpp>

#include "storage_impl.h"
#include "validation.h"

namespace omni {
namespace detail {

StorageImpl::StorageImpl(Options o)
    : options(std::move(o)),
      logger(options.logger),
      lru(options.cache_size),
      pool(std::max<std::size_t>(1, options.executor_threads)),
      callback_strand(pool.get_executor()),
      callbacks(std::make_shared<const CallbackList>()),
      instrumentation(std::make_shared<const std::vector<InstrumentationFn>>()) {
  if (!logger) {
    logger = std::make_shared<spdlog::logger>("omni", std::make_shared<spdlog::sinks::null_sink_mt>());
  }
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
  // Count in first, then look at `closing`: close() sets closing and then waits for
  // in_flight to reach zero, so no operation can slip past it (both seq_cst).
  impl_.in_flight.fetch_add(1);
  admitted_ = !impl_.closing.load();
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
    for (const auto& fn : *fns) fn(op_name(op_), key_, d);
  }
  if (impl_.in_flight.fetch_sub(1) == 1 && impl_.closing.load()) {
    std::lock_guard l(impl_.life_mu);
    impl_.life_cv.notify_all();
  }
}

Result<Seq> StorageImpl::commit(std::vector<Write>& writes, const WriteOptions& wo) {
  log::AppendRequest req;
  req.identity = wo.identity.empty() ? options.default_identity : wo.identity;
  req.sync = wo.sync.value_or(options.sync);
  const bool want_prior = has_callbacks.load(std::memory_order_acquire);
  req.events.reserve(writes.size());
  for (Write& w : writes) {
    OMNI_RETURN_IF_ERROR(validate_key(w.key));
    log::EventDraft d;
    d.type = w.doc ? log::EventType::kDataStored : log::EventType::kDataDeleted;
    if (w.doc) OMNI_RETURN_IF_ERROR(encode_document(w.key, *w.doc, options.max_value_bytes, &d.payload));
    d.key = w.key;
    d.expected_version = w.expected_version;
    d.want_prior = want_prior;
    req.events.push_back(std::move(d));
  }
  Status s = log->append(&req);
  if (!s.ok()) {
    if (s.code() == StatusCode::kIOError) {
      write_failing.store(true);
      logger->error("write failed: {}", s.to_string());
    }
    return s;
  }
  write_failing.store(false, std::memory_order_relaxed);

  // The leader invalidated these keys before the write became visible; fill()
  // refuses our value if a newer write of the key has happened since.
  for (std::size_t i = 0; i < writes.size(); ++i) {
    const Seq seq = req.first_seq + i;
    if (writes[i].owned || !writes[i].doc) lru.fill(writes[i].key, {seq, writes[i].owned}, seq);
  }
  if (want_prior) {
    std::vector<DataChanged> changes;
    changes.reserve(writes.size());
    for (std::size_t i = 0; i < writes.size(); ++i) {
      DataChanged c;
      c.key = writes[i].key;
      const log::EventDraft& d = req.events[i];
      if (d.prior_payload) {
        c.old_data = Json::parse(*d.prior_payload, nullptr, /*allow_exceptions=*/false);
      }
      if (writes[i].doc) c.new_data = *writes[i].doc;
      c.seq = req.first_seq + i;
      c.identity = req.identity;
      changes.push_back(std::move(c));
    }
    notify(std::move(changes));
  }
  return req.first_seq + writes.size() - 1;
}

Result<Seq> StorageImpl::write_one(Op op, Write w, const WriteOptions& wo) {
  OpScope scope(*this, op, w.key);
  if (!scope.admitted()) return Status::unavailable("store is closed");
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
  if (!st.ok()) return st.status();
  if (!st->has_value()) {
    lru.fill(key, {snapshot, nullptr}, snapshot);
    return R(nullptr);
  }
  Json j = Json::parse((*st)->payload, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return Status::corruption("stored document of key '" + printable_key(key) + "' (version " +
                              std::to_string((*st)->version) + ") is not valid JSON");
  }
  auto doc = std::make_shared<const Json>(std::move(j));
  lru.fill(key, {(*st)->version, doc}, snapshot);
  return R(std::move(doc));
}

}  // namespace detail

using detail::Op;
using detail::OpScope;

Result<std::unique_ptr<Storage>> Storage::open(Options options) {
  if (options.path.empty()) return Status::invalid_argument("Options::path is empty");
  auto impl = std::make_unique<detail::StorageImpl>(std::move(options));
  log::EventLogOptions lo;
  lo.path = impl->options.path;
  lo.extra_column_families = projections::column_families();
  lo.write_buffer_size = impl->options.write_buffer_size;
  Result<std::unique_ptr<log::EventLog>> l = log::EventLog::open(std::move(lo));
  if (!l.ok()) {
    impl->logger->error("open '{}' failed: {}", impl->options.path, l.status().to_string());
    return l.status();
  }
  impl->log = std::move(*l);
  impl->projections = std::make_unique<projections::ProjectionSet>(*impl->log, &impl->lru);
  impl->log->set_projector(impl->projections.get());
  if (!impl->options.preload_keys.empty()) {
    OMNI_RETURN_IF_ERROR(impl->preload(impl->options.preload_keys));
  }
  impl->logger->info("opened '{}' at seq {}", impl->options.path, impl->log->head_seq());
  return std::unique_ptr<Storage>(new Storage(std::move(impl)));
}

Storage::Storage(std::unique_ptr<detail::StorageImpl> impl)
    : impl_(std::move(impl)), cache_(*impl_), audit_(*impl_), notifications_(*impl_) {}

Storage::~Storage() {
  Status s = close();
  if (!s.ok()) {
    impl_->logger->warn("close: {}; waiting for in-flight operations", s.to_string());
    std::unique_lock l(impl_->life_mu);
    impl_->life_cv.wait(l, [&] { return impl_->in_flight.load() == 0; });
    l.unlock();
    close().ok();
  }
}

Status Storage::close() {
  detail::StorageImpl& im = *impl_;
  im.closing.store(true);
  const auto deadline = std::chrono::steady_clock::now() + im.options.close_timeout;
  std::unique_lock l(im.life_mu);
  if (im.closed) return Status();
  if (!im.life_cv.wait_until(l, deadline, [&] { return im.in_flight.load() == 0; })) {
    return Status::timed_out(std::to_string(im.in_flight.load()) +
                             " operation(s) still running after close_timeout");
  }
  // Async callbacks and async operations queued before closing still run (the
  // operations fail with kUnavailable), within the deadline; then the pool stops,
  // dropping what is left, and its threads are joined.
  if (!im.life_cv.wait_until(l, deadline, [&] { return im.pending_async.load() == 0; })) {
    im.logger->warn("close: dropping {} queued async callback(s)", im.pending_async.load());
  }
  l.unlock();
  im.pool.stop();
  im.pool.join();
  l.lock();
  im.projections.reset();
  im.log.reset();
  im.closed = true;
  im.logger->info("closed '{}'", im.options.path);
  return Status();
}

boost::asio::any_io_executor Storage::executor() { return impl_->pool.get_executor(); }

void Storage::async_begin() { impl_->pending_async.fetch_add(1); }

void Storage::async_end() {
  if (impl_->pending_async.fetch_sub(1) == 1) {
    std::lock_guard l(impl_->life_mu);
    impl_->life_cv.notify_all();
  }
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
  if (!op.admitted()) return Status::unavailable("store is closed");
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
  if (!op.admitted()) return Status::unavailable("store is closed");
  auto doc = op.finish(impl_->load(key));
  if (!doc.ok()) return doc.status();
  return *doc ? std::optional<Json>(**doc) : std::nullopt;
}

Result<std::shared_ptr<const Json>> Storage::load_shared(std::string_view key) {
  OpScope op(*impl_, Op::kLoadData, key);
  if (!op.admitted()) return Status::unavailable("store is closed");
  return op.finish(impl_->load(key));
}

Result<Seq> Storage::get_version(std::string_view key) {
  OMNI_RETURN_IF_ERROR(detail::validate_key(key));
  OpScope op(*impl_, Op::kLoadData, key);
  if (!op.admitted()) return Status::unavailable("store is closed");
  auto st = impl_->projections->state().get(key);
  if (!st.ok()) return op.finish(Result<Seq>(st.status()));
  return st->has_value() ? (*st)->version : Seq{0};
}

Status Storage::wait_for(Seq seq, std::chrono::milliseconds timeout) {
  OpScope op(*impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return Status::unavailable("store is closed");
  return impl_->log->wait_for(seq, timeout);
}

Health Storage::check_health() {
  Health h;
  OpScope op(*impl_, detail::kUnmeasured, {});
  if (!op.admitted()) {
    h.status = HealthStatus::kOffline;
    h.detail = "store is closed";
    return h;
  }
  h.head_seq = impl_->log->head_seq();
  std::uint64_t bg_errors = 0;
  impl_->log->db()->GetIntProperty("rocksdb.background-errors", &bg_errors);
  if (bg_errors > 0) {
    h.status = HealthStatus::kDegraded;
    h.detail = "RocksDB reports " + std::to_string(bg_errors) + " background error(s)";
  } else if (impl_->write_failing.load()) {
    h.status = HealthStatus::kDegraded;
    h.detail = "the last write failed with an IO error";
  }
  return h;
}

Statistics Storage::get_statistics() {
  Statistics s;
  s.cache = cache_.statistics();
  OpScope op(*impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return s;
  rocksdb::DB* db = impl_->log->db();
  s.head_seq = impl_->log->head_seq();
  s.event_count = s.head_seq;  // seqs are dense from 1 and the log is never truncated yet
  db->GetIntProperty(impl_->log->column_family(projections::kStateCf), "rocksdb.estimate-num-keys",
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
