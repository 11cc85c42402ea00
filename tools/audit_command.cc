// omni audit export | verify
#include <fstream>
#include <iostream>
#include <memory>

#include "command.h"
#include "omni/tools/audit_export.h"
#include "omni/tools/audit_verify.h"
#include "omni/tools/format.h"
#include "omni/tools/store.h"
#include "store_verify_command.h"

namespace omni::tools {
namespace {

struct ExportArgs {
  std::string db;
  std::string key, identity, since, until;
  std::vector<std::string> types;
  std::string format = "jsonl";
  std::string out;
};

Result<AuditFilter> filter_of(const ExportArgs& a, const CLI::App& cmd) {
  AuditFilter f;
  auto given = [&](const char* name) { return cmd.count(name) > 0; };
  if (given("--key")) {
    if (a.key.empty() || !utf8_valid(a.key)) return Status::invalid_argument("--key must be non-empty UTF-8");
    f.key = a.key;
  }
  if (given("--identity")) {
    if (a.identity.empty() || !utf8_valid(a.identity)) {
      return Status::invalid_argument("--identity must be non-empty UTF-8");
    }
    f.identity = a.identity;
  }
  if (given("--since")) {
    OMNI_ASSIGN_OR_RETURN(f.since_ns, parse_rfc3339(a.since));
  }
  if (given("--until")) {
    OMNI_ASSIGN_OR_RETURN(f.until_ns, parse_rfc3339(a.until));
  }
  for (const std::string& t : a.types) {
    OMNI_ASSIGN_OR_RETURN(const log::EventType type, parse_operation(t));
    if (std::find(f.types.begin(), f.types.end(), type) == f.types.end()) f.types.push_back(type);
  }
  return f;
}

int run_export(Session& s, const ExportArgs& a, const CLI::App& cmd) {
  Result<AuditFilter> filter = filter_of(a, cmd);
  if (!filter.ok()) return s.fail(filter.status());
  ExportOptions o{.db = a.db, .filter = std::move(*filter),
                  .format = a.format == "csv" ? ExportFormat::kCsv : ExportFormat::kJsonl};
  std::ofstream file;
  std::vector<char> buffer;
  std::ostream* out = &s.out;
  if (!a.out.empty() && a.out != "-") {
    buffer.resize(1u << 20);
    file.rdbuf()->pubsetbuf(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    file.open(a.out, std::ios::binary | std::ios::trunc);
    if (!file) return s.fail(Status::io_error("cannot create '" + a.out + "'"));
    out = &file;
  }
  Progress progress = s.progress();
  Result<ExportSummary> r = export_audit(o, *out, progress);
  if (!r.ok()) return s.fail(r.status());
  if (file.is_open()) {
    file.close();
    if (!file) return s.fail(Status::io_error("writing '" + a.out + "' failed"));
  }
  s.err << "omni: exported " << r->events << " event(s) of " << r->head_seq << " (head "
        << format_anchor({r->head_seq, r->head_hash}) << ")\n";
  if (r->chain_break != 0) {
    return s.fail(Status::corruption("the log's hash chain is broken at seq " + std::to_string(r->chain_break) +
                                     ": the export is complete but will not verify (run `omni replay verify`)"));
  }
  return kExitOk;
}

struct VerifyArgs {
  StoreVerifyArgs store;  // db, anchor, json
  std::string file;
};

int run_verify(Session& s, const VerifyArgs& a) {
  if (a.file.empty() && a.store.db.empty()) {
    return s.fail(Status::invalid_argument("give --db (the store's chain), --file (an export, offline) or both"));
  }
  if (a.file.empty()) return run_store_verify(s, a.store);
  FileVerifyOptions o;
  if (!a.store.anchor.empty()) {
    Result<Anchor> anchor = parse_anchor(a.store.anchor);
    if (!anchor.ok()) return s.fail(anchor.status());
    o.anchor = *anchor;
  }
  Progress progress = s.progress();
  Result<FileVerifyReport> r = Status::internal("unset");
  if (!a.store.db.empty()) {
    if (a.file == "-") return s.fail(Status::invalid_argument("--file - (stdin) cannot be checked against a store"));
    r = verify_export_against_store(a.file, a.store.db, o, progress);
  } else if (a.file == "-") {
    r = verify_export(std::cin, o, progress);
  } else {
    std::ifstream in(a.file, std::ios::binary);
    if (!in) return s.fail(Status::not_found("cannot open the export '" + a.file + "'"));
    r = verify_export(in, o, progress);
  }
  if (!r.ok()) return s.fail(r.status());
  s.out << (a.store.json ? to_json(*r).dump() + "\n" : to_text(*r));
  return r->ok() ? kExitOk : kExitDataErr;
}

}  // namespace

void add_audit_commands(CLI::App& root, Session& s) {
  CLI::App* audit = root.add_subcommand("audit", "The audit trail: export it, verify its hash chain");
  audit->require_subcommand(1);

  auto e = std::make_shared<ExportArgs>();
  CLI::App* exp = add_command(
      *audit, "export", "Write the audit trail (the log's events) as JSON Lines or CSV",
      "Writes the log's events as JSON Lines (verifiable offline: each event's fields, hash, prev_hash and "
      "stored bytes, a header with the filter and a closing line with the head seq and hash) or CSV "
      "(RFC 4180). Streams: memory stays flat however long the log. Times are RFC 3339.",
      Access::kReadOnly);
  exp->add_option("--db", e->db, "the store's directory")->required();
  exp->add_option("--key", e->key, "only this key's trail (its events, and relationships naming it as object)");
  exp->add_option("--identity", e->identity, "only events written by this identity");
  exp->add_option("--since", e->since, "only events at or after this RFC 3339 time (2024-05-01T00:00:00Z)");
  exp->add_option("--until", e->until, "only events before this RFC 3339 time");
  exp->add_option("--type", e->types,
                  "only these operations (repeat or comma-separate): store, delete, relationship_added, "
                  "relationship_removed, version_stored, versions_pruned, policy_decided, batch_marker")
      ->delimiter(',');
  exp->add_option("--format", e->format, "jsonl (default) or csv")
      ->check(CLI::IsMember({"jsonl", "csv"}))
      ->capture_default_str();
  exp->add_option("--out", e->out, "write to FILE instead of stdout");
  exp->callback([&s, e, exp] { s.run([&] { return run_export(s, *e, *exp); }); });

  auto v = std::make_shared<VerifyArgs>();
  CLI::App* ver = add_command(
      *audit, "verify", "Check the hash chain of a store or of an export, naming the first bad seq",
      "Checks a hash chain and reports the first bad seq (exit 65). --db: the store's log (as `omni replay "
      "verify`). --file: a JSON Lines export, offline with no store (- reads stdin): an edited, deleted, "
      "reordered, inserted or truncated event is named by its seq. A filtered export proves only its own "
      "consistency offline; with --db as well it is checked against the store, event by event. See the "
      "README's \"The omni command\" for exactly what each form proves.",
      Access::kReadOnly);
  ver->add_option("--db", v->store.db, "the store's directory");
  ver->add_option("--file", v->file, "an export written by `omni audit export` (JSON Lines)");
  add_store_verify_options(ver, v->store);
  ver->callback([&s, v] { s.run([&] { return run_verify(s, *v); }); });
}

}  // namespace omni::tools
