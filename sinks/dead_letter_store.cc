#include "omni/sinks/dead_letter_store.h"

#include <rocksdb/db.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "omni/log/rocks_status.h"

namespace omni::sinks {
namespace {

std::string row(std::string_view backend, Seq seq) {
  std::string r(backend);
  r.push_back('\0');
  r += log::EventLog::seq_key(seq);
  return r;
}

std::string encode(const DeadLetter& d) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d.time.time_since_epoch()).count();
  return nlohmann::json{{"key", d.key},
                        {"operation", d.operation},
                        {"error_class", d.error_class},
                        {"attempts", d.attempts},
                        {"last_error", d.last_error},
                        {"time_ns", ns}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<DeadLetter> decode(std::string_view key, std::string_view value) {
  const std::size_t nul = key.find('\0');
  if (nul == std::string_view::npos || key.size() != nul + 9) {
    return Status::corruption("a dead-letter row has a malformed key");
  }
  nlohmann::json j = nlohmann::json::parse(value, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::corruption("a dead-letter row is not valid JSON");
  DeadLetter d;
  d.backend = std::string(key.substr(0, nul));
  d.seq = log::EventLog::decode_seq_key(key.substr(nul + 1));
  d.key = j.value("key", "");
  d.operation = j.value("operation", "");
  d.error_class = j.value("error_class", "");
  d.attempts = j.value("attempts", 0u);
  d.last_error = j.value("last_error", "");
  d.time = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::nanoseconds(j.value("time_ns", std::int64_t{0}))));
  return d;
}

}  // namespace

DeadLetterStore::DeadLetterStore(const log::EventLog& log)
    : log_(log), cf_(log.column_family(kDeadLettersCf)) {}

Status DeadLetterStore::put(const DeadLetter& d) {
  rocksdb::WriteOptions wo;
  wo.sync = true;  // rare, and the worker moves past the event once this returns
  return log::from_rocks(log_.db()->Put(wo, cf_, row(d.backend, d.seq), encode(d)), "writing a dead letter");
}

Result<std::optional<DeadLetter>> DeadLetterStore::get(std::string_view backend, Seq seq) const {
  std::string v;
  const std::string k = row(backend, seq);
  rocksdb::Status s = log_.db()->Get(rocksdb::ReadOptions(), cf_, k, &v);
  if (s.IsNotFound()) return std::optional<DeadLetter>();
  if (!s.ok()) return log::from_rocks(s, "reading a dead letter");
  OMNI_ASSIGN_OR_RETURN(DeadLetter d, decode(k, v));
  return std::optional<DeadLetter>(std::move(d));
}

Result<std::vector<DeadLetter>> DeadLetterStore::list(std::string_view backend) const {
  std::vector<DeadLetter> out;
  std::unique_ptr<rocksdb::Iterator> it(log_.db()->NewIterator(rocksdb::ReadOptions(), cf_));
  std::string prefix;
  if (!backend.empty()) {
    prefix = std::string(backend);
    prefix.push_back('\0');
  }
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    OMNI_ASSIGN_OR_RETURN(DeadLetter d, decode(it->key().ToStringView(), it->value().ToStringView()));
    out.push_back(std::move(d));
  }
  OMNI_RETURN_IF_ERROR(log::from_rocks(it->status(), "listing dead letters"));
  return out;
}

Status DeadLetterStore::erase(std::string_view backend, Seq seq) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return log::from_rocks(log_.db()->Delete(wo, cf_, row(backend, seq)), "dropping a dead letter");
}

Result<std::uint64_t> DeadLetterStore::count(std::string_view backend) const {
  OMNI_ASSIGN_OR_RETURN(std::vector<DeadLetter> all, list(backend));
  return static_cast<std::uint64_t>(all.size());
}

}  // namespace omni::sinks
