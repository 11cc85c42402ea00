// Omni figures next to their baselines, measured in the same process and
// interleaved (each pair runs omni then baseline, for several rounds); the summary
// prints the median throughput of each side, each round's ratio (omni / baseline,
// higher is better, 1.0 = parity) and the median of those ratios - pairing each
// omni run with the baseline run next to it cancels most of the machine's drift.
//
//   build/release/bench/storage_bench [--rounds=N] [google benchmark flags]
//   OMNI_WB_MB=N sets the memtable size of both sides' write benchmarks (default 64).
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "omni/projections/lru_view.h"
#include "bench_util.h"
#include "omni/storage.h"

namespace {

namespace fs = std::filesystem;

using omni::bench::key_of;
using omni::bench::make_doc;
using omni::bench::scratch;

// ---- store_data vs raw RocksDB Put ------------------------------------------------

struct OmniStore {
  std::unique_ptr<omni::Storage> s;
  std::atomic<std::uint64_t> next{0};
  explicit OmniStore(const std::string& name) {
    omni::Options o;
    o.path = scratch(name).string();
    if (const char* wb = std::getenv("OMNI_WB_MB")) o.write_buffer_size = std::stoul(wb) << 20;
    s = std::move(*omni::Storage::open(o));
  }
};

struct RawRocks {
  std::unique_ptr<rocksdb::DB> db;
  std::atomic<std::uint64_t> next{0};
  explicit RawRocks(const std::string& name) {
    rocksdb::Options o;
    o.create_if_missing = true;
    o.IncreaseParallelism(2);
    if (const char* wb = std::getenv("OMNI_WB_MB")) o.write_buffer_size = std::stoul(wb) << 20;
    rocksdb::DB* raw = nullptr;
    if (!rocksdb::DB::Open(o, scratch(name).string(), &raw).ok()) std::abort();
    db.reset(raw);
  }
};

// Stores live until release_stores() at the end of main: closing a RocksDB during
// static destruction races RocksDB's own statics.
std::unique_ptr<OmniStore> g_omni[2];
std::unique_ptr<RawRocks> g_raw[2];
std::map<std::size_t, std::unique_ptr<struct Loaded>> g_loaded;

OmniStore& omni_store(bool sync) {
  auto& p = g_omni[sync];
  if (!p) p = std::make_unique<OmniStore>(sync ? "store-sync" : "store-nosync");
  return *p;
}
RawRocks& raw_rocks(bool sync) {
  auto& p = g_raw[sync];
  if (!p) p = std::make_unique<RawRocks>(sync ? "raw-sync" : "raw-nosync");
  return *p;
}

void BM_StoreData(benchmark::State& state, bool sync) {
  OmniStore& st = omni_store(sync);
  const omni::Json doc = make_doc(42);
  const omni::WriteOptions wo{.sync = sync};
  for (auto _ : state) {
    const std::uint64_t i = st.next.fetch_add(1);
    auto r = st.s->store_data(key_of(i % 100000), doc, wo);
    if (!r.ok()) state.SkipWithError(r.status().to_string().c_str());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RawRocksPut(benchmark::State& state, bool sync) {
  RawRocks& rr = raw_rocks(sync);
  const std::string bytes = make_doc(42).dump();  // the same bytes omni stores
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  for (auto _ : state) {
    const std::uint64_t i = rr.next.fetch_add(1);
    if (!rr.db->Put(wo, key_of(i % 100000), bytes).ok()) state.SkipWithError("put failed");
  }
  state.SetItemsProcessed(state.iterations());
}

// ---- load_data LRU hit vs std::unordered_map ------------------------------------

struct Loaded {
  std::unique_ptr<omni::Storage> s;
  std::unordered_map<std::string, omni::Json> map;
  std::vector<std::string> keys;  // shuffled access order
};

Loaded& loaded(std::size_t n) {
  auto& slot = g_loaded[n];
  if (slot) return *slot;
  slot = std::make_unique<Loaded>();
  omni::Options o;
  o.path = scratch("load-" + std::to_string(n)).string();
  o.cache_size = n;
  slot->s = std::move(*omni::Storage::open(o));
  std::vector<omni::BatchItem> batch;
  for (std::size_t i = 0; i < n; ++i) {
    batch.push_back({key_of(i), make_doc(i)});
    slot->map.emplace(key_of(i), make_doc(i));
    if (batch.size() == 1000 || i + 1 == n) {
      if (!slot->s->store_batch(std::move(batch)).ok()) std::abort();
      batch.clear();
    }
  }
  for (std::size_t i = 0; i < n; ++i) slot->keys.push_back(key_of(i));
  std::shuffle(slot->keys.begin(), slot->keys.end(), std::mt19937_64(7));
  for (const auto& k : slot->keys) (void)slot->s->load_data(k);  // all in the view
  return *slot;
}

void BM_LoadDataHit(benchmark::State& state) {
  Loaded& l = loaded(static_cast<std::size_t>(state.range(0)));
  std::size_t i = 0;
  for (auto _ : state) {
    auto r = l.s->load_data(l.keys[i++ % l.keys.size()]);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

// Zero-copy read: the document shared with the view.
void BM_LoadSharedHit(benchmark::State& state) {
  Loaded& l = loaded(static_cast<std::size_t>(state.range(0)));
  std::size_t i = 0;
  for (auto _ : state) {
    auto r = l.s->load_shared(l.keys[i++ % l.keys.size()]);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

// The baseline the issue names: find alone (returns an iterator, copies nothing).
void BM_UnorderedMapFind(benchmark::State& state) {
  Loaded& l = loaded(static_cast<std::size_t>(state.range(0)));
  std::size_t i = 0;
  for (auto _ : state) {
    auto it = l.map.find(l.keys[i++ % l.keys.size()]);
    benchmark::DoNotOptimize(it);
  }
  state.SetItemsProcessed(state.iterations());
}

// Like for like with load_data: find, then copy the document out to the caller.
void BM_UnorderedMapFindCopy(benchmark::State& state) {
  Loaded& l = loaded(static_cast<std::size_t>(state.range(0)));
  std::size_t i = 0;
  for (auto _ : state) {
    auto it = l.map.find(l.keys[i++ % l.keys.size()]);
    std::optional<omni::Json> copy(it->second);
    benchmark::DoNotOptimize(copy);
  }
  state.SetItemsProcessed(state.iterations());
}

// ---- summary ------------------------------------------------------------------

using omni::bench::Collector;
using omni::bench::median;

// Bytes per cached entry of the LRU view: heap growth while it holds n entries.
void memory_per_entry() {
  constexpr std::size_t n = 100000;
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < n; ++i) keys.push_back(key_of(i));
  auto docs = std::make_unique<std::vector<omni::projections::LruView::Doc>>();
  const std::size_t before_docs = mallinfo2().uordblks;
  for (std::size_t i = 0; i < n; ++i) docs->push_back(std::make_shared<const omni::Json>(make_doc(i)));
  const std::size_t after_docs = mallinfo2().uordblks;
  {
    omni::projections::LruView view(n);
    const std::size_t before = mallinfo2().uordblks;
    for (std::size_t i = 0; i < n; ++i) view.put(keys[i], {i + 1, (*docs)[i]}, i + 1);
    const std::size_t after = mallinfo2().uordblks;
    std::printf("memory per cached entry (n=%zu): %.0f bytes of view bookkeeping (key, node, map slot)"
                " + %.0f bytes of parsed document = %.0f bytes\n",
                n, double(after - before) / n, double(after_docs - before_docs) / n,
                double(after - before + after_docs - before_docs) / n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = omni::bench::init(argc, argv);

  // Each pair runs its rounds back to back (omni, baseline, omni, baseline, ...).
  // The read fixtures are built last: loading 1M documents leaves minutes of
  // compaction behind, which would otherwise land on the write benchmarks.
  auto round_name = [](const char* name, int r) {
    return std::string(name) + "/round:" + std::to_string(r);
  };
  for (bool sync : {false, true}) {
    for (int r = 0; r < rounds; ++r) {
      benchmark::RegisterBenchmark(round_name(sync ? "store_data_sync" : "store_data_nosync", r).c_str(),
                                   BM_StoreData, sync)->MinTime(1.0)->UseRealTime();
      benchmark::RegisterBenchmark(round_name(sync ? "rocksdb_put_sync" : "rocksdb_put_nosync", r).c_str(),
                                   BM_RawRocksPut, sync)->MinTime(1.0)->UseRealTime();
    }
  }
  for (int r = 0; r < rounds; ++r) {
    benchmark::RegisterBenchmark(round_name("store_data_sync_8w", r).c_str(), BM_StoreData, true)
        ->Threads(8)->MinTime(1.0)->UseRealTime();
    benchmark::RegisterBenchmark(round_name("rocksdb_put_sync_8w", r).c_str(), BM_RawRocksPut, true)
        ->Threads(8)->MinTime(1.0)->UseRealTime();
  }
  for (int64_t keys : {10000, 1000000}) {
    for (int r = 0; r < rounds; ++r) {
      benchmark::RegisterBenchmark(round_name("load_data_hit", r).c_str(), BM_LoadDataHit)->Arg(keys);
      benchmark::RegisterBenchmark(round_name("load_shared_hit", r).c_str(), BM_LoadSharedHit)->Arg(keys);
      benchmark::RegisterBenchmark(round_name("unordered_map_find", r).c_str(), BM_UnorderedMapFind)->Arg(keys);
      benchmark::RegisterBenchmark(round_name("unordered_map_find_copy", r).c_str(), BM_UnorderedMapFindCopy)->Arg(keys);
    }
  }
  Collector c;
  benchmark::RunSpecifiedBenchmarks(&c);

  struct Pair {
    const char* omni;
    const char* base;
    const char* target;
  };
  const Pair pairs[] = {
      {"store_data_nosync/real_time", "rocksdb_put_nosync/real_time", ">= 0.5"},
      {"store_data_sync", "rocksdb_put_sync", ">= 0.9"},
      {"store_data_sync_8w/real_time/threads:8", "rocksdb_put_sync_8w/real_time/threads:8", ">= 0.8"},
      {"load_shared_hit/10000", "unordered_map_find/10000", ">= 0.4"},
      {"load_data_hit/10000", "unordered_map_find/10000", "(copying)"},
      {"load_data_hit/10000", "unordered_map_find_copy/10000", "(both copy)"},
      {"load_shared_hit/1000000", "unordered_map_find/1000000", ">= 0.4"},
      {"load_data_hit/1000000", "unordered_map_find/1000000", "(copying)"},
      {"load_data_hit/1000000", "unordered_map_find_copy/1000000", "(both copy)"},
  };
  std::printf("\n%-40s %12s %-40s %12s %7s  %-16s %s\n", "omni", "ops/s", "baseline", "ops/s",
              "ratio", "target", "per round");
  for (const Pair& p : pairs) {
    auto find = [&](std::string name) {
      for (auto& [k, v] : c.results) {
        if (k == name || k == name + "/real_time") return v;
      }
      return std::vector<double>{};
    };
    const std::vector<double> a = find(p.omni), b = find(p.base);
    const omni::bench::Ratios r = omni::bench::ratios(a, b);
    std::printf("%-40s %12.0f %-40s %12.0f %7.2f  %-16s %s\n", p.omni, median(a), p.base,
                median(b), r.median, p.target, r.per_round.c_str());
  }
  std::printf("document: %zu bytes of compact JSON\n", make_doc(42).dump().size());
  memory_per_entry();
  g_loaded.clear();
  for (auto& p : g_omni) p.reset();
  for (auto& p : g_raw) p.reset();
  return 0;
}
