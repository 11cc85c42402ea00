// `omni audit export`: the log as an audit trail, JSON Lines or CSV, streamed (a
// few batches of events in memory at a time, so a 1M-event export runs in flat
// memory) and formatted on every core.
//
// JSON Lines (the verifiable form; `omni audit verify --file` checks it offline):
//
//   {"format":"omni-audit-export","version":1,"complete":false,
//    "filter":{"key":"user:1"},"exported_at":"2024-05-01T12:00:00.000000000Z"}
//   {"seq":7,"timestamp":"2024-05-01T11:59:58.123456789Z","operation":"store",
//    "identity":"svc-auth","key":"user:1","data":{"name":"Alice"},
//    "prev_hash":"<hex>","hash":"<hex>","encoded":"<base64>"}
//   …
//   {"end":"omni-audit-export","events":1,"head_seq":1000,"head_hash":"<hex>",
//    "digest":"<hex>"}
//
// Each event line carries the event's fields for people and programs, its hash
// (SHA-256 of the stored FlatBuffer), its prev_hash (the hash of seq - 1) and
// `encoded`, the stored bytes themselves (base64): anyone can recompute the hash
// with a SHA-256 tool and no Omni code, and the verifier checks that every field
// shown is what the bytes hold. Fields by type: data (the document; not for
// deletes), subject/predicate/object (relationships; subject is the key),
// label (version_stored), labels (versions_pruned), principal/action/allowed/
// ttl_ns/depends_on (policy_decided; key is the resource). The closing line holds
// the head of the log when the export ran, how many events the file holds and
// `digest`, the SHA-256 of their hashes concatenated in file order.
//
// CSV (RFC 4180, CRLF, for spreadsheets; not verifiable: no encoded bytes): a
// header row, one row per event (data, labels and depends_on as compact JSON),
// and a last row with operation "export_end" whose seq and hash are the head's and
// whose data is {"events":N,"digest":"<hex>"}.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "omni/log/event.h"
#include "omni/tools/progress.h"

namespace omni::tools {

inline constexpr std::string_view kExportFormat = "omni-audit-export";
inline constexpr int kExportVersion = 1;

// Which events an export holds (every set condition must hold).
struct AuditFilter {
  // Events in this key's audit trail: its own, and relationship events naming it
  // as the object (as get_audit_trail(key)).
  std::optional<std::string> key;
  std::optional<std::string> identity;   // written by this identity
  std::optional<std::int64_t> since_ns;  // at or after (timestamp_ns)
  std::optional<std::int64_t> until_ns;  // before
  std::vector<log::EventType> types;     // one of these (empty: any)

  bool empty() const { return !key && !identity && !since_ns && !until_ns && types.empty(); }
  bool matches(const log::Event& e) const;
  // As the export's header carries it (times in RFC 3339, types by operation name).
  nlohmann::json to_json() const;
  static Result<AuditFilter> from_json(const nlohmann::json& j);
};

enum class ExportFormat { kJsonl, kCsv };

struct ExportOptions {
  std::string db;
  AuditFilter filter;
  ExportFormat format = ExportFormat::kJsonl;
};

struct ExportSummary {
  Seq head_seq = 0;
  log::Hash head_hash{};
  std::uint64_t events = 0;   // written
  log::Hash digest{};
  // The first seq whose prev_hash did not match the event before it (0: none).
  // The export is still complete, but will not verify: run `omni replay verify`.
  Seq chain_break = 0;
};

// Writes the export of the store at options.db (opened read-only) to `out`.
// kCorruption naming the seq when an event is missing or cannot be decoded (the
// file then ends without its closing line, so it never verifies); kIOError when
// `out` fails.
Result<ExportSummary> export_audit(const ExportOptions& options, std::ostream& out, Progress& progress);

// The fields of an event line except hash and encoded, as JSON: what
// export_audit writes and what the verifier expects the bytes to hold.
// kCorruption when the payload is not JSON.
Result<nlohmann::json> event_fields(const log::Event& e);

}  // namespace omni::tools
