// Progress of a long tool run, on stderr (stdout carries the data): a live line
// with events/s and the ETA when stderr is a terminal, one JSON object per line
// otherwise, or nothing.
//
//   tty:  "replay verify: 412,000 / 1,000,000 events (41.2%)  203,114 events/s  ETA 0:03"
//   json: {"task":"replay verify","done":412000,"total":1000000,"events_per_s":203114,
//          "elapsed_s":2.03,"eta_s":2.9,"final":false}
//
// [Threading] One thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "omni/status.h"

namespace omni::tools {

enum class ProgressMode { kAuto, kTty, kJson, kNone };
// "auto", "tty", "json" or "none"; kInvalidArgument otherwise.
Result<ProgressMode> parse_progress_mode(std::string_view text);

class Progress {
 public:
  // `err` must outlive this object. kAuto is kTty when `fd` (the descriptor
  // behind err; -1: none) is a terminal, else kJson. `interval` (0: every update)
  // spaces the lines; the tty default is 0.2 s, the JSON one 1 s.
  Progress(ProgressMode mode, std::ostream& err, int fd = -1,
           std::chrono::milliseconds interval = std::chrono::milliseconds(-1));
  Progress(const Progress&) = delete;  // holds a stream reference and a line in progress
  Progress& operator=(const Progress&) = delete;
  // Ends a task still running, as finish() would.
  ~Progress();

  // Nothing is printed.
  static Progress none(std::ostream& err) { return Progress(ProgressMode::kNone, err); }

  ProgressMode mode() const { return mode_; }
  // Starts a task of `total` events (0: unknown, no percentage or ETA).
  void start(std::string_view task, std::uint64_t total);
  // `done` events so far. Cheap: looks at the clock every 256 calls.
  void update(std::uint64_t done);
  // The task ended after `done` events: always prints a final line.
  void finish(std::uint64_t done);

 private:
  void print(bool final);

  ProgressMode mode_;
  std::ostream* err_;
  std::chrono::steady_clock::duration interval_;
  std::string task_;
  std::uint64_t total_ = 0;
  std::uint64_t done_ = 0;
  std::uint32_t calls_ = 0;
  bool running_ = false;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_print_;
};

}  // namespace omni::tools
