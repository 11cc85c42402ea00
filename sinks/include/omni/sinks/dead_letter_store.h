// DeadLetterStore: the events backends rejected for good, durable in the
// "dead_letters" column family (row: backend NUL BE64 seq -> JSON of the other
// fields). Never holds documents or credentials. Internal to the engine.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "omni/log/event_log.h"
#include "omni/sink_types.h"

namespace omni::sinks {

inline constexpr std::string_view kDeadLettersCf = "dead_letters";
inline constexpr std::string_view kSinkCursorsCf = "sink_cursors";

class DeadLetterStore {
 public:
  // `log` must outlive this object and have the kDeadLettersCf family.
  explicit DeadLetterStore(const log::EventLog& log);

  Status put(const DeadLetter& d);
  Result<std::optional<DeadLetter>> get(std::string_view backend, Seq seq) const;
  // Oldest first per backend; every backend when `backend` is empty.
  Result<std::vector<DeadLetter>> list(std::string_view backend = {}) const;
  Status erase(std::string_view backend, Seq seq);
  Result<std::uint64_t> count(std::string_view backend) const;

 private:
  const log::EventLog& log_;
  rocksdb::ColumnFamilyHandle* cf_;
};

}  // namespace omni::sinks
