// How the tools reach a store: read-only (EventLogOptions::read_only), so they work
// while the service that owns the store runs, and a raw walk over the stored event
// bytes (an event's hash is the SHA-256 of its bytes, so a chain check and an
// export must see the bytes, not the decoded event).
#pragma once

#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <string_view>

#include "omni/log/event_log.h"

namespace omni::tools {

// Opens the store at `path` read-only. `checks`: EventLog's open checks (no gap,
// the head anchor); off for the tools that check the log themselves and report
// where it is damaged. kNotFound when there is no store at `path` (nothing is
// created there).
Result<std::unique_ptr<log::EventLog>> open_read_only(const std::string& path, bool checks = true);

// Raises this process's open-file limit to its hard limit: a read-only open keeps
// every table file of the store open (see EventLogOptions::read_only).
void raise_open_file_limit();

// The stored events with seq in [from, upto], in seq order, as RocksDB holds them:
// key() is the seq the row is stored under (0 when the key is not 8 bytes), bytes()
// the encoded event, valid until next(). Reads with a bounded iterator, not
// filling the block cache, so a walk of the whole log runs in flat memory.
class EventCursor {
 public:
  // `log` must outlive the cursor (and stay open: destroy the cursor first).
  // `readahead`: bytes read from disk at once; a short range wants less.
  EventCursor(const log::EventLog& log, Seq from, Seq upto, std::size_t readahead = 2u << 20);
  EventCursor(const EventCursor&) = delete;  // owns a RocksDB iterator
  EventCursor& operator=(const EventCursor&) = delete;

  // Moves to the first row, then to the next one each call; false past the last
  // (see status()).
  bool next();
  Seq key() const { return key_; }
  std::string_view bytes() const { return it_->value().ToStringView(); }
  // Not OK when the iteration stopped on a read error.
  Status status() const;

 private:
  std::string upper_;
  rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
  Seq from_;
  bool started_ = false;
  Seq key_ = 0;
};

// "store" and "delete" for data events, else the event type's name
// ("relationship_added", …): the names get_audit_trail() uses.
std::string_view operation_name(log::EventType type);
// The event type an operation name (or an event type name: "data_stored") stands
// for; kInvalidArgument listing the names otherwise.
Result<log::EventType> parse_operation(std::string_view name);

}  // namespace omni::tools
