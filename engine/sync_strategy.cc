// The sync strategies: what a write waits for (BackendRegistry::admit / settle).
#include <algorithm>

#include "backend_registry.h"
#include "omni/log/deadline.h"
#include "validation.h"

namespace omni {

std::string_view sync_strategy_name(SyncStrategy s) {
  switch (s) {
    case SyncStrategy::write_through: return "write_through";
    case SyncStrategy::write_behind: return "write_behind";
    case SyncStrategy::write_around: return "write_around";
  }
  return "unknown";
}

}  // namespace omni

namespace omni::detail {
namespace {

std::string_view operation_of(log::EventType t) {
  switch (t) {
    case log::EventType::DataStored: return "store";
    case log::EventType::DataDeleted: return "delete";
    case log::EventType::RelationshipAdded: return "relationship_added";
    case log::EventType::RelationshipRemoved: return "relationship_removed";
    case log::EventType::VersionStored: return "version_stored";
    case log::EventType::VersionsPruned: return "versions_pruned";
    case log::EventType::PolicyDecided: return "policy_decided";
    default: return "other";
  }
}

}  // namespace

sinks::FlushPolicy BackendRegistry::flush_policy() const {
  sinks::FlushPolicy f;
  if (custom_name_.empty() && strategy_ == SyncStrategy::write_behind) {
    f.delayed = true;
    f.coalesce = true;
    f.interval = strategy_options_.interval;
    f.batch_size = strategy_options_.batch_size;
  }
  return f;
}

bool BackendRegistry::fills_view_on_read() const {
  std::lock_guard l(strategy_mu_);
  return !custom_ && strategy_ != SyncStrategy::write_around;
}

Status BackendRegistry::set_strategy(SyncStrategy s, const StrategyOptions& o) {
  if (Status v = validate_strategy_options(o); !v.ok()) {
    return Status::invalid_argument("StrategyOptions::" + v.message());
  }
  sinks::FlushPolicy f;
  {
    std::lock_guard l(strategy_mu_);
    strategy_ = s;
    strategy_options_ = o;
    custom_name_.clear();
    custom_.reset();
    f = flush_policy();
  }
  for (const WorkerPtr& w : workers()) w->set_flush_policy(f);
  return Status();
}

Status BackendRegistry::set_custom_strategy(std::string_view name, CustomStrategyFn fn) {
  if (name.empty()) return Status::invalid_argument("a custom strategy needs a name");
  if (!fn) return Status::invalid_argument("custom strategy '" + std::string(name) + "' has no function");
  sinks::FlushPolicy f;
  {
    std::lock_guard l(strategy_mu_);
    custom_name_ = std::string(name);
    custom_ = std::make_shared<const CustomStrategyFn>(std::move(fn));
    f = flush_policy();
  }
  for (const WorkerPtr& w : workers()) w->set_flush_policy(f);
  return Status();
}

Result<WriteTicket> BackendRegistry::admit(const std::vector<log::EventDraft>& drafts,
                                           const std::vector<const Json*>& docs) {
  WriteTicket t;
  std::shared_ptr<const CustomStrategyFn> custom;
  SyncStrategy mode;
  {
    std::lock_guard l(strategy_mu_);
    custom = custom_;
    mode = strategy_;
    t.timeout = strategy_options_.write_timeout;
    if (!custom) {
      t.fill_view = mode != SyncStrategy::write_around;
      if (mode != SyncStrategy::write_behind) {
        t.wait = strategy_options_.all_backends ? WriteTicket::Wait::kAllHealthy : WriteTicket::Wait::kFirstHealthy;
      }
    }
  }
  // write_behind (and write-through while offline) waits for nothing: no more work per write.
  if (!custom && (t.wait == WriteTicket::Wait::kNone || offline())) {
    t.wait = WriteTicket::Wait::kNone;
    return t;
  }
  const std::vector<WorkerPtr> ws = workers();
  if (custom) {
    SyncPlan plan;
    for (std::size_t i = 0; i < drafts.size(); ++i) {
      const log::EventDraft& d = drafts[i];
      (*custom)(plan, WriteInfo{operation_of(d.type), d.key, i < docs.size() ? docs[i] : nullptr});
    }
    t.fill_view = plan.fills_view();
    auto known = [&](const std::string& n) {
      return std::any_of(ws.begin(), ws.end(), [&](const WorkerPtr& w) { return w->name() == n; });
    };
    for (const auto* names : {&plan.immediate(), &plan.queued()}) {
      for (const std::string& n : *names) {
        if (!known(n)) {
          return Status::invalid_argument("the sync strategy names backend '" + n +
                                          "', which is not added; nothing was written");
        }
      }
    }
    t.named = plan.immediate();
    std::sort(t.named.begin(), t.named.end());
    t.named.erase(std::unique(t.named.begin(), t.named.end()), t.named.end());
    t.wait = t.named.empty() ? WriteTicket::Wait::kNone : WriteTicket::Wait::kNamed;
  }
  if (t.wait == WriteTicket::Wait::kNone || ws.empty() || offline()) {
    t.wait = WriteTicket::Wait::kNone;
    return t;
  }
  // Refused before anything is written when the write could not be applied by
  // what it must wait for (the reference README's BackendConnectionError).
  std::string why;
  bool any = false;
  for (const WorkerPtr& w : ws) {
    const bool wanted =
        t.wait != WriteTicket::Wait::kNamed || std::binary_search(t.named.begin(), t.named.end(), w->name());
    if (!wanted) continue;
    if (w->healthy()) {
      any = true;
      if (t.wait != WriteTicket::Wait::kNamed) break;
    } else {
      if (t.wait == WriteTicket::Wait::kNamed) {
        return Status::unavailable("backend '" + w->name() + "' is unhealthy (" + w->last_error() +
                                   "); nothing was written (enable_offline_mode() writes locally)");
      }
      why += (why.empty() ? "" : "; ") + w->name() + ": " + w->last_error();
    }
  }
  if (!any) {
    return Status::unavailable("no backend is healthy (" + why +
                               "); nothing was written (enable_offline_mode() writes locally)");
  }
  return t;
}

bool BackendRegistry::settled(const WriteTicket& t, Seq seq, const std::vector<WorkerPtr>& ws) const {
  if (offline()) return true;  // offline mode began while waiting: the write stays local
  switch (t.wait) {
    case WriteTicket::Wait::kNone:
      return true;
    case WriteTicket::Wait::kFirstHealthy:
      // The first healthy backend by priority: when the primary goes down while
      // we wait, the next one acknowledges (failover).
      for (const WorkerPtr& w : ws) {
        if (w->healthy()) return w->cursor() >= seq;
      }
      return false;
    case WriteTicket::Wait::kAllHealthy: {
      bool any = false;
      for (const WorkerPtr& w : ws) {
        if (!w->healthy()) continue;
        any = true;
        if (w->cursor() < seq) return false;
      }
      return any;
    }
    case WriteTicket::Wait::kNamed:
      for (const std::string& n : t.named) {
        auto it = std::find_if(ws.begin(), ws.end(), [&](const WorkerPtr& w) { return w->name() == n; });
        if (it != ws.end() && (*it)->cursor() < seq) return false;  // a removed one is not waited for
      }
      return true;
  }
  return true;
}

Status BackendRegistry::settle(const WriteTicket& t, Seq seq) {
  if (t.wait == WriteTicket::Wait::kNone) return Status();
  const auto deadline = log::deadline_after<std::chrono::steady_clock>(std::chrono::steady_clock::now(), t.timeout);
  std::unique_lock l(progress_.mu);
  while (true) {
    const std::vector<WorkerPtr> ws = workers();
    if (settled(t, seq, ws)) return Status();
    if (closing_.load() || std::chrono::steady_clock::now() >= deadline) break;
    progress_.cv.wait_until(l, deadline);
  }
  std::string state;
  for (const WorkerPtr& w : workers()) {
    state += (state.empty() ? "" : ", ") + w->name() + " at seq " + std::to_string(w->cursor()) +
             (w->healthy() ? "" : " (unhealthy: " + w->last_error() + ")");
  }
  return Status::timed_out("the write is committed as seq " + std::to_string(seq) +
                           " and will be applied, but no backend it waits for applied it " +
                           (closing_.load() ? "before the store closed" : "within write_timeout") + " (" + state +
                           ")");
}

}  // namespace omni::detail
