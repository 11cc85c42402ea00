// Version index: labelled snapshots of a key (store_version), durable in the
// "versions" column family, written in the same WriteBatch as their events:
//   key \0 'L' label     -> BE64 seq of the VersionStored event holding the document
//   key \0 'S' BE64 seq  -> label            (the key's versions in seq order)
// The document is that event's payload, read from the log (stored once).
//
// Events: VersionStored (key, attrs.label, payload = document) and VersionsPruned
// (key, attrs.names = the labels removed). Storing an existing label is kConflict
// unless the request's WriteContext::overwrite is set; then the label moves to the
// new seq (it becomes the newest version).
// Limit: expand() appends, after a VersionStored that leaves the key with more than
// max_versions_per_key versions, one VersionsPruned naming the oldest ones, so a
// replay of the log yields the same versions.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "omni/log/event_log.h"
#include "omni/projections/projection.h"

namespace omni::projections {

inline constexpr std::string_view kVersionsCf = "versions";

struct VersionRow {
  std::string label;
  Seq seq = 0;
  friend bool operator==(const VersionRow&, const VersionRow&) = default;
};

class VersionIndex final : public DurableProjection {
 public:
  explicit VersionIndex(const log::EventLog& log);

  // The key's versions, oldest first.
  Result<std::vector<VersionRow>> list(std::string_view key) const;
  // The seq holding `label` of key, or nullopt.
  Result<std::optional<Seq>> find(std::string_view key, std::string_view label) const;
  // The newest version of key, or nullopt.
  Result<std::optional<VersionRow>> newest(std::string_view key) const;

  // 0: no limit. Applies to later VersionStored events (and prune_all()).
  void set_max_versions_per_key(std::size_t max) { max_.store(max); }
  std::size_t max_versions_per_key() const { return max_.load(); }
  // Calls fn(key, labels) for each key holding more than the limit, with its
  // oldest labels beyond it, until fn returns false (the engine's cleanup pass
  // appends a VersionsPruned for each).
  Status over_limit(const std::function<bool(std::string_view, std::vector<std::string>)>& fn) const;

  std::string_view name() const override { return kVersionsCf; }
  Status expand(log::AppendRequest& req) override;
  Status stage(log::AppendRequest& req, Seq first_seq, rocksdb::WriteBatch* batch) override;
  void finish_group(bool committed) override;
  Status apply(const log::Event& e, rocksdb::WriteBatch* batch) override;
  void clear(rocksdb::WriteBatch* batch) override;
  Status verify(const std::vector<log::Event>& newest) const override;

 private:
  const log::EventLog& log_;
  rocksdb::ColumnFamilyHandle* cf_;
  std::atomic<std::size_t> max_{0};
  // Leader-only: each key's versions as the group in progress leaves them.
  std::map<std::string, std::vector<VersionRow>, std::less<>> overlay_;
};

}  // namespace omni::projections
