// Public value types about the replication of the log into backends: dead
// letters and per-backend statistics (Storage::dead_letters(), get_statistics()).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "omni/seq.h"

namespace omni {

// An event a backend rejected for good (SinkOptions::max_attempts times); the
// worker moved past it. Holds no document and no credentials.
struct DeadLetter {
  std::string backend;
  Seq seq = 0;
  std::string key;
  std::string operation;    // as AuditEntry::operation ("store", …)
  std::string error_class;  // status_code_name() of the rejection ("Backend", "InvalidArgument")
  std::uint32_t attempts = 0;
  std::string last_error;
  std::chrono::system_clock::time_point time;  // when it was dead-lettered (or last retried)
  friend bool operator==(const DeadLetter&, const DeadLetter&) = default;
};

struct BackendStatistics {
  std::string name;
  int priority = 0;
  Seq cursor = 0;  // every event up to it is applied
  Seq lag = 0;     // head - cursor
  std::uint64_t applied_events = 0;  // changes handed to the backend and acknowledged
  std::uint64_t batches = 0;
  std::uint64_t retries = 0;         // failed attempts (each retried after a backoff)
  std::uint64_t dead_letters = 0;    // now in the dead letters
  std::uint64_t reseeds = 0;         // times the backend was re-seeded from the state
  std::string last_error;            // empty when the last attempt succeeded
  bool healthy = false;
  bool paused = false;               // offline mode
  // The backend reports a watermark past the local head: the local log lost its
  // tail (sync=false and a power cut). The worker applies nothing more to it.
  bool ahead_of_log = false;
};

}  // namespace omni
