#include "omni/log/cursor_store.h"

#include "omni/log/rocks_status.h"

namespace omni::log {
namespace {

constexpr std::string_view kPrefix = "cursor/";

std::string row(std::string_view name) { return std::string(kPrefix) + std::string(name); }

Status check_name(std::string_view name) {
  if (name.empty() || name.size() > 256) {
    return Status::invalid_argument("a cursor name must be 1..256 bytes");
  }
  return Status();
}

}  // namespace

CursorStore::CursorStore(const EventLog& log, std::string_view column_family)
    : log_(log), cf_(log.column_family(column_family)) {}

Result<Seq> CursorStore::get(std::string_view name) const {
  OMNI_RETURN_IF_ERROR(check_name(name));
  std::string v;
  rocksdb::Status s = log_.db()->Get(rocksdb::ReadOptions(), cf_, row(name), &v);
  if (s.IsNotFound()) return Seq{0};
  if (!s.ok()) return from_rocks(s, "reading cursor '" + std::string(name) + "'");
  if (v.size() != 8) {
    return Status::corruption("cursor '" + std::string(name) + "' has " + std::to_string(v.size()) +
                              " bytes, expected 8");
  }
  return EventLog::decode_seq_key(v);
}

Status CursorStore::put(std::string_view name, Seq seq, bool sync) {
  std::lock_guard l(mu_);
  OMNI_ASSIGN_OR_RETURN(const Seq current, get(name));
  if (seq < current) {
    return Status::invalid_argument("cursor '" + std::string(name) + "' is at seq " +
                                    std::to_string(current) + "; it cannot move back to " +
                                    std::to_string(seq));
  }
  if (seq > log_.head_seq()) {
    return Status::invalid_argument("cursor '" + std::string(name) + "' cannot pass the head (seq " +
                                    std::to_string(log_.head_seq()) + "): " + std::to_string(seq));
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  rocksdb::Status s = log_.db()->Put(wo, cf_, row(name), EventLog::seq_key(seq));
  if (!s.ok()) return from_rocks(s, "writing cursor '" + std::string(name) + "'");
  return Status();
}

Status CursorStore::erase(std::string_view name) {
  OMNI_RETURN_IF_ERROR(check_name(name));
  rocksdb::Status s = log_.db()->Delete(rocksdb::WriteOptions(), cf_, row(name));
  if (!s.ok()) return from_rocks(s, "erasing cursor '" + std::string(name) + "'");
  return Status();
}

Result<std::map<std::string, Seq>> CursorStore::all() const {
  std::map<std::string, Seq> out;
  std::unique_ptr<rocksdb::Iterator> it(log_.db()->NewIterator(rocksdb::ReadOptions(), cf_));
  for (it->Seek(std::string(kPrefix)); it->Valid() && it->key().starts_with(std::string(kPrefix));
       it->Next()) {
    if (it->value().size() != 8) {
      return Status::corruption("cursor '" + it->key().ToString() + "' is malformed");
    }
    out.emplace(it->key().ToString().substr(kPrefix.size()),
                EventLog::decode_seq_key(it->value().ToStringView()));
  }
  if (!it->status().ok()) return from_rocks(it->status(), "listing cursors");
  return out;
}

}  // namespace omni::log
