// get_cached_policy hit vs std::unordered_map<std::string, bool>::find at 10k
// decisions, with 1 and 4 threads, in one process. The map key is what a caller
// would build by hand: identity + '\0' + action + '\0' + resource. With 4 threads
// the baseline map is behind a std::shared_mutex taken shared (readers only), the
// cheapest correct guard for a map that writers also change.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench_util.h"
#include "omni/storage.h"

namespace {

constexpr std::size_t kEntries = 10000;

struct Fixture {
  std::unique_ptr<omni::Storage> store;
  std::vector<std::string> users, resources, keys;
  std::unordered_map<std::string, bool> map;
  std::shared_mutex mu;
};

Fixture& fixture() {
  static Fixture* f = [] {
    auto* f = new Fixture;
    omni::Options o;
    o.path = omni::bench::scratch("policy").string();
    o.policy_cache_size = kEntries;
    auto s = omni::Storage::open(o);
    if (!s.ok()) {
      std::fprintf(stderr, "open: %s\n", s.status().to_string().c_str());
      std::abort();
    }
    f->store = std::move(*s);
    for (std::size_t i = 0; i < kEntries; ++i) {
      f->users.push_back("user:" + std::to_string(i % 500));
      f->resources.push_back("doc:" + std::to_string(i));
      const bool allowed = i % 3 != 0;
      if (!f->store->cache_policy_decision(f->users[i], "read", f->resources[i], allowed).ok()) std::abort();
      std::string k = f->users[i];
      k.push_back('\0');
      k += "read";
      k.push_back('\0');
      k += f->resources[i];
      f->keys.push_back(k);
      f->map.emplace(std::move(k), allowed);
    }
    return f;
  }();
  return *f;
}

// A different stride per thread so threads do not walk the same keys in step.
std::size_t start_of(const benchmark::State& state) { return static_cast<std::size_t>(state.thread_index()) * 2503; }

void BM_GetCachedPolicyHit(benchmark::State& state) {
  Fixture& f = fixture();
  std::size_t i = start_of(state);
  for (auto _ : state) {
    const std::size_t k = i++ % kEntries;
    auto r = f.store->get_cached_policy(f.users[k], "read", f.resources[k]);
    if (!r.ok() || !r->has_value()) state.SkipWithError("not a hit");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_UnorderedMapFind(benchmark::State& state) {
  Fixture& f = fixture();
  std::size_t i = start_of(state);
  for (auto _ : state) {
    auto it = f.map.find(f.keys[i++ % kEntries]);
    benchmark::DoNotOptimize(it);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_SharedMutexMapFind(benchmark::State& state) {
  Fixture& f = fixture();
  std::size_t i = start_of(state);
  for (auto _ : state) {
    std::shared_lock l(f.mu);
    auto it = f.map.find(f.keys[i++ % kEntries]);
    benchmark::DoNotOptimize(it);
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = omni::bench::init(argc, argv);
  fixture();  // built before timing
  auto name = [](const char* b, int r) { return std::string(b) + "/round:" + std::to_string(r); };
  for (int threads : {1, 4}) {
    for (int r = 0; r < rounds; ++r) {
      benchmark::RegisterBenchmark(name("get_cached_policy_hit", r).c_str(), BM_GetCachedPolicyHit)
          ->Threads(threads)->UseRealTime();
      benchmark::RegisterBenchmark(name(threads == 1 ? "unordered_map_find" : "shared_mutex_map_find", r).c_str(),
                                   threads == 1 ? BM_UnorderedMapFind : BM_SharedMutexMapFind)
          ->Threads(threads)->UseRealTime();
      if (threads == 4) {
        benchmark::RegisterBenchmark(name("unordered_map_find", r).c_str(), BM_UnorderedMapFind)
            ->Threads(threads)->UseRealTime();
      }
    }
  }
  omni::bench::Collector c;
  benchmark::RunSpecifiedBenchmarks(&c);
  struct Pair {
    const char* omni;
    const char* base;
  };
  const Pair pairs[] = {
      {"get_cached_policy_hit/real_time/threads:1", "unordered_map_find/real_time/threads:1"},
      {"get_cached_policy_hit/real_time/threads:4", "shared_mutex_map_find/real_time/threads:4"},
      {"get_cached_policy_hit/real_time/threads:4", "unordered_map_find/real_time/threads:4"},
  };
  std::printf("\n%-42s %11s %-42s %11s %6s  %-22s target\n", "omni", "ops/s", "baseline", "ops/s",
              "ratio", "per round");
  for (const Pair& p : pairs) {
    const std::vector<double>& a = c.results[p.omni];
    const std::vector<double>& b = c.results[p.base];
    const omni::bench::Ratios r = omni::bench::ratios(a, b);
    std::printf("%-42s %11.0f %-42s %11.0f %6.2f  %-22s >= 0.4\n", p.omni, omni::bench::median(a),
                p.base, omni::bench::median(b), r.median, r.per_round.c_str());
  }
  std::printf(
      "(ratio: the median of the per-round ratios; threads:4 baselines: the map behind a "
      "std::shared_mutex taken shared, and the same map read unguarded as a read-only map)\n");
  return 0;
}
