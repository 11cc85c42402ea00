// `omni bench write|read`: a standard workload on a scratch store, next to a raw
// RocksDB baseline run on the same machine in the same run, so the ratio says what
// Omni costs on this hardware (bench/README.md has the full suites).
#pragma once

#include <cstdint>
#include <string>

#include "omni/tools/progress.h"

namespace omni::tools {

enum class BenchKind {
  kWrite,  // store_data of distinct keys   vs  rocksdb::DB::Put of the same bytes
  kRead,   // load_data of every key, shuffled, after a reopen  vs  rocksdb::DB::Get
};

struct BenchOptions {
  BenchKind kind = BenchKind::kWrite;
  std::uint64_t events = 100000;  // operations timed, split over the threads
  unsigned threads = 1;
  std::size_t value_bytes = 100;  // the document is {"v": "<value_bytes x's>"}
  bool sync = false;              // writes fsync (both sides)
  // Where the scratch stores go (a fresh directory inside, removed afterwards);
  // empty: the system temp dir.
  std::string dir;
};

struct BenchFigure {
  std::string name;
  std::uint64_t ops = 0;
  double seconds = 0;
  double per_second() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
};

struct BenchReport {
  BenchFigure omni;
  BenchFigure raw;
  double ratio() const { return raw.per_second() > 0 ? omni.per_second() / raw.per_second() : 0; }
};

// kInvalidArgument for 0 events or threads, or more threads than events.
Result<BenchReport> run_bench(const BenchOptions& options, Progress& progress);
std::string to_text(const BenchReport& r, const BenchOptions& options);

}  // namespace omni::tools
