// get_related next to a raw RocksDB prefix scan of the same rows, in the same
// process and interleaved (omni, baseline, omni, ... for several rounds); the
// summary prints each side's median queries/s, each round's ratio (omni /
// baseline) and the median ratio.
//
//   build/bench/relationships_bench [--rounds=N] [google benchmark flags]
//
// Both sides hold their rows in flushed SST files (omni's store is closed and
// reopened; the raw one is flushed), and both return the objects as a
// std::vector<std::string>. The difference is what the engine adds per query:
// admission and metrics (OpScope), validation of subject and predicate, and the
// prefix built per call.
#include <benchmark/benchmark.h>
#include <rocksdb/db.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench_util.h"
#include "omni/log/event_log.h"
#include "omni/storage.h"

namespace {

using omni::bench::median;
using omni::bench::scratch;

constexpr std::size_t kTotalEdges = 20000;  // per fixture: subjects = kTotalEdges / fan-out
const std::string kPredicate = "member_of";

std::string subject_of(std::size_t i) { return "user:" + std::to_string(i); }
std::string object_of(std::size_t i) { return "group:" + std::to_string(i); }

struct Fixture {
  std::unique_ptr<omni::Storage> omni;
  std::unique_ptr<rocksdb::DB> raw;
  std::vector<std::string> subjects;
};
std::map<std::size_t, std::unique_ptr<Fixture>> g_fixtures;

Fixture& fixture(std::size_t fanout) {
  auto& f = g_fixtures[fanout];
  if (f) return *f;
  f = std::make_unique<Fixture>();
  const std::size_t subjects = kTotalEdges / fanout;
  const std::string path = scratch("rel-" + std::to_string(fanout)).string();
  {
    auto s = std::move(*omni::Storage::open({.path = path}));
    for (std::size_t i = 0; i < subjects; ++i) {
      for (std::size_t j = 0; j < fanout; ++j) {
        if (!s->store_relationship(subject_of(i), kPredicate, object_of(j)).ok()) std::abort();
      }
    }
    if (!s->close().ok()) std::abort();  // flushes the memtables
  }
  f->omni = std::move(*omni::Storage::open({.path = path}));
  // The same forward rows (subject \0 predicate \0 object -> BE64 seq).
  rocksdb::Options o;
  o.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(o, scratch("rel-raw-" + std::to_string(fanout)).string(), &raw).ok()) std::abort();
  f->raw.reset(raw);
  std::uint64_t seq = 0;
  for (std::size_t i = 0; i < subjects; ++i) {
    f->subjects.push_back(subject_of(i));
    for (std::size_t j = 0; j < fanout; ++j) {
      std::string k = subject_of(i) + '\0' + kPredicate + '\0' + object_of(j);
      if (!raw->Put(rocksdb::WriteOptions(), k, omni::log::EventLog::seq_key(++seq)).ok()) std::abort();
    }
  }
  if (!raw->Flush(rocksdb::FlushOptions()).ok()) std::abort();
  return *f;
}

void BM_GetRelated(benchmark::State& state) {
  Fixture& f = fixture(static_cast<std::size_t>(state.range(0)));
  std::size_t i = 0, edges = 0;
  for (auto _ : state) {
    auto r = f.omni->get_related(f.subjects[i++ % f.subjects.size()], kPredicate);
    if (!r.ok() || r->size() != static_cast<std::size_t>(state.range(0))) {
      state.SkipWithError("get_related failed");
      break;
    }
    edges += r->size();
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["edges/s"] = benchmark::Counter(static_cast<double>(edges), benchmark::Counter::kIsRate);
}

void BM_RawPrefixScan(benchmark::State& state) {
  Fixture& f = fixture(static_cast<std::size_t>(state.range(0)));
  std::size_t i = 0, edges = 0;
  for (auto _ : state) {
    const std::string prefix = f.subjects[i++ % f.subjects.size()] + '\0' + kPredicate + '\0';
    std::vector<std::string> out;
    std::unique_ptr<rocksdb::Iterator> it(f.raw->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      out.emplace_back(it->key().ToStringView().substr(prefix.size()));
    }
    if (out.size() != static_cast<std::size_t>(state.range(0))) {
      state.SkipWithError("scan failed");
      break;
    }
    edges += out.size();
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["edges/s"] = benchmark::Counter(static_cast<double>(edges), benchmark::Counter::kIsRate);
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = omni::bench::init(argc, argv);
  for (std::int64_t fanout : {10, 1000}) {
    for (int r = 0; r < rounds; ++r) {
      const std::string round = "/round:" + std::to_string(r);
      benchmark::RegisterBenchmark(("get_related" + round).c_str(), BM_GetRelated)->Arg(fanout)->MinTime(1.0);
      benchmark::RegisterBenchmark(("rocksdb_prefix_scan" + round).c_str(), BM_RawPrefixScan)
          ->Arg(fanout)
          ->MinTime(1.0);
    }
  }
  omni::bench::Collector c;
  benchmark::RunSpecifiedBenchmarks(&c);

  std::printf("\n%-24s %12s %-28s %12s %7s  %s\n", "omni", "queries/s", "baseline", "queries/s", "ratio",
              "per round");
  for (const char* fanout : {"10", "1000"}) {
    const std::string a_name = std::string("get_related/") + fanout;
    const std::string b_name = std::string("rocksdb_prefix_scan/") + fanout;
    const std::vector<double> a = c.results[a_name], b = c.results[b_name];
    const omni::bench::Ratios r = omni::bench::ratios(a, b);
    std::printf("%-24s %12.0f %-28s %12.0f %7.2f  %s\n", a_name.c_str(), median(a), b_name.c_str(), median(b),
                r.median, r.per_round.c_str());
  }
  std::printf("edges per fixture: %zu (subjects = edges / fan-out)\n", kTotalEdges);
  g_fixtures.clear();
  return 0;
}
