// omni bench write | read
#include <memory>

#include "command.h"
#include "omni/tools/bench.h"

namespace omni::tools {

void add_bench_commands(CLI::App& root, Session& s) {
  CLI::App* bench = root.add_subcommand(
      "bench", "Benchmarks on a scratch store, each next to a raw RocksDB baseline from the same run");
  bench->require_subcommand(1);
  for (const BenchKind kind : {BenchKind::kWrite, BenchKind::kRead}) {
    auto o = std::make_shared<BenchOptions>();
    o->kind = kind;
    const bool write = kind == BenchKind::kWrite;
    CLI::App* cmd = add_command(
        *bench, write ? "write" : "read",
        write ? "store_data vs raw RocksDB Put" : "load_data vs raw RocksDB Get",
        write ? "store_data of --events distinct keys on --threads threads, then rocksdb::DB::Put of the same "
                "bytes; prints both rates and the ratio."
              : "Loads --events keys, reopens, then load_data of every key in shuffled order on --threads "
                "threads, then rocksdb::DB::Get of the same keys; prints both rates and the ratio.",
        Access::kNoStore);
    cmd->add_option("--events", o->events, "operations timed")->check(CLI::Range(1ull, 1ull << 40))->capture_default_str();
    cmd->add_option("--threads", o->threads, "threads")->check(CLI::Range(1u, 1024u))->capture_default_str();
    cmd->add_option("--value-bytes", o->value_bytes, "bytes of the value in each document")
        ->check(CLI::Range(std::size_t{1}, std::size_t{(16u << 20) - 16}))
        ->capture_default_str();
    if (write) cmd->add_flag("--sync", o->sync, "fsync every write (both sides)");
    cmd->add_option("--dir", o->dir, "where the scratch stores go (default: the system temp dir)");
    cmd->callback([&s, o] {
      s.run([&] {
        Progress progress = s.progress();
        Result<BenchReport> r = run_bench(*o, progress);
        if (!r.ok()) return s.fail(r.status());
        s.out << to_text(*r, *o);
        return static_cast<int>(kExitOk);
      });
    });
  }
}

}  // namespace omni::tools
