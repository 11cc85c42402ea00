// RedisBackend::apply next to raw hiredis, against a redis-server this benchmark
// starts itself (tests/redis_server.h: loopback TCP, no persistence), interleaved
// round by round as storage_bench does; the summary prints each side's median
// events/s, each round's ratio (omni / baseline) and the median ratio.
//
//   build/release/bench/redis_bench [--rounds=N] [google benchmark flags]
//
// - redis_apply: apply() of batches of 1,000 store changes (documents of ~200
//   bytes, 5 top-level fields, as compact JSON text, in log order and expecting
//   the watermark, as the sink worker hands them over), one pooled connection.
//   Everything the adapter does is measured: splitting each document, the
//   watermark check under WATCH, the MULTI/EXEC block (redis_in_order.h).
// - redis_apply_script: the same through the Lua script (in_order_pipeline off):
//   one EVALSHA per batch, the script's seq checks.
// - hiredis_hset: the baseline, one hiredis context writing the same hashes (the
//   same fields and JSON values, plus _seq) with 1,000 HSETs pipelined through the
//   argv API, the fields prepared beforehand.
// - evalsha_per_change: the design not taken, for the record: the same script
//   called once per change, 1,000 EVALSHAs pipelined.
// Both sides cycle over the same 100,000 keys (each under its own prefix), so
// after the first pass every write replaces an existing hash.
// Through the store (issue 8's figures):
// - sink_drain: the whole path, log -> sink worker -> Redis: 20,000 documents are
//   stored while offline mode holds the worker back (not timed), then the drain
//   to the head is timed. Baseline: hiredis_hset. client_us/event: this
//   process's CPU (every thread) while it drains, next to server_us/event.
// - write_through_store: store_data under write_through (returns once Redis
//   applied it); its p50/p99 next to raw_hset_round_trip (one HSET, one round
//   trip, redisCommand).
// - write_behind_store: store_data under write_behind with a Redis backend,
//   next to plain_store: store_data with no backend (sync=false both).
#include <benchmark/benchmark.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench_util.h"
#include "omni/redis_backend.h"
#include "omni/storage.h"
#include "redis_apply_script.h"
#include "redis_server.h"

namespace {

constexpr std::size_t kBatch = 1000;
constexpr std::size_t kKeys = 100000;
constexpr std::size_t kDocs = 1000;  // distinct documents, reused

// ~200 bytes of compact JSON in 5 top-level fields.
omni::Json make_doc(std::uint64_t i) {
  return {{"id", i},
          {"name", "user-" + std::to_string(i)},
          {"email", "user" + std::to_string(i) + "@example.com"},
          {"bio", "storage engineer, likes event logs, projections and idempotent sinks; " +
                      std::string(40, static_cast<char>('a' + i % 26))},
          {"tags", {"alpha", "beta", "gamma"}}};
}

omni::testing::RedisServer* g_redis = nullptr;

// redis-server's CPU time so far (user + sys), in microseconds, from INFO cpu.
double server_cpu_us() {
  const std::string info = g_redis->cli({"INFO", "cpu"});
  auto field = [&](const std::string& name) {
    const std::size_t at = info.find(name + ":");
    return at == std::string::npos ? 0.0 : std::stod(info.substr(at + name.size() + 1));
  };
  return (field("used_cpu_user") + field("used_cpu_sys")) * 1e6;
}

// This process's CPU time so far (every thread), in microseconds.
double process_cpu_us() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) / 1e3;
}

// Reports the server's CPU per event as the counter server_us/event: where the
// time goes, whatever the machine's load does to wall time.
class ServerCpu {
 public:
  explicit ServerCpu(benchmark::State& state, std::size_t events_per_iteration = kBatch)
      : state_(state), per_iteration_(events_per_iteration), start_(server_cpu_us()) {}
  ~ServerCpu() {
    const double events = static_cast<double>(state_.iterations()) * static_cast<double>(per_iteration_);
    if (events > 0) state_.counters["server_us/event"] = (server_cpu_us() - start_) / events;
  }

 private:
  benchmark::State& state_;
  std::size_t per_iteration_;
  double start_;
};

struct Fixture {
  std::vector<std::string> docs;  // compact JSON text
  std::vector<omni::Json> docs_json;  // the same, parsed
  // Per document: the HSET arguments after the key ("_seq" comes first, filled per write).
  std::vector<std::vector<std::string>> fields;
  std::unique_ptr<omni::RedisBackend> backend;
  std::unique_ptr<omni::RedisBackend> script_backend;  // in_order_pipeline off
  redisContext* raw = nullptr;
  std::uint64_t next_seq = 1, raw_seq = 1, eval_seq = 1, script_seq = 1;
  std::string sha;
};

Fixture& fixture() {
  static Fixture* f = [] {
    auto* f = new Fixture;
    for (std::size_t i = 0; i < kDocs; ++i) {
      const omni::Json d = make_doc(i);
      f->docs.push_back(d.dump());
      f->docs_json.push_back(d);
      std::vector<std::string> a;
      for (const auto& [name, value] : d.items()) {
        a.push_back(name);
        a.push_back(value.dump());
      }
      f->fields.push_back(std::move(a));
    }
    auto b = omni::RedisBackend::create({.port = g_redis->port(), .max_connections = 1});
    if (!b.ok()) std::abort();
    f->backend = std::move(b).value();
    auto sb = omni::RedisBackend::create(
        {.port = g_redis->port(), .key_prefix = "script:", .max_connections = 1, .in_order_pipeline = false});
    if (!sb.ok()) std::abort();
    f->script_backend = std::move(sb).value();
    f->raw = redisConnect("127.0.0.1", g_redis->port());
    if (f->raw == nullptr || f->raw->err) std::abort();
    auto* r = static_cast<redisReply*>(redisCommand(f->raw, "SCRIPT LOAD %b", omni::sinks::redis::kApplyScript.data(),
                                                    omni::sinks::redis::kApplyScript.size()));
    if (r == nullptr || r->type != REDIS_REPLY_STRING) std::abort();
    f->sha.assign(r->str, r->len);
    freeReplyObject(r);
    return f;
  }();
  return *f;
}

// Batches as the sink worker sends them while tailing the log: in order, each
// expecting the watermark the one before left.
void apply_loop(benchmark::State& state, omni::RedisBackend& backend, std::uint64_t& next_seq) {
  Fixture& f = fixture();
  ServerCpu cpu(state);
  omni::ChangeBatch batch;
  batch.changes.resize(kBatch);
  for (std::size_t i = 0; i < kBatch; ++i) batch.changes[i].type = omni::ChangeType::kStore;
  for (auto _ : state) {
    batch.expected_watermark = next_seq == 1 ? std::optional<omni::Seq>() : std::optional<omni::Seq>(next_seq - 1);
    for (omni::Change& c : batch.changes) {
      const std::uint64_t seq = next_seq++;
      c.seq = seq;
      c.key = omni::bench::key_of(seq % kKeys);
      c.json = f.docs[seq % kDocs];
    }
    batch.through = next_seq - 1;
    if (omni::Status s = backend.apply(batch); !s.ok()) state.SkipWithError(s.to_string().c_str());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
}

void BM_RedisApply(benchmark::State& state) { apply_loop(state, *fixture().backend, fixture().next_seq); }
void BM_RedisApplyScript(benchmark::State& state) {
  apply_loop(state, *fixture().script_backend, fixture().script_seq);
}

// Appends argv, binary-safe.
void append(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data());
}

bool read_replies(redisContext* c, std::size_t n) {
  bool ok = true;
  for (std::size_t i = 0; i < n; ++i) {
    void* r = nullptr;
    if (redisGetReply(c, &r) != REDIS_OK) return false;
    ok = ok && static_cast<redisReply*>(r)->type != REDIS_REPLY_ERROR;
    freeReplyObject(r);
  }
  return ok;
}

void BM_HiredisHset(benchmark::State& state) {
  Fixture& f = fixture();
  ServerCpu cpu(state);
  std::vector<std::string> args;
  for (auto _ : state) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      const std::uint64_t seq = f.raw_seq++;
      const std::vector<std::string>& fields = f.fields[seq % kDocs];
      args.assign({"HSET", "raw:" + omni::bench::key_of(seq % kKeys), "_seq", std::to_string(seq)});
      args.insert(args.end(), fields.begin(), fields.end());
      append(f.raw, args);
    }
    if (!read_replies(f.raw, kBatch)) state.SkipWithError("HSET failed");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
}

void BM_EvalshaPerChange(benchmark::State& state) {
  Fixture& f = fixture();
  ServerCpu cpu(state);
  std::vector<std::string> args;
  for (auto _ : state) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      const std::uint64_t seq = f.eval_seq++;
      const omni::Json doc = omni::Json::parse(f.docs[seq % kDocs]);  // as the adapter must
      const std::string key = omni::bench::key_of(seq % kKeys);
      args.assign({"EVALSHA", f.sha, "0", "eval:sink:applied", std::to_string(seq), "0", "", "", "S",
                   std::to_string(seq), "eval:" + key, key, std::to_string(2 * doc.size())});
      for (const auto& [name, value] : doc.items()) {
        args.push_back(name);
        args.push_back(value.dump());
      }
      append(f.raw, args);
    }
    if (!read_replies(f.raw, kBatch)) state.SkipWithError("EVALSHA failed");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
}

// --- Through the store -----------------------------------------------------

std::map<std::string, std::vector<double>> g_latency_us;  // per benchmark: every call's latency

std::string percentiles(std::vector<double> v) {
  if (v.empty()) return "-";
  std::sort(v.begin(), v.end());
  char out[96];
  std::snprintf(out, sizeof out, "p50 %.1f us, p99 %.1f us (%zu calls)", v[v.size() / 2], v[v.size() * 99 / 100],
                v.size());
  return out;
}

// A scratch store (sync=false) with a Redis backend under `strategy`; null backend: none.
std::unique_ptr<omni::Storage> scratch_store(const std::string& name, bool with_redis, omni::SyncStrategy strategy) {
  const std::string path = "/tmp/omni-redis-bench-" + name;
  std::filesystem::remove_all(path);
  omni::Options o;
  o.path = path;
  o.sync_strategy = strategy;
  o.strategy_options.interval = std::chrono::milliseconds(100);
  auto s = omni::Storage::open(o);
  if (!s.ok()) std::abort();
  if (with_redis) {
    omni::RedisOptions ro;
    ro.port = g_redis->port();
    ro.key_prefix = "bench-" + name + ":";
    auto b = omni::RedisBackend::create(ro);
    if (!b.ok() || !(*s)->add_backend("redis", std::move(*b), 1).ok()) std::abort();
  }
  return std::move(*s);
}

void BM_SinkDrain(benchmark::State& state) {
  Fixture& f = fixture();
  static std::unique_ptr<omni::Storage> store = scratch_store("drain", true, omni::SyncStrategy::write_behind);
  constexpr std::size_t kEvents = 20000;
  ServerCpu cpu(state, kEvents);
  static std::uint64_t n = 0;  // keys go on cycling from one round to the next
  double client_us = 0;  // this process's CPU time while it drains (every thread)
  for (auto _ : state) {
    state.PauseTiming();
    store->enable_offline_mode();
    omni::Seq last = 0;
    for (std::size_t i = 0; i < kEvents; ++i, ++n) {
      last = store->store_data(omni::bench::key_of(n % kKeys), omni::Json::parse(f.docs[n % kDocs])).value();
    }
    state.ResumeTiming();
    const double cpu0 = process_cpu_us();
    store->disable_offline_mode();
    if (!store->wait_for_backend("redis", last, std::chrono::seconds(60)).ok()) state.SkipWithError("drain timed out");
    client_us += process_cpu_us() - cpu0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
  state.counters["client_us/event"] = client_us / static_cast<double>(state.iterations() * kEvents);
}

void BM_WriteThroughStore(benchmark::State& state) {
  Fixture& f = fixture();
  static std::unique_ptr<omni::Storage> store = scratch_store("through", true, omni::SyncStrategy::write_through);
  std::vector<double>& lat = g_latency_us["write_through_store"];
  std::uint64_t n = 0;
  for (auto _ : state) {
    const omni::Json doc = omni::Json::parse(f.docs[n % kDocs]);
    const auto t0 = std::chrono::steady_clock::now();
    if (!store->store_data(omni::bench::key_of(n++ % kKeys), doc).ok()) state.SkipWithError("store failed");
    lat.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_RawHsetRoundTrip(benchmark::State& state) {
  Fixture& f = fixture();
  std::vector<double>& lat = g_latency_us["raw_hset_round_trip"];
  std::vector<std::string> args;
  std::uint64_t n = 0;
  for (auto _ : state) {
    const std::vector<std::string>& fields = f.fields[n % kDocs];
    args.assign({"HSET", "rt:" + omni::bench::key_of(n % kKeys), "_seq", std::to_string(n)});
    args.insert(args.end(), fields.begin(), fields.end());
    ++n;
    const auto t0 = std::chrono::steady_clock::now();
    append(f.raw, args);
    if (!read_replies(f.raw, 1)) state.SkipWithError("HSET failed");
    lat.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void store_loop(benchmark::State& state, omni::Storage& store) {
  Fixture& f = fixture();
  std::uint64_t n = 0;
  for (auto _ : state) {
    if (!store.store_data(omni::bench::key_of(n % kKeys), f.docs_json[n % kDocs]).ok()) state.SkipWithError("store failed");
    ++n;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_WriteBehindStore(benchmark::State& state) {
  static std::unique_ptr<omni::Storage> store = scratch_store("behind", true, omni::SyncStrategy::write_behind);
  store_loop(state, *store);
}

void BM_PlainStore(benchmark::State& state) {
  static std::unique_ptr<omni::Storage> store = scratch_store("plain", false, omni::SyncStrategy::write_through);
  store_loop(state, *store);
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = omni::bench::init(argc, argv);
  omni::testing::RedisServer redis;
  if (!redis.start()) {
    std::fprintf(stderr, "redis-server: %s\n", redis.error().c_str());
    return 1;
  }
  g_redis = &redis;

  auto round_name = [](const char* name, int r) { return std::string(name) + "/round:" + std::to_string(r); };
  for (int r = 0; r < rounds; ++r) {
    benchmark::RegisterBenchmark(round_name("redis_apply", r).c_str(), BM_RedisApply)->MinTime(1.0)->UseRealTime();
    benchmark::RegisterBenchmark(round_name("hiredis_hset", r).c_str(), BM_HiredisHset)->MinTime(1.0)->UseRealTime();
    benchmark::RegisterBenchmark(round_name("redis_apply_script", r).c_str(), BM_RedisApplyScript)
        ->MinTime(1.0)
        ->UseRealTime();
    benchmark::RegisterBenchmark(round_name("evalsha_per_change", r).c_str(), BM_EvalshaPerChange)
        ->MinTime(1.0)
        ->UseRealTime();
    benchmark::RegisterBenchmark(round_name("sink_drain", r).c_str(), BM_SinkDrain)->MinTime(1.0)->UseRealTime();
    benchmark::RegisterBenchmark(round_name("write_through_store", r).c_str(), BM_WriteThroughStore)
        ->MinTime(0.5)
        ->UseRealTime();
    benchmark::RegisterBenchmark(round_name("raw_hset_round_trip", r).c_str(), BM_RawHsetRoundTrip)
        ->MinTime(0.5)
        ->UseRealTime();
    benchmark::RegisterBenchmark(round_name("write_behind_store", r).c_str(), BM_WriteBehindStore)
        ->MinTime(1.0)
        ->UseRealTime();
    benchmark::RegisterBenchmark(round_name("plain_store", r).c_str(), BM_PlainStore)->MinTime(1.0)->UseRealTime();
  }
  omni::bench::Collector c;
  benchmark::RunSpecifiedBenchmarks(&c);

  struct Pair {
    const char* omni;
    const char* base;
    const char* target;
  };
  const Pair pairs[] = {
      {"redis_apply/real_time", "hiredis_hset/real_time", ">= 0.8"},
      {"redis_apply_script/real_time", "hiredis_hset/real_time", "(script path)"},
      {"evalsha_per_change/real_time", "hiredis_hset/real_time", "(design not taken)"},
      {"sink_drain/real_time", "hiredis_hset/real_time", ">= 0.8 (issue 8)"},
      {"write_through_store/real_time", "raw_hset_round_trip/real_time", "(latency below)"},
      {"write_behind_store/real_time", "plain_store/real_time", ">= 0.9 (issue 8)"},
  };
  std::printf("\n%-32s %12s %-26s %12s %7s  %-20s %s\n", "omni", "events/s", "baseline", "events/s", "ratio",
              "target", "per round");
  for (const Pair& p : pairs) {
    const std::vector<double>& a = c.results[p.omni];
    const std::vector<double>& b = c.results[p.base];
    const omni::bench::Ratios r = omni::bench::ratios(a, b);
    std::printf("%-32s %12.0f %-26s %12.0f %7.2f  %-20s %s\n", p.omni, omni::bench::median(a), p.base,
                omni::bench::median(b), r.median, p.target, r.per_round.c_str());
  }
  std::printf("document: %zu bytes of compact JSON, %zu fields; batches of %zu; %zu keys\n",
              fixture().docs[0].size(), make_doc(0).size(), kBatch, kKeys);
  for (const char* name : {"write_through_store", "raw_hset_round_trip"}) {
    std::printf("%-22s latency %s\n", name, percentiles(g_latency_us[name]).c_str());
  }
  fixture().backend.reset();
  fixture().script_backend.reset();
  redisFree(fixture().raw);
  redis.stop();
  return 0;
}
