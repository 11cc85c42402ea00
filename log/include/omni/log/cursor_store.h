// CursorStore: where each reader of the log (a sink, a tool) keeps how far it got,
// durable in a column family of the log ("cursor/<name>" -> BE64 seq; the engine's
// sink workers use "sink_cursors").
// Internal to the engine (not installed).
//
// A cursor is advanced only after the reader has applied the events up to it, so
// after a crash the reader resumes at or before where it really was and applies
// some events again: readers must apply idempotently (by seq).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "omni/log/event_log.h"

namespace omni::log {

class CursorStore {
 public:
  // `log` must outlive this object and have `column_family` open.
  explicit CursorStore(const EventLog& log, std::string_view column_family = kMetaCf);

  // The last seq `name` applied; 0 when it has none yet.
  Result<Seq> get(std::string_view name) const;
  // Records that `name` applied every event up to `seq`. A cursor never moves
  // back: a smaller seq than the stored one is kInvalidArgument. `sync` fsyncs.
  Status put(std::string_view name, Seq seq, bool sync = false);
  // Forgets `name` (its reader was removed).
  Status erase(std::string_view name);
  // Every cursor, by name.
  Result<std::map<std::string, Seq>> all() const;

 private:
  const EventLog& log_;
  rocksdb::ColumnFamilyHandle* cf_;
  mutable std::mutex mu_;  // put's read-check-write is one step per store
};

}  // namespace omni::log
