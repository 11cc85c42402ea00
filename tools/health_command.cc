// omni health
#include <memory>

#include "command.h"
#include "omni/tools/health.h"

namespace omni::tools {

void add_health_command(CLI::App& root, Session& s) {
  struct Args {
    std::string db, config;
    Seq max_lag = 0;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = add_command(
      root, "health", "Backend health: reachable, watermark and lag behind the local head",
      "Opens each backend of --config, runs its health check and reads its watermark (the last seq it "
      "applied), and compares it with the store's head: per backend its status (healthy, lagging, "
      "no_watermark, ahead_of_log, down), watermark, lag and error.\n\n"
      "Health status (exit):\n"
      "  0   healthy: every backend reachable, with a watermark not past the head (and within --max-lag)\n"
      "  1   degraded: some backend is down, lagging, without a watermark (wiped: run `omni replay sink`) "
      "or ahead of the log\n"
      "  69  down: every backend is unreachable",
      Access::kReadOnly);
  cmd->add_option("--db", a->db, "the store's directory")->required();
  cmd->add_option("--config", a->config, "the configuration file naming the backends (JSON)")->required();
  cmd->add_option("--max-lag", a->max_lag, "a backend more than this many events behind is lagging (default: no limit)");
  cmd->add_flag("--json", a->json, "print the report as one JSON object");
  cmd->callback([&s, a, cmd] {
    s.run([&] {
      Result<ToolConfig> cfg = load_config(a->config);
      if (!cfg.ok()) return s.fail(cfg.status());
      HealthOptions o{.db = a->db};
      if (cmd->count("--max-lag")) o.max_lag = a->max_lag;
      Result<HealthReport> r = check_backends(o, *cfg);
      if (!r.ok()) return s.fail(r.status());
      s.out << (a->json ? to_json(*r).dump() + "\n" : to_text(*r));
      return r->exit_code();
    });
  });
}

}  // namespace omni::tools
