// omni::Storage: open/close, the write and read paths, health and statistics.
#include "omni/storage.h"

#include <spdlog/sinks/null_sink.h>

#include <boost/asio/post.hpp>

#include "omni/log/deadline.h"
#include "reseed.h"
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
    : options_(std::move(o)),
      logger_(logger_or_null(options_.logger)),
      pool_(options_.executor_threads),
      health_(logger_),
      notifier_(life_, logger_, pool_.get_executor(), this),
      reads_(options_.cache_size, health_) {}

Status StorageImpl::open() {
  log::EventLogOptions lo;
  lo.path = options_.path;
  lo.extra_column_families = projections::column_families();
  lo.extra_column_families.emplace_back(sinks::kSinkCursorsCf);
  lo.extra_column_families.emplace_back(sinks::kDeadLettersCf);
  lo.write_buffer_size = options_.write_buffer_size;
  lo.block_cache_size = options_.block_cache_size;
  lo.info_log = make_rocksdb_logger(logger_);
  lo.env = options_.rocksdb_env;
  lo.refuse_damaged_wal = options_.wal_recovery == WalRecovery::kAbsoluteConsistency;
  OMNI_ASSIGN_OR_RETURN(log_, log::EventLog::open(std::move(lo)));
  if (const log::RecoveryReport& r = log_->recovery_report(); r.wal_damaged) {
    health_
        .note(Status::corruption("open recovered the log only up to seq " +
                                 std::to_string(r.recovered_head) + ": " +
                                 std::to_string(r.events_beyond_damage) +
                                 " event(s) after damage inside the WAL were dropped (" +
                                 r.detail + ")"))
        .ok();
  }
  projections_ = std::make_unique<projections::ProjectionSet>(*log_);
  // Stage order (see ProjectionSet::add): versions can refuse a request (a label
  // conflict), so they come first. Factories, so rebuild_projections() can make
  // each again over fresh column families.
  versions_slot_ = projections_->add([this](const log::EventLog& l, std::string_view suffix) {
    auto v = std::make_unique<projections::VersionIndex>(l, suffix);
    v->set_max_versions_per_key(options_.max_versions_per_key);
    return v;
  });
  relationships_slot_ = projections_->add([](const log::EventLog& l, std::string_view suffix) {
    return std::make_unique<projections::RelationshipIndex>(l, suffix);
  });
  policy_slot_ = projections_->add([](const log::EventLog& l, std::string_view suffix) {
    return std::make_unique<projections::PolicyIndex>(l, suffix);
  });
  // The view reads the index only at open (load()).
  // Without an injected clock the view reads the coarse wall clock itself (cheaper).
  policy_view_ = std::make_unique<projections::PolicyCacheView>(
      policy_index(), options_.policy_cache_size,
      options_.clock ? projections::PolicyCacheView::Clock([this] { return now_ns(); }) : nullptr);
  projections_->add_view(reads_.view());
  projections_->add_view(*policy_view_);
  log_->set_projector(projections_.get());
  log_->set_commit_listener(&notifier_);
  OMNI_RETURN_IF_ERROR(projections_->catch_up());
  // Repaired or not, the disk lost or damaged what the log vouched for: degraded
  // until reopened.
  for (const std::string& f : projections_->findings()) health_.note(Status::corruption(f)).ok();
  reads_.attach(*log_, *projections_);
  audit_ = std::make_unique<AuditTrail>(*log_, [this]() -> projections::AuditIndex& { return projections_->audit(); }, life_, pool_, health_, logger_,
                                        options_.audit_prune_interval);
  writes_ = std::make_unique<WritePath>(options_, *log_, reads_, notifier_, *audit_, health_, logger_);
  version_keeper_ = std::make_unique<VersionKeeper>(options_, [this]() -> projections::VersionIndex& { return versions(); }, *writes_, life_, pool_, health_, logger_);
  version_keeper_->start();
  backends_ = std::make_unique<BackendRegistry>(options_, *log_, make_seed(*this), logger_);
  writes_->set_backends(backends_.get());
  if (!options_.preload_keys.empty()) {
    if (Status s = reads_.preload(options_.preload_keys); !s.ok()) {
      return Status(s.code(), "preloading keys failed: " + s.message());
    }
  }
  return Status();
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
      timed_(op != kUnmeasured && (impl.instrumentation().any() || sample_latency())) {
  if (timed_) start_ = std::chrono::steady_clock::now();
  admitted_ = impl_.life().enter();
  if (!admitted_) failed_ = true;
}

OpScope::~OpScope() {
  std::chrono::nanoseconds d{-1};
  if (timed_) d = std::chrono::steady_clock::now() - start_;
  if (op_ != kUnmeasured) impl_.metrics().record(op_, d, failed_);
  if (timed_ && impl_.instrumentation().any()) {
    CallbackScope scope(&impl_);
    impl_.instrumentation().run(op_name(op_), key_, d, impl_.logger());
  }
  impl_.life().leave();
}

Statistics StorageImpl::statistics() {
  Statistics s;
  rocksdb::DB* db = log_->db();
  s.head_seq = log_->head_seq();
  s.event_count = s.head_seq;  // seqs are dense from 1 and the log is never truncated yet
  db->GetIntProperty(projections_->state().column_family(), "rocksdb.estimate-num-keys",
                     &s.approximate_keys);
  std::uint64_t sst = 0;
  db->GetAggregatedIntProperty("rocksdb.total-sst-files-size", &sst);
  rocksdb::VectorLogPtr wals;
  std::uint64_t wal = 0;
  if (db->GetSortedWalFiles(wals).ok()) {
    for (const auto& f : wals) wal += f->SizeFileBytes();
  }
  s.disk_bytes = sst + wal;
  s.policy_cache = PolicyKeeper::statistics(*policy_view_);
  if (backends_) {
    s.offline = backends_->offline();
    s.backends = backends_->statistics();
  }
  return s;
}

std::int64_t StorageImpl::now_ns() const {
  const auto t = options_.clock ? options_.clock() : std::chrono::system_clock::now();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

bool StorageImpl::on_engine_thread() const {
  return pool_.get_executor().running_in_this_thread() || CallbackScope::inside(this);
}

Status StorageImpl::close(bool with_deadline) {
  std::lock_guard cl(close_mu_);
  if (closed_) return Status();
  const auto deadline =
      with_deadline
          ? log::deadline_after<std::chrono::steady_clock>(std::chrono::steady_clock::now(),
                                                           options_.close_timeout)
          : std::chrono::steady_clock::time_point::max();
  life_.start_closing();
  version_keeper_->stop();  // no cleanup pass starts now; a running one stops soon
  if (backends_) backends_->begin_close();  // writes waiting for a backend return now
  log_->interrupt_waiters();
  if (!life_.wait_idle(deadline)) {
    return Status::timed_out(std::to_string(life_.in_flight()) + " call(s) and " +
                             std::to_string(life_.async_pending()) +
                             " async operation(s) still running after close_timeout (new calls "
                             "fail with kUnavailable; call close() again)");
  }
  // Async callbacks queued before closing still run, within the deadline; what is
  // left then is dropped (one already running is waited for by the pool's join).
  if (!life_.wait_callbacks(deadline)) {
    logger_->warn("close: dropping {} queued async callback deliveries", life_.callbacks_pending());
    notifier_.drop_pending();
  }
  // Write-behind work drains while there is time; what is left resumes from the
  // backends' positions when they are added again.
  if (backends_) backends_->close(deadline);
  {
    std::lock_guard l(stats_mu_);
    final_statistics_ = statistics();  // for get_statistics() after close
  }
  if (Status c = projections_->save_checkpoint(); !c.ok()) logger_->warn("close: {}", c.to_string());
  Status flushed = log_->close(deadline);
  if (!flushed.ok()) logger_->warn("close: {}", flushed.to_string());
  pool_.stop();
  pool_.join();
  writes_.reset();
  backends_.reset();
  projections_.reset();  // audit_ stays: audit().config() answers after close
  // policy_view_ stays: policy_cache().statistics() answers after close
  log_.reset();
  closed_ = true;
  logger_->info("closed '{}'", options_.path);
  return flushed;
}

Statistics StorageImpl::final_statistics() {
  std::lock_guard l(stats_mu_);
  return final_statistics_;
}

void StorageImpl::close_in_background() {
  life_.start_closing();  // refuse new calls at once
  std::lock_guard l(closer_mu_);
  if (closer_.joinable()) return;
  closer_ = std::thread([this] {
    Status s = close(/*with_deadline=*/true);
    if (!s.ok()) logger_->warn("close (started from a callback): {}", s.to_string());
  });
}

void StorageImpl::join_closer() {
  std::thread t;
  {
    std::lock_guard l(closer_mu_);
    t = std::move(closer_);
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
  if (Status s = impl->open(); !s.ok()) {
    impl->logger().error("open '{}' failed: {}", impl->options().path, s.to_string());
    return s;
  }
  impl->logger().info("opened '{}' at seq {}", impl->options().path, impl->log().head_seq());
  return std::unique_ptr<Storage>(new Storage(std::move(impl)));
}

Storage::Storage(std::unique_ptr<detail::StorageImpl> impl)
    : impl_(std::move(impl)),
      cache_(*impl_),
      audit_(*impl_),
      notifications_(*impl_),
      versioning_(*impl_),
      policy_cache_(*impl_),
      dead_letters_(*impl_) {}

Storage::~Storage() {
  if (impl_->on_engine_thread()) {
    // Waiting here would wait for ourselves: the close finishes on a thread of its
    // own once this callback returns, and that thread frees the state.
    impl_->logger().warn("a Storage was destroyed on its own executor or in its own callback; "
                         "it finishes closing on a thread of its own");
    impl_->life().start_closing();
    std::thread([impl = std::move(impl_)]() mutable {
      impl->join_closer();
      impl->close(/*with_deadline=*/false).ok();
    }).detach();
    return;
  }
  impl_->join_closer();
  Status s = impl_->close(/*with_deadline=*/true);
  if (s.code() == StatusCode::kTimedOut) {
    impl_->logger().warn("close: {}; waiting for them", s.to_string());
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

boost::asio::any_io_executor Storage::executor() { return impl_->pool().get_executor(); }

bool Storage::async_begin(detail::StorageImpl* impl) { return impl->life().begin_async(); }

void Storage::async_end(detail::StorageImpl* impl) { impl->life().end_async(); }

void Storage::notify_when(detail::StorageImpl* impl, Seq seq, std::function<void(const Status&)> fn) {
  impl->log().notify_when(seq, [fn = std::move(fn)](Status s) { fn(s); });
}

namespace {
// store_data / delete_data: one write, measured as `op`.
Result<Seq> write_one(detail::StorageImpl& impl, Op op, detail::Write w, const WriteOptions& wo) {
  OpScope scope(impl, op, w.key);
  if (!scope.admitted()) return detail::closed_status();
  std::vector<detail::Write> writes;
  writes.push_back(std::move(w));
  return scope.finish(impl.writes().write_data(writes, wo));
}
}  // namespace

Result<Seq> Storage::store_data(std::string_view key, Json&& doc, const WriteOptions& wo) {
  auto owned = std::make_shared<const Json>(std::move(doc));
  const Json* d = owned.get();
  return write_one(*impl_, Op::kStoreData, {key, d, std::move(owned), wo.expected_version}, wo);
}

Result<Seq> Storage::store_data(std::string_view key, const Json& doc, const WriteOptions& wo) {
  return write_one(*impl_, Op::kStoreData, {key, &doc, nullptr, wo.expected_version}, wo);
}

Result<Seq> Storage::delete_data(std::string_view key, const WriteOptions& wo) {
  return write_one(*impl_, Op::kDeleteData, {key, nullptr, nullptr, wo.expected_version}, wo);
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
  return op.finish(impl_->writes().write_data(w, wo));
}

Result<std::optional<Json>> Storage::load_data(std::string_view key) {
  OpScope op(*impl_, Op::kLoadData, key);
  if (!op.admitted()) return detail::closed_status();
  Result<std::optional<Json>> r = impl_->reads().load_copy(key);
  if (r.ok() && !*r && !impl_->backends().empty()) {
    if (auto doc = detail::read_fallback(*impl_, key)) return op.finish(Result<std::optional<Json>>(*doc));
  }
  return op.finish(std::move(r));
}

Result<std::shared_ptr<const Json>> Storage::load_shared(std::string_view key) {
  OpScope op(*impl_, Op::kLoadData, key);
  if (!op.admitted()) return detail::closed_status();
  Result<std::shared_ptr<const Json>> r = impl_->reads().load(key);
  if (r.ok() && !*r && !impl_->backends().empty()) {
    if (auto doc = detail::read_fallback(*impl_, key)) return op.finish(Result<std::shared_ptr<const Json>>(doc));
  }
  return op.finish(std::move(r));
}

Result<Seq> Storage::get_version(std::string_view key) {
  OpScope op(*impl_, Op::kLoadData, key);
  if (!op.admitted()) return detail::closed_status();
  return op.finish(impl_->reads().version(key));
}

Status Storage::wait_for(Seq seq, std::chrono::milliseconds timeout) {
  OpScope op(*impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  return impl_->log().wait_for(seq, timeout);
}

Health Storage::check_health() {
  Health h;
  OpScope op(*impl_, detail::kUnmeasured, {});
  if (!op.admitted()) {
    h.status = HealthStatus::kOffline;
    h.detail = "the store is closed";
    return h;
  }
  log::EventLog& lg = impl_->log();
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
  if (Status d = impl_->health().damage(); !d.ok()) problems.push_back(d.to_string());
  h.backends = impl_->backends().health(/*probe=*/true);
  for (const BackendHealth& b : h.backends) {
    if (b.status == "healthy" || b.status == "paused") continue;
    problems.push_back("backend '" + b.name + "' is " + b.status + (b.last_error.empty() ? "" : ": " + b.last_error));
  }
  if (!problems.empty()) {
    h.status = HealthStatus::kDegraded;
    for (std::size_t i = 0; i < problems.size(); ++i) h.detail += (i ? "; " : "") + problems[i];
  }
  if (impl_->backends().offline()) {
    h.status = HealthStatus::kOffline;
    h.detail = "offline mode: writes stay local until disable_offline_mode()" + (h.detail.empty() ? "" : "; " + h.detail);
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
    s = impl_->final_statistics();
    s.closed = true;
  }
  s.cache = cache_.statistics();
  return s;
}

Metrics Storage::get_metrics() { return impl_->metrics().snapshot(); }

std::string Storage::metrics_text() { return detail::prometheus_text(get_metrics(), get_statistics()); }

std::uint64_t Storage::add_instrumentation_callback(InstrumentationFn fn) {
  return impl_->instrumentation().add(std::move(fn));
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
