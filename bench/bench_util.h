// What the benchmark binaries share: the document, keys, scratch directories, the
// command line (--rounds=N and Google Benchmark's flags), the summary reporter (each
// figure's rounds collected by family) and the per-round ratios.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/utilities/options_util.h>

#include <chrono>
#include <thread>

#include "omni/storage.h"

namespace omni::bench {

// A fresh directory under the system temp dir (the benchmarks leave it behind).
inline std::filesystem::path scratch(const std::string& name) {
  std::filesystem::path p = std::filesystem::temp_directory_path() / ("omni-bench-" + name);
  std::filesystem::remove_all(p);
  return p;
}

// A ~200-byte document (compact JSON), as a user profile.
inline omni::Json make_doc(std::uint64_t i);
inline std::string key_of(std::uint64_t i);

// Lets the compactions that writing a store left pending run to the end (a raw
// open with the store's own OPTIONS file, then waiting until no column family has
// one pending or running), so the first timed round does not share the two cores
// with the build's compactions: the rebuild's first round measured 0.28-0.30 of
// raw iteration against 0.35-0.38 for the later ones before this.
inline void settle_log(const std::string& path) {
  rocksdb::ConfigOptions cfg;
  cfg.ignore_unknown_options = true;
  rocksdb::DBOptions dbo;
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  if (!rocksdb::LoadLatestOptions(cfg, path, &dbo, &descs).ok()) std::abort();
  dbo.env = rocksdb::Env::Default();
  dbo.listeners.clear();
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(dbo, path, descs, &handles, &raw).ok()) std::abort();
  for (int waited_ms = 0; waited_ms < 300000; waited_ms += 100) {
    bool busy = false;
    for (rocksdb::ColumnFamilyHandle* h : handles) {
      std::uint64_t pending = 0, running = 0;
      raw->GetIntProperty(h, rocksdb::DB::Properties::kCompactionPending, &pending);
      raw->GetIntProperty(h, rocksdb::DB::Properties::kNumRunningCompactions, &running);
      busy = busy || pending != 0 || running != 0;
    }
    if (!busy) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (rocksdb::ColumnFamilyHandle* h : handles) raw->DestroyColumnFamilyHandle(h);
  if (!raw->Close().ok()) std::abort();
  delete raw;
}

// A store at options.path holding `events` store_data of make_doc over 100k keys
// (batches of 100), closed: the log the rebuild and tools benchmarks read.
inline void build_document_log(const omni::Options& options, std::uint64_t events) {
  auto s = omni::Storage::open(options).value();
  std::vector<omni::BatchItem> batch;
  for (std::uint64_t i = 0; i < events; ++i) {
    batch.push_back({key_of(i % 100000), make_doc(i), std::nullopt});
    if (batch.size() == 100 || i + 1 == events) {
      if (!s->store_batch(std::move(batch)).ok()) std::abort();
      batch.clear();
    }
  }
  if (!s->close().ok()) std::abort();
  settle_log(options.path);
}

// The baseline of full passes over a log: raw RocksDB forward iteration over the
// store's events column family (read-only open), every value touched.
inline void raw_log_iteration(benchmark::State& state, const std::filesystem::path& path,
                              std::uint64_t events) {
  std::vector<std::string> names;
  rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path.string(), &names);
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  std::size_t events_cf = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    cfs.emplace_back(names[i], rocksdb::ColumnFamilyOptions());
    if (names[i] == "events") events_cf = i;
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  if (!rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path.string(), cfs, &handles, &db).ok()) {
    state.SkipWithError("open failed");
    return;
  }
  for (auto _ : state) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[events_cf]));
    std::uint64_t n = 0, bytes = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      bytes += it->value().size();
      ++n;
    }
    benchmark::DoNotOptimize(bytes);
    if (n != events) state.SkipWithError("wrong event count");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(events));
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
}
inline omni::Json make_doc(std::uint64_t i) {
  return {{"id", i},
          {"name", "user-" + std::to_string(i)},
          {"email", "user" + std::to_string(i) + "@example.com"},
          {"role", i % 3 == 0 ? "admin" : "member"},
          {"active", true},
          {"created", "2026-11-25T20:31:19Z"},
          {"team", "storage-engine"},
          {"tags", {"alpha", "beta", "gamma"}},
          {"score", 12345.5}};
}

inline std::string key_of(std::uint64_t i) { return "user:" + std::to_string(i); }

// Collects items_per_second per benchmark family (name before "/round:").
class Collector : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      // "store_data_sync/round:2/min_time:1.000/real_time" -> "store_data_sync/real_time"
      std::string family;
      std::string name = r.benchmark_name();
      for (std::size_t start = 0; start <= name.size();) {
        std::size_t end = name.find('/', start);
        if (end == std::string::npos) end = name.size();
        const std::string part = name.substr(start, end - start);
        if (part.rfind("round:", 0) != 0 && part.rfind("min_time:", 0) != 0) {
          family += (family.empty() ? "" : "/") + part;
        }
        start = end + 1;
      }
      auto it = r.counters.find("items_per_second");
      if (it != r.counters.end()) results[family].push_back(it->second.value);
    }
  }
  std::map<std::string, std::vector<double>> results;
};

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Takes "--rounds=N" (default 3) and each "--<name>=V" of `extra` (values stored
// in it) out of argv, then hands the rest to Google Benchmark. Returns the rounds.
inline int init(int argc, char** argv, std::map<std::string, std::string>* extra = nullptr) {
  int rounds = 3;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    bool taken = false;
    if (a.rfind("--rounds=", 0) == 0) {
      rounds = std::stoi(a.substr(9));
      taken = true;
    }
    if (extra) {
      for (auto& [name, value] : *extra) {
        const std::string flag = "--" + name + "=";
        if (a.rfind(flag, 0) == 0) {
          value = a.substr(flag.size());
          taken = true;
        }
      }
    }
    if (!taken) args.push_back(argv[i]);
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  return rounds;
}

// omni's rounds over the baseline's, round by round: the median ratio and the
// ratios as text ("0.52 0.48 0.50").
struct Ratios {
  double median = 0;
  std::string per_round;
};
inline Ratios ratios(const std::vector<double>& omni, const std::vector<double>& base) {
  std::vector<double> r;
  Ratios out;
  for (std::size_t i = 0; i < omni.size() && i < base.size(); ++i) {
    r.push_back(base[i] > 0 ? omni[i] / base[i] : 0);
    char buf[16];
    std::snprintf(buf, sizeof buf, "%s%.2f", i ? " " : "", r.back());
    out.per_round += buf;
  }
  out.median = median(std::move(r));
  return out;
}

}  // namespace omni::bench
