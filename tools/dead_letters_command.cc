// omni dead-letters list | retry | drop
#include <memory>

#include "command.h"
#include "omni/tools/config.h"
#include "omni/tools/dead_letters.h"

namespace omni::tools {
namespace {

struct Args {
  DeadLetterFilter f;
  Seq seq = 0;
  std::string config;
  bool json = false;
};

void add_filter(CLI::App* cmd, Args& a, bool sink_required) {
  cmd->add_option("--db", a.f.db, "the store's directory")->required();
  auto* sink = cmd->add_option("--sink", a.f.sink, "the backend's name (as added to the store)");
  if (sink_required) sink->required();
  cmd->add_option("--seq", a.seq, "only the dead letter of this event")->check(CLI::Range(Seq{1}, ~Seq{0}));
  cmd->add_flag("--json", a.json, "print JSON");
}

// Exit status of a retry or drop: the first failure's, else 0.
int outcome_code(const std::vector<DeadLetterOutcome>& outcomes) {
  for (const auto& o : outcomes) {
    if (!o.status.ok()) return exit_code_for(o.status);
  }
  return kExitOk;
}

}  // namespace

void add_dead_letters_commands(CLI::App& root, Session& s) {
  CLI::App* dl = root.add_subcommand("dead-letters", "Changes a backend rejected for good: list, retry, drop");
  dl->require_subcommand(1);

  auto l = std::make_shared<Args>();
  CLI::App* list = add_command(*dl, "list", "List the dead letters (every backend's, or --sink's)",
                               "Prints each dead letter: backend, seq, key, operation, error class, attempts, when, "
                               "and the last error. No documents or credentials are kept in them.",
                               Access::kReadOnly);
  add_filter(list, *l, false);
  list->callback([&s, l, list] {
    s.run([&] {
      if (list->count("--seq")) l->f.seq = l->seq;
      Result<std::vector<DeadLetter>> r = list_dead_letters(l->f);
      if (!r.ok()) return s.fail(r.status());
      s.out << (l->json ? to_json(*r).dump() + "\n" : to_text(*r));
      return static_cast<int>(kExitOk);
    });
  });

  for (const bool retry : {true, false}) {
    auto a = std::make_shared<Args>();
    CLI::App* cmd = add_command(
        *dl, retry ? "retry" : "drop",
        retry ? "Apply dead letters again through the backend (from --config); applied ones are removed"
              : "Forget dead letters (the backend never gets those changes)",
        retry ? "Applies --sink's dead letters (or only --seq's) again through the backend --config names "
                "--sink, checked per item like a re-seed: one applied is removed; one that fails again stays, "
                "with the new error and one more attempt. The backend's worker stays paused (offline mode): "
                "nothing else is sent to it. If the service holds the store, run the retry through it "
                "(storage->dead_letters().retry) or stop it."
              : "Removes --sink's dead letters (or only --seq's). If the service holds the store, run the drop "
                "through it (storage->dead_letters().drop) or stop it.",
        Access::kWrites);
    add_filter(cmd, *a, true);
    if (retry) {
      cmd->add_option("--config", a->config, "the configuration file naming the backend --sink (JSON)")->required();
    }
    cmd->callback([&s, a, cmd, retry] {
      s.run([&] {
        if (cmd->count("--seq")) a->f.seq = a->seq;
        Result<std::vector<DeadLetterOutcome>> r = Status::internal("unset");
        if (retry) {
          Result<ToolConfig> cfg = load_config(a->config);
          if (!cfg.ok()) return s.fail(cfg.status());
          Result<const BackendConfig*> bc = cfg->require(a->f.sink);
          if (!bc.ok()) return s.fail(bc.status());
          Result<std::unique_ptr<Backend>> b = make_backend(**bc);
          if (!b.ok()) return s.fail(b.status());
          r = retry_dead_letters(a->f, std::move(*b));
        } else {
          r = drop_dead_letters(a->f);
        }
        if (!r.ok()) return s.fail(r.status());
        s.out << (a->json ? to_json(*r).dump() + "\n" : to_text(*r, retry));
        return outcome_code(*r);
      });
    });
  }
}

}  // namespace omni::tools
