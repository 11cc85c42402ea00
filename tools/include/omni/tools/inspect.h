// `omni inspect`: what a store holds, read-only (safe while the service runs).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "omni/status.h"

namespace omni::tools {

struct InspectOptions {
  std::string db;
  std::optional<std::string> key;  // also show this key
  std::size_t limit = 20;          // audit entries and relationships shown per key
};

// The report (what --json prints):
//   store, head {seq, hash, anchor (HASH@SEQ, for --anchor), timestamp},
//   event_count, disk_bytes, approximate_keys, head_file (OMNI-HEAD) or null,
//   wal {damaged, detail}, generation (of the projections; 0 before the first
//   rebuild), checkpoints {shared, projections {<name>: the seq it is caught up
//   to: its own row or the shared one, whichever is later}},
//   cursors [{name, seq, lag}] (the tools' and projections' readers),
//   sinks [{name, cursor, lag, position, dead_letters}] (each backend the store
//     knows of, from "sink_cursors" and "dead_letters": cursor and lag are null
//     and position "backend" for one that keeps its own watermark, as Redis does —
//     `omni health` reads it; position "store" otherwise), column_families [names]
// and with a key, "key": {name, exists, version, document (or null),
//   audit {events, pruned_through, first, last, operations {op: count},
//          recent [{seq, timestamp, operation, identity}]},
//   relationships [{subject, predicate, object, seq}], relationships_truncated,
//   versions [{label, seq, timestamp}]}.
// The projections are read as committed (the live generation). kNotFound when
// there is no store; kCorruption when open finds the log damaged (run
// `omni replay verify` to see where).
Result<nlohmann::ordered_json> inspect_store(const InspectOptions& options);

// The report as indented text for people.
std::string inspect_text(const nlohmann::ordered_json& report);

}  // namespace omni::tools
