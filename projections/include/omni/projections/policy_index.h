// Policy index: the authorization decisions that are live (not replaced by a newer
// decision of the same identity/action/resource, not invalidated), durable in the
// "policy" column family and written in the same WriteBatch as their events:
//   'd' \0 principal \0 action \0 resource   -> decision (seq, expires, allowed, names)
//   'n' \0 name \0 principal \0 action \0 resource -> BE64 seq of the decision
// where the names of a decision are its principal, its resource and its
// depends_on keys. The in-memory PolicyCacheView is filled from it at open.
//
// Events: PolicyDecided (key = resource, attrs.principal, attrs.action,
// attrs.allowed, attrs.ttl_ns, attrs.names = depends_on). Invalidation: a
// RelationshipAdded/Removed names its subject and object, a DataDeleted its key;
// every live decision with such a name is deleted in the same batch. Expiry is not
// applied to the rows (it depends on the clock, not the log): a reader judges it.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "omni/log/event_log.h"
#include "omni/projections/projection.h"

namespace omni::projections {

inline constexpr std::string_view kPolicyCf = "policy";

struct Decision {
  std::string principal;
  std::string action;
  std::string resource;
  bool allowed = false;
  Seq seq = 0;
  std::int64_t expires_ns = 0;  // event timestamp + ttl
  std::vector<std::string> depends_on;
  friend bool operator==(const Decision&, const Decision&) = default;
};

// The names whose change drops decisions: what an event of a request invalidates.
// Empty for events that invalidate nothing (stores, versions, decisions).
std::vector<std::string_view> invalidated_names(const log::EventDraft& d);

class PolicyIndex final : public DurableProjection {
 public:
  explicit PolicyIndex(const log::EventLog& log);

  // Every live decision, in row order, until fn returns false.
  Status for_each(const std::function<bool(const Decision&)>& fn) const;
  Result<std::optional<Decision>> get(std::string_view principal, std::string_view action,
                                      std::string_view resource) const;

  std::string_view name() const override { return kPolicyCf; }
  Status stage(log::AppendRequest& req, Seq first_seq, rocksdb::WriteBatch* batch) override;
  void finish_group(bool committed) override;
  Status apply(const log::Event& e, rocksdb::WriteBatch* batch) override;
  void clear(rocksdb::WriteBatch* batch) override;

 private:
  const log::EventLog& log_;
  rocksdb::ColumnFamilyHandle* cf_;
  // Leader-only: decisions the group in progress made or dropped (nullopt), by
  // their 'd' row key, and the name rows it added or deleted.
  std::map<std::string, std::optional<Decision>, std::less<>> overlay_;
};

}  // namespace omni::projections
