// Audit index: key -> the seqs of the events that touched it (a relationship
// event touches its subject and its object), durable in the
// "key_index" column family (row key = key + '\0' + BE64 seq, empty value), written in
// the same WriteBatch as the events. Keys never contain NUL (the engine refuses
// them), so the separator is unambiguous, and rows starting with NUL are free for
// the index's own bookkeeping (the retention cursor).
//
// Retention prunes this index, never the log, and depends only on the log (each
// event's time, each key's count) and the configuration, never on reads:
//  - the per-key limit is applied at write time: staging a key's event deletes
//    that key's rows beyond the newest max_entries_per_key, in the same batch;
//  - age is applied by prune_before(), a pass over the log from where the previous
//    pass stopped (the engine runs it in the background), which also trims every
//    key to the per-key limit once after that limit was lowered.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <chrono>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "omni/log/event_log.h"
#include "omni/projections/projection.h"

namespace omni::projections {

inline constexpr std::string_view kKeyIndexCf = "key_index";

class AuditIndex final : public DurableProjection {
 public:
  // `log` must outlive this object and have been opened with kKeyIndexCf.
  explicit AuditIndex(const log::EventLog& log, std::string_view suffix = {});
  void inherit(const DurableProjection& previous) override;  // the per-key limit

  // The seqs recorded for `key`, oldest first.
  Result<std::vector<Seq>> seqs(std::string_view key) const;
  // How far retention pruned key's rows: rows of seqs up to this may be missing
  // (0: the key's history is complete). The per-key limit leaves a marker row
  // (key \0 BE64 0 -> the newest seq it dropped); the age pass its cursor.
  Result<Seq> pruned_through(std::string_view key) const;

  // Keep at most `max` newest rows per key (0: no limit). Lowering it makes the
  // next prune_before() trim every key.
  void set_max_entries_per_key(std::size_t max);

  std::string_view name() const override { return kKeyIndexCf; }
  bool reads_payloads() const override { return false; }  // rows point at seqs
  // Leader-only: adds one row per event of req, and trims each key to the limit.
  Status stage(log::AppendRequest& req, Seq first_seq, rocksdb::WriteBatch* batch) override;
  void finish_group(bool) override { overlay_.clear(); }
  // One row per event (the per-key limit is applied when the key is next written
  // or by the next prune_before()).
  Status apply(const log::Event& e, rocksdb::WriteBatch* batch) override;
  bool bulk_loadable() const override { return true; }  // apply() only writes
  Status apply_rows(const log::Event& e, RowSink& rows) override;
  // Not verified at open: which rows retention pruned depends on a configuration
  // the index does not keep.
  void clear(rocksdb::WriteBatch* batch) override;

  // Deletes the rows of events with timestamp_ns < cutoff_ns, scanning the log
  // from the seq where the previous pass stopped (kept in the index itself) to the
  // first event at or after the cutoff; then, if the per-key limit was lowered,
  // trims every key to it. Safe alongside writers. Not concurrently with itself.
  Status prune_before(std::int64_t cutoff_ns);

  static std::string row_key(std::string_view key, Seq seq);
  // The other key an event names, whose trail it is also in (a relationship's
  // object), or empty.
  static std::string_view second_key(log::EventType type, const log::EventAttrs& attrs,
                                     std::string_view key);

 private:
  // One row of key's trail, trimming the key to `max` (0: no limit).
  Status stage_row(std::string_view key, Seq seq, std::size_t max, rocksdb::WriteBatch* batch);
  Status trim_all(std::size_t max);

  const log::EventLog& log_;
  rocksdb::ColumnFamilyHandle* cf_;
  std::atomic<std::size_t> max_per_key_{0};
  std::atomic<bool> trim_pending_{false};
  // Leader-only: the rows of each key written or seen in the group in progress.
  std::unordered_map<std::string_view, std::vector<Seq>> overlay_;
};

}  // namespace omni::projections
