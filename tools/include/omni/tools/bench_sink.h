// `omni bench sink`: the whole replication path (log -> sink worker ->
// RedisBackend -> Redis) next to raw pipelined hiredis HSETs of the same
// documents, against a redis-server the command starts itself (a unix socket in
// a scratch directory, no TCP port, no persistence), so a user can measure their
// own machine the way bench/redis_bench.cc does.
#pragma once

#include <cstdint>
#include <string>

#include "omni/tools/bench.h"
#include "omni/tools/progress.h"

namespace omni::tools {

struct BenchSinkOptions {
  std::uint64_t events = 20000;    // documents stored (distinct keys), then drained
  std::size_t value_bytes = 100;   // the document is {"v": "<value_bytes x's>"}
  std::string dir;                 // where the scratch store and Redis go; empty: the temp dir
  std::string redis_server = "redis-server";  // the executable (searched in PATH)
};

// omni: the drain (every event stored while offline mode held the worker back,
// then timed from disable_offline_mode() until the backend applied the last);
// raw: the same documents as HSETs (the same fields and "_seq"), pipelined 1,000
// at a time on one hiredis connection. kUnavailable when redis-server cannot be
// started.
Result<BenchReport> run_bench_sink(const BenchSinkOptions& options, Progress& progress);
std::string to_text(const BenchReport& r, const BenchSinkOptions& options);

}  // namespace omni::tools
