// omni replay verify | rebuild
#include <memory>

#include "command.h"
#include "omni/tools/replay.h"
#include "store_verify_command.h"

namespace omni::tools {

int run_store_verify(Session& s, const StoreVerifyArgs& a) {
  StoreVerifyOptions o{.db = a.db};
  if (!a.anchor.empty()) {
    Result<Anchor> anchor = parse_anchor(a.anchor);
    if (!anchor.ok()) return s.fail(anchor.status());
    o.anchor = *anchor;
  }
  Progress progress = s.progress();
  Result<StoreVerifyReport> r = verify_store(o, progress);
  if (!r.ok()) return s.fail(r.status());
  s.out << (a.json ? to_json(*r).dump() + "\n" : to_text(*r));
  return r->ok() ? kExitOk : kExitDataErr;
}

void add_store_verify_options(CLI::App* cmd, StoreVerifyArgs& a) {
  cmd->add_option("--anchor", a.anchor,
                  "HASH@SEQ: a head hash you trust (printed by `omni inspect`); the log must reach SEQ "
                  "and hash to HASH there, which detects a log re-chained from scratch or cut short");
  cmd->add_flag("--json", a.json, "print the report as one JSON object");
}

void add_replay_commands(CLI::App& root, Session& s) {
  CLI::App* replay = root.add_subcommand("replay", "Recovery: verify the log, rebuild the projections from it");
  replay->require_subcommand(1);

  auto v = std::make_shared<StoreVerifyArgs>();
  CLI::App* verify = add_command(
      *replay, "verify", "Check the whole log: no gap, every event decodable, the hash chain intact",
      "Walks the whole log: every seq present (no gap), each event through the FlatBuffers verifier, each "
      "prev_hash the SHA-256 of the event before, and OMNI-HEAD (and --anchor) reached and matching. "
      "Reports the first problem with its seq; exit 65 on any problem.",
      Access::kReadOnly);
  verify->add_option("--db", v->db, "the store's directory")->required();
  add_store_verify_options(verify, *v);
  verify->callback([&s, v] { s.run([&] { return run_store_verify(s, *v); }); });

  auto db = std::make_shared<std::string>();
  CLI::App* rebuild = add_command(
      *replay, "rebuild", "Rebuild every projection from the log, with progress",
      "Rebuilds every projection (state, audit index, relationships, versions, policy decisions) from the "
      "log, with progress on stderr.",
      Access::kWrites);
  rebuild->add_option("--db", *db, "the store's directory")->required();
  rebuild->callback([&s, db] {
    s.run([&] {
      Progress progress = s.progress();
      Result<RebuildReport> r = rebuild_store(*db, progress);
      if (!r.ok()) return s.fail(r.status());
      s.out << "rebuilt the projections from " << r->applied << " events (head seq " << r->head_seq << ")\n";
      return static_cast<int>(kExitOk);
    });
  });
}

}  // namespace omni::tools
