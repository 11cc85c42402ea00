// `omni replay verify` and `omni replay rebuild` (and `omni audit verify --db`,
// which is the same walk): recovery work on a store.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "omni/log/head_anchor.h"
#include "omni/tools/format.h"
#include "omni/tools/progress.h"

namespace omni::tools {

struct StoreVerifyOptions {
  std::string db;                // the store's directory
  std::optional<Anchor> anchor;  // a head the user trusts (`omni inspect` prints it)
};

// What a walk of the log found. A problem in the log is a report with a problem,
// not an error: the Result is an error only when the walk could not run (no store,
// an I/O error).
struct StoreVerifyReport {
  Seq head_seq = 0;
  log::Hash head_hash{};
  Seq events_checked = 0;
  // OMNI-HEAD, the head the store last knew to be durable (head_anchor.h); checked
  // like an anchor.
  std::optional<log::HeadAnchor> head_file;
  bool anchor_checked = false;  // --anchor was given and its seq was reached
  // The first problem, with the seq it is about (0 when it names none, e.g. a
  // malformed OMNI-HEAD).
  Seq first_bad_seq = 0;
  std::string problem;
  bool ok() const { return problem.empty(); }
};

// Walks every stored event from seq 1 to the head, read-only (works while the
// service runs; sees the log as of the open): the key is the seq it holds, every
// seq is present (a gap is a deleted event), each passes the FlatBuffers verifier,
// and each one's prev_hash is the SHA-256 of the previous one's bytes. A break in
// the chain names the event that changed: when seq N's prev_hash does not match
// seq N-1, seq N is the altered one if seq N+1 does not match it either, else
// seq N-1 is. Then the references: OMNI-HEAD and `anchor` must be reached and
// match the hash at their seq (a log cut short, or re-chained from scratch, passes
// the walk and fails here). Also reported: WAL damage found at open (events past
// it are unreadable).
Result<StoreVerifyReport> verify_store(const StoreVerifyOptions& options, Progress& progress);
nlohmann::ordered_json to_json(const StoreVerifyReport& r);
std::string to_text(const StoreVerifyReport& r);

struct RebuildReport {
  Seq head_seq = 0;  // when the rebuild started
  Seq applied = 0;   // events replayed (the catch-up with concurrent writes included)
};

// Rebuilds every durable projection from the log (Storage::rebuild_projections).
// Writes, so it opens the store for writing: kConflict when another process (the
// service) holds it — stop it, or run rebuild_projections() inside it; kNotFound
// when there is no store at `db` (none is created).
Result<RebuildReport> rebuild_store(const std::string& db, Progress& progress);

}  // namespace omni::tools
