#include "omni/tools/bench.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <numeric>
#include <random>
#include <thread>

#include "omni/log/rocks_status.h"
#include "omni/storage.h"

namespace omni::tools {
namespace {

namespace fs = std::filesystem;

std::string key_of(std::uint64_t i) { return "bench:" + std::to_string(i); }

// A scratch directory, removed with everything in it.
class Scratch {
 public:
  explicit Scratch(const std::string& parent) {
    std::random_device rd;
    path_ = (parent.empty() ? fs::temp_directory_path() : fs::path(parent)) /
            ("omni-bench-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
  }
  Scratch(const Scratch&) = delete;  // owns the directory
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string sub(const char* name) const { return (path_ / name).string(); }
  Status create() const {
    std::error_code ec;
    fs::create_directories(path_, ec);
    if (ec) return Status::io_error("cannot create the scratch directory '" + path_.string() + "': " + ec.message());
    return Status();
  }

 private:
  fs::path path_;
};

// Runs op(i) for every i in `order` on `threads` threads (thread t takes every
// threads-th one), reporting progress from this thread; the first error wins.
Result<BenchFigure> timed(std::string name, const std::vector<std::uint64_t>& order, unsigned threads,
                          const std::function<Status(std::uint64_t)>& op, Progress& progress) {
  std::atomic<std::uint64_t> done{0};
  std::atomic<bool> failed{false};
  Status first_error;
  std::mutex error_mu;
  progress.start("bench " + name, order.size());
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (std::size_t i = t; i < order.size() && !failed.load(std::memory_order_relaxed); i += threads) {
        if (Status s = op(order[i]); !s.ok()) {
          std::lock_guard l(error_mu);
          if (first_error.ok()) first_error = s;
          failed.store(true);
          return;
        }
        done.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  while (done.load() < order.size() && !failed.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    progress.update(done.load());
  }
  for (auto& th : pool) th.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  progress.finish(done.load());
  OMNI_RETURN_IF_ERROR(first_error);
  return BenchFigure{std::move(name), order.size(), seconds};
}

Result<std::unique_ptr<rocksdb::DB>> open_raw(const std::string& path) {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.IncreaseParallelism(2);
  // The same block cache Omni gives a store by default (Options::block_cache_size).
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(64u << 20);
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, path, &raw);
  if (!s.ok()) return log::from_rocks(s, "opening the raw RocksDB baseline at '" + path + "'");
  return std::unique_ptr<rocksdb::DB>(raw);
}

Status load(Storage& st, rocksdb::DB& raw, std::uint64_t n, const Json& doc, const std::string& bytes,
            Progress& progress) {
  progress.start("bench load", n);
  std::vector<BatchItem> batch;
  rocksdb::WriteBatch wb;
  for (std::uint64_t i = 0; i < n; ++i) {
    batch.push_back({key_of(i), doc});
    wb.Put(key_of(i), bytes);
    if (batch.size() == 1000 || i + 1 == n) {
      OMNI_RETURN_IF_ERROR(st.store_batch(std::move(batch)).status());
      rocksdb::Status s = raw.Write(rocksdb::WriteOptions(), &wb);
      if (!s.ok()) return log::from_rocks(s, "loading the raw RocksDB baseline");
      batch.clear();
      wb.Clear();
      progress.update(i + 1);
    }
  }
  progress.finish(n);
  return Status();
}

}  // namespace

Result<BenchReport> run_bench(const BenchOptions& o, Progress& progress) {
  if (o.events == 0 || o.threads == 0) return Status::invalid_argument("--events and --threads must be at least 1");
  if (o.threads > o.events) return Status::invalid_argument("more --threads than --events");
  if (o.threads > 1024) return Status::invalid_argument("--threads is at most 1024");
  if (o.value_bytes == 0 || o.value_bytes > (16u << 20) - 16) {
    return Status::invalid_argument("--value-bytes must be 1 .. 16 MiB - 16 (Options::max_value_bytes)");
  }
  Scratch scratch(o.dir);
  OMNI_RETURN_IF_ERROR(scratch.create());
  const Json doc = {{"v", std::string(o.value_bytes, 'x')}};
  const std::string bytes = doc.dump();  // what Omni stores as the payload
  std::vector<std::uint64_t> order(o.events);
  std::iota(order.begin(), order.end(), 0);
  BenchReport r;
  const std::string omni_path = scratch.sub("omni"), raw_path = scratch.sub("raw");

  if (o.kind == BenchKind::kWrite) {
    OMNI_ASSIGN_OR_RETURN(std::unique_ptr<Storage> st, Storage::open({.path = omni_path}));
    const WriteOptions wo{.sync = o.sync};
    OMNI_ASSIGN_OR_RETURN(r.omni, timed("omni store_data", order, o.threads, [&](std::uint64_t i) {
      return st->store_data(key_of(i), doc, wo).status();
    }, progress));
    OMNI_RETURN_IF_ERROR(st->close());
    OMNI_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> raw, open_raw(raw_path));
    rocksdb::WriteOptions rwo;
    rwo.sync = o.sync;
    OMNI_ASSIGN_OR_RETURN(r.raw, timed("raw RocksDB Put", order, o.threads, [&](std::uint64_t i) {
      rocksdb::Status s = raw->Put(rwo, key_of(i), bytes);
      return s.ok() ? Status() : log::from_rocks(s, "Put");
    }, progress));
    rocksdb::Status c = raw->Close();
    if (!c.ok()) return log::from_rocks(c, "closing the raw RocksDB baseline");
    return r;
  }

  {
    OMNI_ASSIGN_OR_RETURN(std::unique_ptr<Storage> st, Storage::open({.path = omni_path}));
    OMNI_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> raw, open_raw(raw_path));
    OMNI_RETURN_IF_ERROR(load(*st, *raw, o.events, doc, bytes, progress));
    OMNI_RETURN_IF_ERROR(st->close());
    rocksdb::FlushOptions fo;
    rocksdb::Status f = raw->Flush(fo);
    if (!f.ok()) return log::from_rocks(f, "flushing the raw RocksDB baseline");
  }
  // Both reopened: each reads from its files and its block cache, not a memtable.
  std::shuffle(order.begin(), order.end(), std::mt19937_64(7));
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<Storage> st, Storage::open({.path = omni_path}));
  OMNI_ASSIGN_OR_RETURN(r.omni, timed("omni load_data", order, o.threads, [&](std::uint64_t i) -> Status {
    OMNI_ASSIGN_OR_RETURN(const std::optional<Json> d, st->load_data(key_of(i)));
    if (!d) return Status::internal("bench: " + key_of(i) + " was not found");
    return Status();
  }, progress));
  OMNI_RETURN_IF_ERROR(st->close());
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> raw, open_raw(raw_path));
  OMNI_ASSIGN_OR_RETURN(r.raw, timed("raw RocksDB Get", order, o.threads, [&](std::uint64_t i) -> Status {
    std::string v;
    rocksdb::Status s = raw->Get(rocksdb::ReadOptions(), key_of(i), &v);
    if (!s.ok()) return log::from_rocks(s, "Get " + key_of(i));
    return Status();
  }, progress));
  rocksdb::Status c = raw->Close();
  if (!c.ok()) return log::from_rocks(c, "closing the raw RocksDB baseline");
  return r;
}

std::string to_text(const BenchReport& r, const BenchOptions& o) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "omni bench %s: %llu operations, %u thread(s), %zu-byte values%s\n"
                "  %-18s %12.0f ops/s  (%.3f s)\n"
                "  %-18s %12.0f ops/s  (%.3f s)\n"
                "  ratio              %12.2f  (omni / raw RocksDB)\n",
                o.kind == BenchKind::kWrite ? "write" : "read", static_cast<unsigned long long>(o.events),
                o.threads, o.value_bytes, o.sync ? ", sync" : "", r.omni.name.c_str(), r.omni.per_second(),
                r.omni.seconds, r.raw.name.c_str(), r.raw.per_second(), r.raw.seconds, r.ratio());
  return buf;
}

}  // namespace omni::tools
