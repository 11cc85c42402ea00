// `omni audit verify --file`: checks a JSON Lines export (audit_export.h) with no
// store at hand, or against the store it came from (--db with --file).
//
// What each event line proves by itself: its `encoded` bytes pass the FlatBuffers
// verifier and hold the seq of the line; every field shown is what the bytes
// hold; `hash` is the SHA-256 of the bytes. So an edited field, or edited bytes
// whose hash was not recomputed, is caught at that line.
//
// What the file proves as a whole:
//  - complete export (no filter): seqs run 1, 2, … with no gap, seq 1 follows the
//    zero hash, each prev_hash is the previous line's hash, and the last line is
//    the closing line's head, whose hash it has. An edited (even re-hashed),
//    deleted, reordered, inserted or truncated event breaks this and is named by
//    the first bad seq. What remains possible is a whole log re-chained from
//    scratch (or from some seq on) with a matching closing line: only a hash from
//    outside, the anchor (HASH@SEQ, printed by `omni inspect`), detects that —
//    and then proves every event up to the anchor's seq.
//  - filtered export: the chain links consecutive events, and a filter leaves
//    gaps, so only events whose predecessor is also in the file are linked (a
//    key's events are rarely adjacent). Offline it proves each event is
//    self-consistent, that seqs increase, that each event matches the header's
//    filter (an inserted event of another key is caught), that adjacent events
//    chain, that the closing count and digest (SHA-256 of the hashes in file order)
//    match the lines (a deleted, inserted or reordered line that did not also
//    rewrite the closing line is caught), and, with an anchor at an exported seq
//    or the head, that the run of consecutive events ending there is the
//    anchored log's. It cannot prove offline that an event in a gap-separated run
//    is the store's (anyone can build a self-consistent event with any hash), nor
//    that no matching event was dropped together with a rewritten closing line:
//    those need the log in between. Check it against the store (--db and --file:
//    every line must be the store's event at its seq, and every event of the
//    store up to the export's head that matches the filter must be in the file),
//    or against a complete export, which is a copy of that log.
#pragma once

#include <istream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "omni/tools/audit_export.h"
#include "omni/tools/format.h"
#include "omni/tools/progress.h"

namespace omni::tools {

struct FileVerifyOptions {
  std::optional<Anchor> anchor;
};

struct FileVerifyReport {
  bool complete = false;  // the header says no filter
  AuditFilter filter;
  std::uint64_t events = 0;  // event lines checked
  Seq first_seq = 0, last_seq = 0;
  Seq head_seq = 0;  // from the closing line
  log::Hash head_hash{};
  std::uint64_t runs = 0;  // maximal runs of consecutive seqs (each chained inside)
  // With an anchor: the events from `anchored_from` to the anchor's seq are the
  // anchored log's (0: none).
  Seq anchored_from = 0;
  bool anchor_checked = false;
  bool checked_against_store = false;  // verify_export_against_store
  // The first problem, the seq it names (0: none can be named, e.g. the header is
  // missing, or a count mismatch) and the line (1-based; 0: none).
  Seq first_bad_seq = 0;
  std::uint64_t line = 0;
  std::string problem;
  bool ok() const { return problem.empty(); }
};

// Reads the export from `in` and checks it (see above). The Result is an error
// only when `in` cannot be read; a bad file is a report with a problem.
Result<FileVerifyReport> verify_export(std::istream& in, const FileVerifyOptions& options, Progress& progress);

// verify_export of the file at `file`, then, if it passed, compares it with the
// store at `db` (read-only): the store's chain is verified (verify_store), and the
// file must hold exactly the store's events up to the export's head that match
// its filter, byte for byte. This proves a filtered export. kNotFound when the
// file or store does not exist.
Result<FileVerifyReport> verify_export_against_store(const std::string& file, const std::string& db,
                                                     const FileVerifyOptions& options, Progress& progress);

nlohmann::ordered_json to_json(const FileVerifyReport& r);
std::string to_text(const FileVerifyReport& r);

}  // namespace omni::tools
