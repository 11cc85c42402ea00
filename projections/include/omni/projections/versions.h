// Version index: labelled snapshots of a key (store_version), durable in the
// "versions" column family, written in the same WriteBatch as their events:
//   key \0 'L' label     -> BE64 seq of the VersionStored event holding the document
//   key \0 'S' BE64 seq  -> label            (the key's versions in seq order)
// The document is that event's payload, read from the log (stored once). Keys
// never contain NUL, so a key's rows are exactly those under "key\0".
//
// The L row is authoritative: an S row counts only while its label's L row points
// back at it. Catch-up and rebuild apply events in batches they cannot read back,
// so a label moved or pruned twice within one batch can leave its older S row
// behind; readers skip it and the key's next staged write deletes it.
//
// Events: VersionStored (key, attrs.label, payload = document) and VersionsPruned
// (key, attrs.names = the labels removed, oldest first). Preconditions, checked
// when staging against committed rows + the group's earlier requests + the
// request's own earlier events (the log holds only accepted events, so apply()
// checks nothing):
//  - storing an existing label is kConflict unless the request's
//    WriteContext::overwrite_versions is set; then the label moves to the new seq
//    (it becomes the newest version);
//  - a VersionsPruned may name only labels the key has that are beyond the limit
//    (among its oldest size - max_versions_per_key), else kConflict: a cleanup
//    pass computed from rows a concurrent write has since changed is refused, not
//    applied to the wrong versions.
// Limit: expand() appends, after the VersionStored events of a request that leave
// a key with more than max_versions_per_key versions, one VersionsPruned naming
// the oldest ones, so a replay of the log yields the same versions.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <functional>
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
  explicit VersionIndex(const log::EventLog& log, std::string_view suffix = {});
  void inherit(const DurableProjection& previous) override;  // the limit

  // The key's versions, oldest first.
  Result<std::vector<VersionRow>> list(std::string_view key) const;
  // The seq holding `label` of key, or nullopt.
  Result<std::optional<Seq>> find(std::string_view key, std::string_view label) const;
  // The newest version of key, or nullopt.
  Result<std::optional<VersionRow>> newest(std::string_view key) const;
  // Every (key, version), by key then label, until fn returns false (re-seeding a
  // backend).
  Status for_each_version(const std::function<bool(std::string_view, const VersionRow&)>& fn) const;

  // 0: no limit. Applies to requests expanded from now on (and to over_limit()).
  void set_max_versions_per_key(std::size_t max) { max_.store(max); }
  std::size_t max_versions_per_key() const { return max_.load(); }
  // Calls fn(key, labels) for each key holding more than the limit, with its
  // oldest labels beyond it, until fn returns false (the engine's cleanup pass
  // appends a VersionsPruned for each).
  Status over_limit(const std::function<bool(std::string_view, std::vector<std::string>)>& fn) const;

  std::string_view name() const override { return kVersionsCf; }
  bool reads_payloads() const override { return false; }  // rows point at seqs
  Status expand(log::AppendRequest& req) override;
  Status stage(log::AppendRequest& req, Seq first_seq, rocksdb::WriteBatch* batch) override;
  void finish_group(bool committed) override;
  Status apply(const log::Event& e, rocksdb::WriteBatch* batch) override;
  void clear(rocksdb::WriteBatch* batch) override;
  Status verify(const std::vector<log::Event>& newest) const override;

 private:
  // A key's committed rows: its versions (oldest first) and the S rows no L row
  // points at (see above).
  struct KeyRows {
    std::vector<VersionRow> versions;
    std::vector<Seq> stale;
  };
  struct RowOp;
  Result<KeyRows> committed(std::string_view key) const;
  // The key's versions as committed plus the group in progress; stale S rows of
  // a key not yet in the overlay are added to *stale (may be null).
  Result<std::vector<VersionRow>> current(std::string_view key, std::vector<Seq>* stale) const;
  // One version event's effect on a key's versions (oldest first), checking its
  // preconditions; the row changes go to *ops when it is not null.
  static Status step(std::string_view key, std::vector<VersionRow>& rows, const log::EventDraft& d,
                     Seq seq, bool overwrite, std::size_t max, std::vector<RowOp>* ops);

  const log::EventLog& log_;
  rocksdb::ColumnFamilyHandle* cf_;
  std::atomic<std::size_t> max_{0};
  // Leader-only: the limit expand() used for the request it expanded last, so
  // that request's stage() checks its prunes against the same limit even if
  // set_max_versions_per_key() ran in between.
  std::size_t request_max_ = 0;
  // Leader-only: each key's versions as the group in progress leaves them.
  std::map<std::string, std::vector<VersionRow>, std::less<>> overlay_;
  // apply() (catch-up, rebuild): where each (key, label) stands in the batch being
  // filled, which cannot be read back before it is written (nullopt: removed), so
  // a label moved twice in one batch leaves no stale S row. Reset when a new batch
  // starts (another batch, or a smaller Count()).
  std::map<std::pair<std::string, std::string>, std::optional<Seq>> applied_;
  const rocksdb::WriteBatch* applied_batch_ = nullptr;
  std::uint32_t applied_count_ = 0;
  Result<std::optional<Seq>> applied_label(const log::Event& e, const std::string& label);
};

}  // namespace omni::projections
