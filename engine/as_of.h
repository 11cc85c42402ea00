// As-of reads: what a key held right after a given seq, answered from the key's
// audit-index rows (which seqs touched it) and the log (what each event was), so
// no projection keeps history of its own.
//
// Exactness under audit retention: pruning removes a key's oldest rows first. A
// document read finds the key's newest data event at or before the seq among the
// rows left; if there is none and rows were pruned, the answer is unknown and the
// read is kNotFound saying how far retention pruned. A relationship read replays
// every edge event of the subject, so it needs the subject's whole history.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "omni/log/event_log.h"
#include "omni/projections/audit_index.h"
#include "omni/types.h"

namespace omni::detail {

class AsOf {
 public:
  AsOf(const log::EventLog& log, const projections::AuditIndex& index) : log_(log), index_(index) {}

  // kInvalidArgument when seq is past the head.
  Status check(Seq seq) const;
  // The key's document right after seq (nullopt: absent then).
  Result<std::optional<Json>> document(std::string_view key, Seq seq) const;
  // Objects of subject's `predicate` edges right after seq, in byte order, paged.
  Result<std::vector<std::string>> related(std::string_view subject, std::string_view predicate,
                                           Seq seq, const ListOptions& lo) const;

 private:
  Status pruned(std::string_view key, Seq through, Seq seq) const;

  const log::EventLog& log_;
  const projections::AuditIndex& index_;
};

}  // namespace omni::detail
