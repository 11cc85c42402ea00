// omni::Storage: backends, sync strategies, offline mode, dead letters, and the
// read fallback (the parts live in backend_registry.* and sync_strategy.cc).
#include "omni/storage.h"
#include "storage_impl.h"

namespace omni {

using detail::OpScope;

Status Storage::add_backend(std::string_view name, std::unique_ptr<Backend> backend, int priority) {
  OpScope op(*impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  return impl_->backends().add(name, std::move(backend), priority);
}

Status Storage::remove_backend(std::string_view name) {
  OpScope op(*impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  return impl_->backends().remove(name);
}

Status Storage::set_sync_strategy(SyncStrategy strategy, const StrategyOptions& options) {
  OpScope op(*impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  return impl_->backends().set_strategy(strategy, options);
}

Status Storage::set_sync_strategy(std::string_view name, CustomStrategyFn fn) {
  OpScope op(*impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  return impl_->backends().set_custom_strategy(name, std::move(fn));
}

void Storage::enable_offline_mode() {
  OpScope op(*impl_, detail::kUnmeasured, {});
  if (op.admitted()) impl_->backends().set_offline(true);
}

void Storage::disable_offline_mode() {
  OpScope op(*impl_, detail::kUnmeasured, {});
  if (op.admitted()) impl_->backends().set_offline(false);
}

bool Storage::is_offline() {
  OpScope op(*impl_, detail::kUnmeasured, {});
  return op.admitted() && impl_->backends().offline();
}

Status Storage::wait_for_backend(std::string_view name, Seq seq, std::chrono::milliseconds timeout) {
  OpScope op(*impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  return impl_->backends().wait_for(name, seq, timeout);
}

Result<std::vector<DeadLetter>> DeadLetters::list(std::string_view backend) {
  OpScope op(impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  return impl_.backends().dead_letters(backend);
}

Status DeadLetters::retry(std::string_view backend, Seq seq) {
  OpScope op(impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  return impl_.backends().retry_dead_letter(backend, seq);
}

Status DeadLetters::drop(std::string_view backend, Seq seq) {
  OpScope op(impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  return impl_.backends().drop_dead_letter(backend, seq);
}

namespace detail {

// load_data of a key absent locally: the local log is the truth for every key it
// knows, so a key it ever wrote (now deleted) is absent whatever a lagging
// backend still holds. Only a key the log never had (no audit history) is asked
// of the backends, by priority; what one returns is served (and cached in the
// view unless write_around) but never written into the log.
std::shared_ptr<const Json> read_fallback(StorageImpl& impl, std::string_view key) {
  BackendRegistry& b = impl.backends();
  if (b.empty()) return nullptr;
  projections::AuditIndex& audit = impl.projections().audit();
  Result<std::vector<Seq>> seqs = audit.seqs(key);
  if (!seqs.ok() || !seqs->empty()) return nullptr;
  Result<Seq> pruned = audit.pruned_through(key);
  if (!pruned.ok() || *pruned > 0) return nullptr;
  std::optional<Json> doc = b.fallback(key);
  if (!doc) return nullptr;
  if (b.fills_view_on_read()) impl.reads().put(key, *doc, impl.options().max_value_bytes).ok();
  return std::make_shared<const Json>(std::move(*doc));
}

}  // namespace detail
}  // namespace omni
