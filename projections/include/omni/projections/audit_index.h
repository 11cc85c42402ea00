// Audit index: key -> the seqs of the events that touched it, durable in the
// "key_index" column family (row key = key + '\0' + BE64 seq, empty value), written in
// the same WriteBatch as the events. Keys never contain NUL (the engine refuses
// them), so the separator is unambiguous. Retention and per-key limits prune this
// index, never the log.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <vector>

#include "omni/log/event_log.h"

namespace omni::projections {

inline constexpr std::string_view kKeyIndexCf = "key_index";

class AuditIndex {
 public:
  // `log` must outlive this object and have been opened with kKeyIndexCf.
  explicit AuditIndex(const log::EventLog& log);

  // The seqs recorded for `key`, oldest first.
  Result<std::vector<Seq>> seqs(std::string_view key) const;

  // Removes the rows (key, seq) for each of `seqs` (retention and per-key limits).
  Status remove(std::string_view key, const std::vector<Seq>& seqs);

  // Leader-only: adds one row per event of req.
  void stage(const log::AppendRequest& req, Seq first_seq, rocksdb::WriteBatch* batch);

  static std::string row_key(std::string_view key, Seq seq);

 private:
  const log::EventLog& log_;
  rocksdb::ColumnFamilyHandle* cf_;
};

}  // namespace omni::projections
