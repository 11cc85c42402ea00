// rebuild_projections() of a log of N events (default 1M store_data of the
// benchmark document over 100k keys) next to a raw RocksDB forward iteration over
// the same log's events column family (every value touched), in the same process
// and interleaved: omni, raw, omni, … for --rounds rounds. The ratio is events/s of
// the rebuild over events/s of the iteration (target >= 0.35).
//   build/bench/rebuild_bench [--rounds=N] [--events=N] [google benchmark flags]
#include <benchmark/benchmark.h>
#include <rocksdb/db.h>

#include <cstdio>

#include "bench_util.h"
#include "omni/storage.h"

namespace {

using omni::bench::median;

std::filesystem::path g_path;
std::uint64_t g_events = 1000000;

omni::Options options() {
  omni::Options o;
  o.path = g_path.string();
  return o;
}

void build_log() {
  g_path = omni::bench::scratch("rebuild");
  omni::bench::build_document_log(options(), g_events);
}

void BM_RebuildProjections(benchmark::State& state) {
  auto s = omni::Storage::open(options()).value();
  for (auto _ : state) {
    omni::Status st = s->rebuild_projections();
    if (!st.ok()) state.SkipWithError(st.to_string().c_str());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(g_events));
  if (!s->close().ok()) state.SkipWithError("close failed");
}

void BM_RawIteration(benchmark::State& state) { omni::bench::raw_log_iteration(state, g_path, g_events); }

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> extra = {{"events", std::to_string(g_events)}};
  const int rounds = omni::bench::init(argc, argv, &extra);
  g_events = std::stoull(extra["events"]);
  build_log();
  for (int r = 0; r < rounds; ++r) {
    const std::string round = "/round:" + std::to_string(r);
    benchmark::RegisterBenchmark(("rebuild_projections" + round).c_str(), BM_RebuildProjections)
        ->Iterations(1)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("rocksdb_iteration" + round).c_str(), BM_RawIteration)
        ->Iterations(1)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
  omni::bench::Collector c;
  benchmark::RunSpecifiedBenchmarks(&c);
  const std::vector<double> a = c.results["rebuild_projections/iterations:1/real_time"];
  const std::vector<double> b = c.results["rocksdb_iteration/iterations:1/real_time"];
  const omni::bench::Ratios r = omni::bench::ratios(a, b);
  std::printf("\n%llu events: rebuild_projections %.0f events/s, raw RocksDB iteration %.0f events/s, "
              "ratio %.2f (per round %s; target >= 0.35)\n",
              static_cast<unsigned long long>(g_events), median(a), median(b), r.median, r.per_round.c_str());
  return 0;
}
