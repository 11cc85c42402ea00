#include "omni/projections/audit_index.h"

#include <algorithm>
#include <memory>

#include "omni/log/rocks_status.h"

namespace omni::projections {
namespace {

// The seq the next age pass starts from. Starts with NUL: no key can.
const std::string kRetentionCursor = std::string(1, '\0') + "retention_cursor";

}  // namespace

AuditIndex::AuditIndex(const log::EventLog& log, std::string_view suffix)
    : log_(log), cf_(log.column_family(std::string(kKeyIndexCf) + std::string(suffix))) {}

void AuditIndex::inherit(const DurableProjection& previous) {
  if (const auto* p = dynamic_cast<const AuditIndex*>(&previous)) {
    max_per_key_.store(p->max_per_key_.load());
    trim_pending_.store(p->trim_pending_.load());
  }
}

std::string AuditIndex::row_key(std::string_view key, Seq seq) {
  std::string k(key);
  k.push_back('\0');
  k += log::EventLog::seq_key(seq);
  return k;
}

Result<std::vector<Seq>> AuditIndex::seqs(std::string_view key) const {
  std::string prefix(key);
  prefix.push_back('\0');
  std::vector<Seq> out;
  std::unique_ptr<rocksdb::Iterator> it(log_.db()->NewIterator(rocksdb::ReadOptions(), cf_));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (it->key().size() != prefix.size() + 8) {
      return Status::corruption("audit index row of key '" + std::string(key) + "' is malformed");
    }
    const Seq seq = log::EventLog::decode_seq_key(it->key().ToStringView().substr(prefix.size()));
    if (seq != 0) out.push_back(seq);  // seq 0: the key's pruning marker
  }
  if (!it->status().ok()) return log::from_rocks(it->status(), "reading the audit index");
  return out;
}

Result<Seq> AuditIndex::pruned_through(std::string_view key) const {
  Seq through = 0;
  std::string v;
  rocksdb::Status s = log_.db()->Get(rocksdb::ReadOptions(), cf_, row_key(key, 0), &v);
  if (s.ok() && v.size() == 8) {
    through = log::EventLog::decode_seq_key(v);
  } else if (!s.ok() && !s.IsNotFound()) {
    return log::from_rocks(s, "reading the audit index");
  } else if (s.ok()) {
    return Status::corruption("the pruning marker of key '" + std::string(key) + "' is malformed");
  }
  s = log_.db()->Get(rocksdb::ReadOptions(), cf_, kRetentionCursor, &v);
  if (s.ok() && v.size() == 8) {
    through = std::max(through, log::EventLog::decode_seq_key(v) - 1);  // the cursor is the next seq
  } else if (!s.ok() && !s.IsNotFound()) {
    return log::from_rocks(s, "reading the audit retention cursor");
  }
  return through;
}

void AuditIndex::set_max_entries_per_key(std::size_t max) {
  const std::size_t old = max_per_key_.exchange(max);
  if (max != 0 && (old == 0 || max < old)) trim_pending_.store(true);
}

std::string_view AuditIndex::second_key(log::EventType type, const log::EventAttrs& attrs,
                                        std::string_view key) {
  // A relationship event is in the trails of both of its ends (once for a self-loop).
  const bool edge = type == log::EventType::RelationshipAdded || type == log::EventType::RelationshipRemoved;
  return edge && attrs.object != key ? std::string_view(attrs.object) : std::string_view();
}

Status AuditIndex::apply(const log::Event& e, rocksdb::WriteBatch* batch) {
  WriteBatchSink rows(batch);
  return apply_rows(e, rows);
}

Status AuditIndex::apply_rows(const log::Event& e, RowSink& rows) {
  rows.put(cf_, row_key(e.key, e.seq), {});
  if (std::string_view k2 = second_key(e.type, e.attrs, e.key); !k2.empty()) rows.put(cf_, row_key(k2, e.seq), {});
  return Status();
}

Status AuditIndex::stage(log::AppendRequest& req, Seq first_seq, rocksdb::WriteBatch* batch) {
  const std::size_t max = max_per_key_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < req.events.size(); ++i) {
    const log::EventDraft& d = req.events[i];
    const Seq seq = first_seq + i;
    OMNI_RETURN_IF_ERROR(stage_row(d.key, seq, max, batch));
    if (std::string_view k2 = second_key(d.type, d.attrs, d.key); !k2.empty()) {
      OMNI_RETURN_IF_ERROR(stage_row(k2, seq, max, batch));
    }
  }
  return Status();
}

Status AuditIndex::stage_row(std::string_view key, Seq seq, std::size_t max, rocksdb::WriteBatch* batch) {
  batch->Put(cf_, row_key(key, seq), rocksdb::Slice());
  if (max == 0) return Status();
  auto [it, fresh] = overlay_.try_emplace(key);
  std::vector<Seq>& rows = it->second;
  if (fresh) {
    Result<std::vector<Seq>> committed = seqs(key);
    if (!committed.ok()) return committed.status();
    rows = std::move(*committed);
  }
  rows.push_back(seq);
  if (rows.size() > max) {
    const std::size_t drop = rows.size() - max;
    for (std::size_t k = 0; k < drop; ++k) batch->Delete(cf_, row_key(key, rows[k]));
    batch->Put(cf_, row_key(key, 0), log::EventLog::seq_key(rows[drop - 1]));
    rows.erase(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(drop));
  }
  return Status();
}

Status AuditIndex::prune_before(std::int64_t cutoff_ns) {
  rocksdb::DB* db = log_.db();
  std::string v;
  Seq from = 1;
  rocksdb::Status rs = db->Get(rocksdb::ReadOptions(), cf_, kRetentionCursor, &v);
  if (rs.ok() && v.size() == 8) {
    from = log::EventLog::decode_seq_key(v);
  } else if (!rs.ok() && !rs.IsNotFound()) {
    return log::from_rocks(rs, "reading the audit retention cursor");
  }
  rocksdb::WriteBatch batch;
  Seq next = from;
  auto flush = [&]() -> Status {
    batch.Put(cf_, kRetentionCursor, log::EventLog::seq_key(next));
    rocksdb::Status s = db->Write(rocksdb::WriteOptions(), &batch);
    batch.Clear();
    if (!s.ok()) return log::from_rocks(s, "pruning the audit index");
    return Status();
  };
  Status failed;
  Status scanned = log_.scan(from, [&](const log::Event& e) {
    if (e.timestamp_ns >= cutoff_ns) return false;  // the log is in time order
    batch.Delete(cf_, row_key(e.key, e.seq));
    if (std::string_view k2 = second_key(e.type, e.attrs, e.key); !k2.empty()) {
      batch.Delete(cf_, row_key(k2, e.seq));
    }
    next = e.seq + 1;
    if (batch.Count() >= 1000) {
      failed = flush();
      if (!failed.ok()) return false;
    }
    return true;
  });
  OMNI_RETURN_IF_ERROR(scanned);
  OMNI_RETURN_IF_ERROR(failed);
  if (next != from) OMNI_RETURN_IF_ERROR(flush());
  if (trim_pending_.exchange(false)) {
    if (Status s = trim_all(max_per_key_.load()); !s.ok()) {
      trim_pending_.store(true);
      return s;
    }
  }
  return Status();
}

Status AuditIndex::trim_all(std::size_t max) {
  if (max == 0) return Status();
  rocksdb::DB* db = log_.db();
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf_));
  rocksdb::WriteBatch batch;
  std::string key;            // the key whose rows are being collected
  std::vector<std::string> rows;
  auto trim = [&] {
    if (rows.size() > max) {
      const std::size_t drop = rows.size() - max;
      for (std::size_t i = 0; i < drop; ++i) batch.Delete(cf_, rows[i]);
      // The marker (seq 0, before the rows) records how far the key was pruned.
      batch.Put(cf_, row_key(key, 0), rows[drop - 1].substr(rows[drop - 1].size() - 8));
    }
    rows.clear();
  };
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view row = it->key().ToStringView();
    if (row.empty() || row[0] == '\0' || row.size() < 9) continue;  // bookkeeping rows
    std::string_view k = row.substr(0, row.size() - 9);
    if (k != key) {
      trim();
      key.assign(k);
    }
    if (log::EventLog::decode_seq_key(row.substr(row.size() - 8)) == 0) continue;  // the marker
    rows.emplace_back(row);
    if (batch.Count() >= 1000) {
      rocksdb::Status s = db->Write(rocksdb::WriteOptions(), &batch);
      if (!s.ok()) return log::from_rocks(s, "trimming the audit index");
      batch.Clear();
    }
  }
  if (!it->status().ok()) return log::from_rocks(it->status(), "trimming the audit index");
  trim();
  rocksdb::Status s = db->Write(rocksdb::WriteOptions(), &batch);
  if (!s.ok()) return log::from_rocks(s, "trimming the audit index");
  return Status();
}

void AuditIndex::clear(rocksdb::WriteBatch* batch) {
  // Rows start with a key (valid UTF-8, never the byte 0xFF) or, for the index's
  // own bookkeeping, with NUL.
  batch->DeleteRange(cf_, "", "\xff");
}

}  // namespace omni::projections
