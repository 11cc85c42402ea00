// omni bench sink (added to the `bench` family of bench_command.cc)
#include <memory>

#include "command.h"
#include "omni/tools/bench_sink.h"

namespace omni::tools {

void add_bench_sink_command(CLI::App& root, Session& s) {
  auto o = std::make_shared<BenchSinkOptions>();
  CLI::App* cmd = add_command(
      *root.get_subcommand("bench"), "sink", "log -> Redis drain vs raw pipelined hiredis HSET",
      "Starts a scratch redis-server (--redis-server, on a unix socket, no persistence), stores --events "
      "documents into a scratch store while offline mode holds its Redis backend's worker back, then times "
      "the drain until Redis applied the last; then HSETs the same documents with hiredis, pipelined 1,000 "
      "deep. Prints both rates and the ratio. Exit 69 when redis-server cannot be started.",
      Access::kNoStore);
  cmd->add_option("--events", o->events, "documents")->check(CLI::Range(1ull, 1ull << 32))->capture_default_str();
  cmd->add_option("--value-bytes", o->value_bytes, "bytes of the value in each document")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1u << 20}))
      ->capture_default_str();
  cmd->add_option("--dir", o->dir, "where the scratch store and Redis go (default: the system temp dir)");
  cmd->add_option("--redis-server", o->redis_server, "the redis-server executable")->capture_default_str();
  cmd->callback([&s, o] {
    s.run([&] {
      Progress progress = s.progress();
      Result<BenchReport> r = run_bench_sink(*o, progress);
      if (!r.ok()) return s.fail(r.status());
      s.out << to_text(*r, *o);
      return static_cast<int>(kExitOk);
    });
  });
}

}  // namespace omni::tools
