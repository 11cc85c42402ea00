// omni replay sink (added to the `replay` family of replay_command.cc)
#include <memory>

#include "command.h"
#include "omni/tools/config.h"
#include "omni/tools/replay_sink.h"

namespace omni::tools {

void add_replay_sink_command(CLI::App& root, Session& s) {
  struct Args {
    ReplaySinkOptions o;
    std::string config, backend;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* replay = root.get_subcommand("replay");
  CLI::App* cmd = add_command(
      *replay, "sink", "Re-seed a backend from the log (after it lost its data), idempotently",
      "Reads the log from --from-seq (default 1) to the head as of the start and sends every change to "
      "--backend (named in --config) in re-seed batches: each change is applied only where it is newer than "
      "what the backend holds for its item, so running it twice changes nothing more. At the end the "
      "backend's watermark is raised to that head. --dry-run counts the events, changes and bytes it would "
      "send, without connecting.",
      Access::kReadOnly);
  cmd->add_option("--db", a->o.db, "the store's directory")->required();
  cmd->add_option("--config", a->config, "the configuration file naming the backends (JSON)")->required();
  cmd->add_option("--backend", a->backend, "the backend to re-seed: its name in --config")->required();
  cmd->add_option("--from-seq", a->o.from_seq, "start at this seq (default: 1, the whole log)")
      ->check(CLI::Range(Seq{1}, ~Seq{0}));
  cmd->add_flag("--dry-run", a->o.dry_run, "count what would be sent; do not connect");
  cmd->add_option("--batch-events", a->o.batch_events, "events per batch")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str();
  cmd->add_flag("--json", a->json, "print the report as one JSON object");
  cmd->callback([&s, a] {
    s.run([&] {
      Result<ToolConfig> cfg = load_config(a->config);
      if (!cfg.ok()) return s.fail(cfg.status());
      Result<const BackendConfig*> bc = cfg->require(a->backend);
      if (!bc.ok()) return s.fail(bc.status());
      std::unique_ptr<Backend> backend;
      if (!a->o.dry_run) {
        Result<std::unique_ptr<Backend>> b = make_backend(**bc);
        if (!b.ok()) return s.fail(b.status());
        backend = std::move(*b);
        if (Status h = backend->health_check(); !h.ok()) return s.fail(h);
      }
      Progress progress = s.progress();
      Result<ReplaySinkReport> r = replay_sink(a->o, backend.get(), progress);
      if (!r.ok()) return s.fail(r.status());
      s.out << (a->json ? to_json(*r).dump() + "\n" : to_text(*r, a->backend));
      return static_cast<int>(kExitOk);
    });
  });
}

}  // namespace omni::tools
