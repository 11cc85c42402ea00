// `omni replay sink`: re-seeds a backend from the log (after Redis lost its data,
// or to fill a new one), idempotently.
//
//   read_from(from) ... read_from(head)        the store, read-only, head fixed at start
//        |  to_change() per event
//        v
//   apply({changes, through = 0, reseed = true})   each change checked against its
//        ...                                       item's stored seq only
//   apply({{}, through = head, reseed = false})    then the watermark, raised to head
//
// Every change carries its event's seq, and a reseed batch applies a change only
// where it is newer than the item's stored seq, so running it twice, or over a
// target that already holds some or all of it, leaves the target as one run
// does. The watermark moves only at the end, so a run cut short leaves it where
// it was (the service's sink worker then feeds the target from there).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "omni/backend.h"
#include "omni/tools/progress.h"

namespace omni::tools {

struct ReplaySinkOptions {
  std::string db;
  Seq from_seq = 1;
  // Counts what would be sent; `backend` is not used (may be null).
  bool dry_run = false;
  std::size_t batch_events = 1000;     // events read (and changes sent) per batch
  std::size_t batch_bytes = 4u << 20;  // encoded event bytes read per batch
};

struct ReplaySinkReport {
  Seq head_seq = 0;  // read at the start: what the watermark is set to
  Seq from_seq = 1;
  std::uint64_t events = 0;   // read from the log
  std::uint64_t changes = 0;  // sent (events that carry nothing for backends are not)
  std::uint64_t bytes = 0;    // of the changes: key, document, names and labels
  std::uint64_t batches = 0;  // apply() calls with changes
  bool dry_run = false;
  bool watermark_set = false;  // the backend keeps one and it was raised to head_seq
};

// kNotFound (no store), kInvalidArgument (from_seq 0), the backend's error on a
// failed apply (69 for kUnavailable/kBackend): what was applied before it stays,
// and the watermark is not moved.
Result<ReplaySinkReport> replay_sink(const ReplaySinkOptions& options, Backend* backend, Progress& progress);
nlohmann::ordered_json to_json(const ReplaySinkReport& r);
std::string to_text(const ReplaySinkReport& r, const std::string& backend_name);

}  // namespace omni::tools
