#include "omni/tools/store.h"

#include <sys/resource.h>

#include "omni/log/rocks_status.h"

namespace omni::tools {

Result<std::unique_ptr<log::EventLog>> open_read_only(const std::string& path, bool checks) {
  log::EventLogOptions o;
  o.path = path;
  o.read_only = true;
  o.skip_open_checks = !checks;
  // A tool reads each block about once: a small cache is enough.
  o.block_cache_size = 8u << 20;
  return log::EventLog::open(std::move(o));
}

void raise_open_file_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
  }
}

EventCursor::EventCursor(const log::EventLog& log, Seq from, Seq upto, std::size_t readahead)
    : upper_(log::EventLog::seq_key(upto + 1)), upper_slice_(upper_), from_(from) {
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = upto == ~Seq{0} ? nullptr : &upper_slice_;
  ro.fill_cache = false;
  ro.readahead_size = readahead;
  it_.reset(log.db()->NewIterator(ro, log.events_column_family()));
}

bool EventCursor::next() {
  if (!started_) {
    started_ = true;
    it_->Seek(log::EventLog::seq_key(from_));
  } else {
    it_->Next();
  }
  if (!it_->Valid()) return false;
  key_ = it_->key().size() == 8 ? log::EventLog::decode_seq_key(it_->key().ToStringView()) : 0;
  return true;
}

Status EventCursor::status() const {
  if (!it_->status().ok()) return log::from_rocks(it_->status(), "reading the log");
  return Status();
}

std::string_view operation_name(log::EventType type) {
  switch (type) {
    case log::EventType::DataStored: return "store";
    case log::EventType::DataDeleted: return "delete";
    default: return log::event_type_name(type);
  }
}

Result<log::EventType> parse_operation(std::string_view name) {
  std::string known;
  for (int t = static_cast<int>(log::EventType::MIN); t <= static_cast<int>(log::EventType::MAX); ++t) {
    const auto type = static_cast<log::EventType>(t);
    if (name == operation_name(type) || name == log::event_type_name(type)) return type;
    known += (known.empty() ? "" : ", ") + std::string(operation_name(type));
  }
  return Status::invalid_argument("unknown event type '" + std::string(name) + "' (one of: " + known + ")");
}

}  // namespace omni::tools
