// The omni command's full passes over a log of N events (default 1M store_data of
// the benchmark document over 100k keys), next to a raw RocksDB forward iteration
// over the same log's events column family, in one process and interleaved for
// --rounds rounds: `omni replay verify` (verify_store: decode, SHA-256 chain) and
// `omni audit export` (export_audit, JSON lines, to a discarding stream). Ratios
// are events/s over the iteration's events/s (target >= 0.5).
//   build/bench/tools_bench [--rounds=N] [--events=N] [google benchmark flags]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <iostream>
#include <ostream>
#include <streambuf>

#include "bench_util.h"
#include "omni/tools/audit_export.h"
#include "omni/tools/replay.h"

namespace {

std::filesystem::path g_path;
std::uint64_t g_events = 1000000;

// Counts what it is given and keeps none of it (as `> /dev/null`, without the
// system calls).
class NullBuffer : public std::streambuf {
 public:
  std::uint64_t bytes = 0;

 protected:
  std::streamsize xsputn(const char*, std::streamsize n) override {
    bytes += static_cast<std::uint64_t>(n);
    return n;
  }
  int overflow(int c) override {
    ++bytes;
    return c;
  }
};

void BM_ReplayVerify(benchmark::State& state) {
  for (auto _ : state) {
    omni::tools::Progress quiet = omni::tools::Progress::none(std::cerr);
    auto r = omni::tools::verify_store({.db = g_path.string()}, quiet);
    if (!r.ok() || !r->ok() || r->events_checked != g_events) state.SkipWithError("verify failed");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(g_events));
}

void BM_AuditExport(benchmark::State& state) {
  for (auto _ : state) {
    NullBuffer sink;
    std::ostream out(&sink);
    omni::tools::Progress quiet = omni::tools::Progress::none(std::cerr);
    auto r = omni::tools::export_audit({.db = g_path.string()}, out, quiet);
    if (!r.ok() || r->events != g_events) state.SkipWithError("export failed");
    benchmark::DoNotOptimize(sink.bytes);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(g_events));
}

void BM_RawIteration(benchmark::State& state) { omni::bench::raw_log_iteration(state, g_path, g_events); }

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> extra = {{"events", std::to_string(g_events)}};
  const int rounds = omni::bench::init(argc, argv, &extra);
  g_events = std::stoull(extra["events"]);
  g_path = omni::bench::scratch("tools");
  omni::Options o;
  o.path = g_path.string();
  omni::bench::build_document_log(o, g_events);
  for (int r = 0; r < rounds; ++r) {
    const std::string round = "/round:" + std::to_string(r);
    using Fn = void (*)(benchmark::State&);
    const std::pair<std::string, Fn> figures[] = {
        {"replay_verify", BM_ReplayVerify}, {"rocksdb_iteration", BM_RawIteration}, {"audit_export", BM_AuditExport}};
    for (const auto& [name, fn] : figures) {
      benchmark::RegisterBenchmark((name + round).c_str(), fn)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
    }
  }
  omni::bench::Collector c;
  benchmark::RunSpecifiedBenchmarks(&c);
  const auto& res = c.results;
  if (!res.contains("rocksdb_iteration/iterations:1/real_time")) return 0;  // filtered out: no ratios
  const std::vector<double> raw = res.at("rocksdb_iteration/iterations:1/real_time");
  std::printf("\n%llu events; raw RocksDB iteration %.0f events/s\n", static_cast<unsigned long long>(g_events),
              omni::bench::median(raw));
  for (const char* name : {"replay_verify", "audit_export"}) {
    const auto it = res.find(std::string(name) + "/iterations:1/real_time");
    if (it == res.end()) continue;  // filtered out
    const std::vector<double>& v = it->second;
    const omni::bench::Ratios r = omni::bench::ratios(v, raw);
    std::printf("%s %.0f events/s, ratio %.2f (per round %s; target >= 0.5)\n", name, omni::bench::median(v), r.median,
                r.per_round.c_str());
  }
  return 0;
}
