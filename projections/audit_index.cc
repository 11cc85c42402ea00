#include "omni/projections/audit_index.h"

#include <memory>

namespace omni::projections {

AuditIndex::AuditIndex(const log::EventLog& log)
    : log_(log), cf_(log.column_family(kKeyIndexCf)) {}

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
    out.push_back(log::EventLog::decode_seq_key(it->key().ToStringView().substr(prefix.size())));
  }
  if (!it->status().ok()) return Status::io_error("reading audit index: " + it->status().ToString());
  return out;
}

Status AuditIndex::remove(std::string_view key, const std::vector<Seq>& seqs) {
  rocksdb::WriteBatch batch;
  for (Seq s : seqs) batch.Delete(cf_, row_key(key, s));
  rocksdb::Status s = log_.db()->Write(rocksdb::WriteOptions(), &batch);
  if (!s.ok()) return Status::io_error("pruning the audit index: " + s.ToString());
  return Status();
}

void AuditIndex::stage(const log::AppendRequest& req, Seq first_seq, rocksdb::WriteBatch* batch) {
  for (std::size_t i = 0; i < req.events.size(); ++i) {
    batch->Put(cf_, row_key(req.events[i].key, first_seq + i), rocksdb::Slice());
  }
}

}  // namespace omni::projections
