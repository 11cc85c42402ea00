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
// A name row holds its decision's seq, so a name row left behind (there should be
// none) can never drop a newer decision of the same triple.
// Cost: a store_data reads nothing here; a delete_data or relationship change
// seeks the name rows of the keys it names.
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
// The names that drop d: its principal, its resource and its depends_on keys, once
// each, sorted (borrowed from d).
std::vector<std::string_view> decision_names(const Decision& d);

class PolicyIndex final : public DurableProjection {
 public:
  explicit PolicyIndex(const log::EventLog& log, std::string_view suffix = {});

  // Every live decision, in row order, until fn returns false.
  Status for_each(const std::function<bool(const Decision&)>& fn) const;
  Result<std::optional<Decision>> get(std::string_view principal, std::string_view action,
                                      std::string_view resource) const;

  std::string_view name() const override { return kPolicyCf; }
  bool reads_payloads() const override { return false; }  // rows point at seqs
  Status stage(log::AppendRequest& req, Seq first_seq, rocksdb::WriteBatch* batch) override;
  void finish_group(bool committed) override;
  Status apply(const log::Event& e, rocksdb::WriteBatch* batch) override;
  void clear(rocksdb::WriteBatch* batch) override;

 private:
  // Rows as the projection sees them while staging or applying: `local` (this
  // request's changes, or catch-up's unwritten batch) over `base` (the group in
  // progress; may be null) over the committed rows. Row key -> value, nullopt =
  // deleted. Defined in the .cc.
  struct Rows;
  // The changes of one event: invalidation of its names first, then its decision.
  Status stage_event(Rows& rows, log::EventType type, std::string_view key,
                     const log::EventAttrs& attrs, Seq seq, std::int64_t timestamp_ns) const;
  // Deletes every live decision naming `name` (and stale name rows of it).
  Status invalidate(Rows& rows, std::string_view name) const;
  // Puts decision d, replacing the triple's older decision and its name rows.
  Status put_decision(Rows& rows, const Decision& d) const;

  const log::EventLog& log_;
  rocksdb::ColumnFamilyHandle* cf_;
  // Leader-only: the rows the group in progress changed (as Rows::local).
  std::map<std::string, std::optional<std::string>, std::less<>> overlay_;
  // Catch-up (apply): the rows changed in batches that may not be written yet.
  // apply() sees only its batch, not whether the batch before was written, so it
  // marks each batch with the seq of its last policy event (row kAppliedMarker)
  // and forgets these rows once the marker is on disk (checked only when the map
  // is big: until then keeping rows that were written is merely redundant).
  std::map<std::string, std::optional<std::string>, std::less<>> applied_;
  Seq last_marker_ = 0;
};

}  // namespace omni::projections
