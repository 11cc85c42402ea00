// The policy cache's facade: decisions go through the one write path as
// policy_decided events (the log is the decision log); lookups are answered by the
// in-memory PolicyCacheView, which the group leader keeps in step with the log
// (projections/policy_cache.h), so this file only validates and translates.
#include <chrono>

#include "storage_impl.h"
#include "validation.h"

namespace omni {
namespace {

using detail::Op;
using detail::OpScope;

inline constexpr std::size_t kMaxDepends_on = detail::kMaxDependsOn;

Status validate_decision(std::string_view identity, std::string_view action, std::string_view resource) {
  // The identity is the principal decided about, a key of its own: relationship
  // changes naming it drop the decision.
  OMNI_RETURN_IF_ERROR(detail::validate_identity(identity));
  OMNI_RETURN_IF_ERROR(detail::validate_action(action));
  if (Status s = detail::validate_key(resource); !s.ok()) {
    return Status::invalid_argument("resource: " + s.message());
  }
  return Status();
}

Status validate_max_entries(std::size_t n) {
  if (n == 0 || n > detail::kMaxCacheEntries) {
    return Status::invalid_argument("policy cache max_entries is " + std::to_string(n) + "; it must be 1.." +
                                    std::to_string(detail::kMaxCacheEntries));
  }
  return Status();
}

}  // namespace

Result<Seq> Storage::cache_policy_decision(std::string_view identity, std::string_view action,
                                           std::string_view resource, bool allowed,
                                           const PolicyOptions& po) {
  OpScope op(*impl_, Op::kCachePolicyDecision, resource);
  if (!op.admitted()) return detail::closed_status();
  auto refuse = [&](Status s) { return op.finish(Result<Seq>(std::move(s))); };
  if (Status s = validate_decision(identity, action, resource); !s.ok()) return refuse(s);
  if (po.depends_on.size() > kMaxDepends_on) {
    return refuse(Status::invalid_argument("depends_on holds " + std::to_string(po.depends_on.size()) +
                                           " keys; at most " + std::to_string(kMaxDepends_on)));
  }
  for (const std::string& k : po.depends_on) {
    if (Status s = detail::validate_key(k); !s.ok()) {
      return refuse(Status::invalid_argument("depends_on: " + s.message()));
    }
  }
  const std::chrono::seconds ttl = po.ttl.value_or(impl_->policy().default_ttl());
  if (Status s = detail::validate_ttl(ttl); !s.ok()) return refuse(s);

  log::EventDraft d;
  d.type = log::EventType::PolicyDecided;
  d.key.assign(resource);
  d.attrs.principal.assign(identity);
  d.attrs.action.assign(action);
  d.attrs.allowed = allowed;
  d.attrs.ttl_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(ttl).count();
  d.attrs.names = po.depends_on;
  std::vector<log::EventDraft> drafts;
  drafts.push_back(std::move(d));
  WriteOptions wo;  // recorded under the store's default identity
  wo.sync = po.sync;
  Result<detail::AppendResult> r = impl_->writes().append(std::move(drafts), {}, wo, false);
  if (!r.ok()) return refuse(r.status());
  return op.finish(impl_->writes().settle(*r, r->first_seq));
}

Result<std::optional<bool>> Storage::get_cached_policy(std::string_view identity, std::string_view action,
                                                       std::string_view resource) {
  OpScope op(*impl_, Op::kGetCachedPolicy, resource);
  if (!op.admitted()) return detail::closed_status();
  if (Status s = validate_decision(identity, action, resource); !s.ok()) {
    return op.finish(Result<std::optional<bool>>(std::move(s)));
  }
  return op.finish(Result<std::optional<bool>>(impl_->policy_view().lookup(identity, action, resource)));
}

Status PolicyCache::configure(const PolicyCacheConfig& config) {
  detail::OpScope op(impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  // Both checked before either is applied.
  if (config.default_ttl) {
    if (Status s = detail::validate_ttl(*config.default_ttl); !s.ok()) {
      return Status::invalid_argument("default_ttl: " + s.message());
    }
  }
  if (config.max_entries) OMNI_RETURN_IF_ERROR(validate_max_entries(*config.max_entries));
  if (config.default_ttl) impl_.policy().set_default_ttl(*config.default_ttl);
  if (config.max_entries) impl_.policy_view().set_capacity(*config.max_entries);
  return Status();
}

PolicyCacheConfig PolicyCache::config() const {
  PolicyCacheConfig c;
  c.default_ttl = impl_.policy().default_ttl();
  c.max_entries = impl_.policy_view().statistics().capacity;
  return c;
}

PolicyCacheStatistics PolicyCache::statistics() const {
  return detail::PolicyKeeper::statistics(impl_.policy_view());
}

}  // namespace omni
