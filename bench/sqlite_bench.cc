// Omni figures next to SQLite, the embedded store an event log is most often
// hand-built on, measured in the same process and interleaved (each pair runs omni
// then SQLite, for several rounds); the summary prints the median throughput of each
// side, each round's ratio (omni / SQLite, higher is better, 1.0 = parity) and the
// median of those ratios. A last table compares disk bytes per event after
// compaction with raw RocksDB and SQLite (there lower is better).
//
//   build/release/bench/sqlite_bench [--rounds=N] [google benchmark flags]
//
// The SQLite side is what an application would write by hand: an events table
// (seq INTEGER PRIMARY KEY, ts, identity TEXT, key TEXT, payload BLOB) and a state
// table (key TEXT PRIMARY KEY, seq INTEGER), in WAL mode, prepared statements, one
// transaction per event (BEGIN; INSERT event; INSERT OR REPLACE state; COMMIT).
// Both sides serialise the document inside the timed loop (Omni's store_data does).
//
// Reads are cache misses on both sides: Omni opened with cache_size = 0 (no LRU
// view), over 100k keys written, close()d (flushed) and reopened, so every load
// reads the state row and then the event from SST files. Each library keeps its
// default cache (RocksDB's 8 MB block cache, SQLite's 2 MB page cache) over the
// OS page cache, which holds both fixtures: this measures the read path, not the disk.
//
// Read benchmarks run first: their fixtures are closed and reopened before timing,
// so they leave no background work, while the write stores stay open (and keep
// compacting) until the end.
#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/options_util.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench_util.h"
#include "omni/storage.h"

namespace {

namespace fs = std::filesystem;

using omni::bench::key_of;
using omni::bench::make_doc;
using omni::bench::scratch;

// ---- errors: a benchmark that measures failures is worthless, so any failure aborts --

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "sqlite_bench: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

void check(const omni::Status& s, const std::string& what) {
  if (!s.ok()) die(what + ": " + s.to_string());
}

template <typename T>
T take(omni::Result<T> r, const std::string& what) {
  if (!r.ok()) die(what + ": " + r.status().to_string());
  return std::move(r).value();
}

void check(const rocksdb::Status& s, const std::string& what) {
  if (!s.ok()) die(what + ": " + s.ToString());
}

void check_sq(sqlite3* db, int rc, int want, const char* what) {
  if (rc != want) {
    die(std::string("sqlite: ") + what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)) +
        " (rc " + std::to_string(rc) + ", expected " + std::to_string(want) + ")");
  }
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Both raw RocksDB opens drop RocksDB's LOG file, like Omni (which routes it to its
// logger), so the directories compared below hold the same kinds of files.
class NullLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

// ---- SQLite -----------------------------------------------------------------------

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    check_sq(db, sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s_, nullptr), SQLITE_OK, sql);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(s_); }
  void text(int i, const std::string& v) {
    check_sq(db_, sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC), SQLITE_OK,
             "bind text");
  }
  void blob(int i, const std::string& v) {
    check_sq(db_, sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC), SQLITE_OK,
             "bind blob");
  }
  void integer(int i, std::int64_t v) {
    check_sq(db_, sqlite3_bind_int64(s_, i, v), SQLITE_OK, "bind int64");
  }
  // Steps once, expecting `want` (SQLITE_DONE or SQLITE_ROW); a row stays readable until reset().
  void step(int want) { check_sq(db_, sqlite3_step(s_), want, sqlite3_sql(s_)); }
  void reset() { check_sq(db_, sqlite3_reset(s_), SQLITE_OK, "reset"); }
  void run() {  // a statement without result rows
    step(SQLITE_DONE);
    reset();
  }
  sqlite3_stmt* get() { return s_; }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

void exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    die("sqlite: " + sql + ": " + msg);
  }
}

// One SQLite database in WAL mode with the event-log schema. `inline_payload` adds
// a copy of the payload to each state row (reads then need no join).
struct Sqlite {
  sqlite3* db = nullptr;
  std::unique_ptr<Stmt> begin, commit, insert_event, upsert_state;
  std::uint64_t next = 0;
  bool inline_payload = false;

  Sqlite(const fs::path& file, const char* synchronous, bool inline_payload_)
      : inline_payload(inline_payload_) {
    check_sq(db, sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
             SQLITE_OK, "open");
    {  // journal_mode answers with the mode it is in: it must have switched
      Stmt wal(db, "PRAGMA journal_mode=WAL");
      wal.step(SQLITE_ROW);
      const std::string mode = reinterpret_cast<const char*>(sqlite3_column_text(wal.get(), 0));
      if (mode != "wal") die("sqlite: journal_mode is '" + mode + "', not wal");
      wal.reset();
    }
    exec(db, std::string("PRAGMA synchronous=") + synchronous);
    exec(db,
         "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, ts INTEGER, identity TEXT, key TEXT,"
         " payload BLOB)");
    exec(db, inline_payload
                 ? "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, seq INTEGER, payload BLOB)"
                 : "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, seq INTEGER)");
    begin = std::make_unique<Stmt>(db, "BEGIN");
    commit = std::make_unique<Stmt>(db, "COMMIT");
    insert_event = std::make_unique<Stmt>(
        db, "INSERT INTO events (seq, ts, identity, key, payload) VALUES (?1, ?2, ?3, ?4, ?5)");
    upsert_state = std::make_unique<Stmt>(
        db, inline_payload ? "INSERT OR REPLACE INTO state (key, seq, payload) VALUES (?1, ?2, ?3)"
                           : "INSERT OR REPLACE INTO state (key, seq) VALUES (?1, ?2)");
  }
  Sqlite(const Sqlite&) = delete;
  Sqlite& operator=(const Sqlite&) = delete;
  ~Sqlite() {
    begin.reset();
    commit.reset();
    insert_event.reset();
    upsert_state.reset();
    // The last connection's close checkpoints the WAL into the file and deletes it.
    check_sq(db, sqlite3_close(db), SQLITE_OK, "close");
  }

  // The event and the state row, inside the caller's transaction.
  void append(const std::string& key, const std::string& payload) {
    static const std::string identity = "anonymous";  // Omni's default identity
    const auto seq = static_cast<std::int64_t>(++next);
    insert_event->integer(1, seq);
    insert_event->integer(2, now_ns());
    insert_event->text(3, identity);
    insert_event->text(4, key);
    insert_event->blob(5, payload);
    insert_event->run();
    upsert_state->text(1, key);
    upsert_state->integer(2, seq);
    if (inline_payload) upsert_state->blob(3, payload);
    upsert_state->run();
  }
};

// ---- store_data vs SQLite, one transaction per event ------------------------------

struct OmniStore {
  std::unique_ptr<omni::Storage> s;
  std::uint64_t next = 0;
  explicit OmniStore(const std::string& name) {
    omni::Options o;
    o.path = scratch(name).string();
    o.sync = false;  // the sync benchmark asks per write (WriteOptions::sync)
    s = take(omni::Storage::open(o), "opening " + o.path);
  }
};

// Stores live until the end of main: closing a RocksDB during static destruction
// races RocksDB's own statics.
std::unique_ptr<OmniStore> g_omni[2];
std::unique_ptr<Sqlite> g_sqlite[2];

OmniStore& omni_store(bool sync) {
  auto& p = g_omni[sync];
  if (!p) p = std::make_unique<OmniStore>(sync ? "sq-store-sync" : "sq-store-nosync");
  return *p;
}
Sqlite& sqlite_store(bool sync) {
  auto& p = g_sqlite[sync];
  if (!p) {
    const fs::path dir = scratch(sync ? "sqlite-full" : "sqlite-normal");
    fs::create_directories(dir);
    p = std::make_unique<Sqlite>(dir / "events.db", sync ? "FULL" : "NORMAL", false);
  }
  return *p;
}

void BM_StoreData(benchmark::State& state, bool sync) {
  OmniStore& st = omni_store(sync);
  const omni::Json doc = make_doc(42);
  const omni::WriteOptions wo{.sync = sync};
  for (auto _ : state) {
    auto r = st.s->store_data(key_of(st.next++ % 100000), doc, wo);
    if (!r.ok()) die("store_data: " + r.status().to_string());
  }
  state.SetItemsProcessed(state.iterations());
}

// synchronous=NORMAL in WAL mode: a commit is not fsynced (a process crash keeps it,
// power loss may not), like Omni without sync. FULL fsyncs the WAL at each commit.
void BM_SqliteStore(benchmark::State& state, bool sync) {
  Sqlite& sq = sqlite_store(sync);
  const omni::Json doc = make_doc(42);
  for (auto _ : state) {
    const std::string key = key_of(sq.next % 100000);
    const std::string payload = doc.dump();  // the same bytes omni stores
    sq.begin->run();
    sq.append(key, payload);
    sq.commit->run();
  }
  state.SetItemsProcessed(state.iterations());
}

// ---- cache-miss load_data vs SQLite SELECT + parse --------------------------------

constexpr std::size_t kLoadKeys = 100000;

// One random access order, shared by both sides (each benchmark starts at its head).
const std::vector<std::string>& random_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<std::uint64_t> pick(0, kLoadKeys - 1);
    for (std::size_t i = 0; i < (1u << 20); ++i) k.push_back(key_of(pick(rng)));
    return k;
  }();
  return keys;
}

std::unique_ptr<omni::Storage> g_load_omni;
std::unique_ptr<Sqlite> g_load_sqlite[2];  // [inline_payload]

omni::Storage& load_omni() {
  if (g_load_omni) return *g_load_omni;
  omni::Options o;
  o.path = scratch("sq-load-" + std::to_string(kLoadKeys)).string();
  o.cache_size = 0;  // no LRU view: every load reads RocksDB
  {
    auto s = take(omni::Storage::open(o), "opening " + o.path);
    std::vector<omni::BatchItem> batch;
    for (std::size_t i = 0; i < kLoadKeys; ++i) {
      batch.push_back({key_of(i), make_doc(i)});
      if (batch.size() == 1000 || i + 1 == kLoadKeys) {
        take(s->store_batch(std::move(batch)), "store_batch (load fixture)");
        batch.clear();
      }
    }
    // Flushes the memtables (and waits for compactions): after the reopen every
    // read comes from SST files, not the memtable.
    check(s->close(), "closing the load fixture");
  }
  g_load_omni = take(omni::Storage::open(o), "reopening " + o.path);
  return *g_load_omni;
}

Sqlite& load_sqlite(bool inline_payload) {
  auto& p = g_load_sqlite[inline_payload];
  if (p) return *p;
  const fs::path dir = scratch(inline_payload ? "sqlite-load-inline" : "sqlite-load-join");
  fs::create_directories(dir);
  for (int pass = 0; pass < 2; ++pass) {  // build, close (checkpoint), reopen: as omni
    p.reset();
    p = std::make_unique<Sqlite>(dir / "events.db", "NORMAL", inline_payload);
    if (pass == 1) break;
    for (std::size_t i = 0; i < kLoadKeys; ++i) {
      if (i % 1000 == 0) p->begin->run();
      p->append(key_of(i), make_doc(i).dump());
      if (i % 1000 == 999 || i + 1 == kLoadKeys) p->commit->run();
    }
  }
  return *p;
}

void BM_LoadDataMiss(benchmark::State& state) {
  omni::Storage& s = load_omni();
  const auto& keys = random_keys();
  std::size_t i = 0;
  for (auto _ : state) {
    const std::string& key = keys[i++ % keys.size()];
    auto r = s.load_data(key);
    if (!r.ok() || !r->has_value()) die("load_data " + key + ": " + r.status().to_string());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

// join: state row -> event row, the same two steps as Omni's miss path.
// inline: the payload is in the state row, one lookup.
void BM_SqliteLoad(benchmark::State& state, bool inline_payload) {
  Sqlite& sq = load_sqlite(inline_payload);
  Stmt select(sq.db, inline_payload
                         ? "SELECT payload FROM state WHERE key = ?1"
                         : "SELECT e.payload FROM state s JOIN events e ON e.seq = s.seq WHERE s.key = ?1");
  const auto& keys = random_keys();
  std::size_t i = 0;
  for (auto _ : state) {
    select.text(1, keys[i++ % keys.size()]);
    select.step(SQLITE_ROW);
    const auto* p = static_cast<const char*>(sqlite3_column_blob(select.get(), 0));
    const int n = sqlite3_column_bytes(select.get(), 0);
    omni::Json doc = omni::Json::parse(p, p + n);
    select.reset();
    benchmark::DoNotOptimize(doc);
  }
  state.SetItemsProcessed(state.iterations());
}

// ---- disk bytes per event ---------------------------------------------------------

// Total bytes of the directory's files; only the WAL files (*.log) with wal_only.
std::uint64_t dir_bytes(const fs::path& dir, bool wal_only = false) {
  std::uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && (!wal_only || e.path().extension() == ".log")) total += e.file_size();
  }
  return total;
}

// Every column family of a closed RocksDB directory compacted down to its last
// level (kForce: the bottom level is rewritten too, dropping every overwritten value),
// with the options the store was written with (its latest OPTIONS file: compression,
// block size), so the result is what the store itself would compact to.
void compact_fully(const fs::path& dir) {
  rocksdb::ConfigOptions cfg;
  cfg.ignore_unknown_options = true;
  rocksdb::DBOptions dbo;
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  check(rocksdb::LoadLatestOptions(cfg, dir.string(), &dbo, &descs), "loading the options of " + dir.string());
  dbo.info_log = std::make_shared<NullLogger>();
  dbo.env = rocksdb::Env::Default();
  dbo.listeners.clear();
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  check(rocksdb::DB::Open(dbo, dir.string(), descs, &handles, &raw), "raw open of " + dir.string());
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (auto* h : handles) check(db->CompactRange(co, h, nullptr, nullptr), "CompactRange " + h->GetName());
  for (auto* h : handles) check(db->DestroyColumnFamilyHandle(h), "DestroyColumnFamilyHandle");
  check(db->Close(), "closing " + dir.string());
}

struct DiskFigures {
  double omni_closed = 0, omni_compacted = 0, raw = 0, raw_tuned = 0, sqlite = 0;
  double omni_wal_closed = 0, omni_wal_compacted = 0;  // of which WAL files
};

// n writes of make_doc(i) under key_of(i % distinct) on each of three stores, then the
// directory's total file bytes / n:
//   omni closed:    after close() (flushes, merges small L0/L1 files);
//   omni compacted: then every column family (rocksdb::DB::ListColumnFamilies) compacted
//                   fully by a raw rocksdb::DB::Open of the directory;
//   raw rocksdb:    Put(key, dump(doc)), flushed, compacted fully, closed;
//   sqlite:         the events + state schema, 1,000 events per transaction, closed
//                   (the WAL is checkpointed into the file and removed).
// RocksDB compresses with its default (Snappy) on both sides; SQLite stores raw bytes.
DiskFigures disk_bytes_per_event(std::size_t n, std::size_t distinct) {
  DiskFigures f;
  const std::string tag = std::to_string(n) + "-" + std::to_string(distinct);
  {
    omni::Options o;
    o.path = scratch("sq-disk-omni-" + tag).string();
    auto s = take(omni::Storage::open(o), "opening " + o.path);
    for (std::size_t i = 0; i < n; ++i) {
      take(s->store_data(key_of(i % distinct), make_doc(i)), "store_data (disk)");
    }
    check(s->close(), "closing " + o.path);  // flushes, merges small files
    s.reset();
    f.omni_closed = double(dir_bytes(o.path)) / n;
    f.omni_wal_closed = double(dir_bytes(o.path, true)) / n;
    compact_fully(o.path);
    f.omni_compacted = double(dir_bytes(o.path)) / n;
    f.omni_wal_compacted = double(dir_bytes(o.path, true)) / n;
  }
  // Raw RocksDB twice: with its defaults (the baseline), and with the table
  // settings Omni uses (ZSTD at the bottom level, 16 KiB blocks), to show how much
  // of the gap is the settings and how much the extra bytes of an event.
  for (bool tuned : {false, true}) {
    const fs::path dir = scratch("sq-disk-raw-" + tag + (tuned ? "-tuned" : ""));
    rocksdb::Options o;
    o.create_if_missing = true;
    o.IncreaseParallelism(2);
    o.info_log = std::make_shared<NullLogger>();
    if (tuned) {
      o.bottommost_compression = rocksdb::kZSTD;
      rocksdb::BlockBasedTableOptions t;
      t.block_size = 16 << 10;
      o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
    }
    rocksdb::DB* raw = nullptr;
    check(rocksdb::DB::Open(o, dir.string(), &raw), "opening " + dir.string());
    std::unique_ptr<rocksdb::DB> db(raw);
    for (std::size_t i = 0; i < n; ++i) {
      check(db->Put({}, key_of(i % distinct), make_doc(i).dump()), "Put (disk)");
    }
    check(db->Flush(rocksdb::FlushOptions()), "Flush");
    rocksdb::CompactRangeOptions co;
    co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    check(db->CompactRange(co, nullptr, nullptr), "CompactRange");
    check(db->Close(), "closing " + dir.string());
    db.reset();
    (tuned ? f.raw_tuned : f.raw) = double(dir_bytes(dir)) / n;
  }
  {
    const fs::path dir = scratch("sq-disk-sqlite-" + tag);
    fs::create_directories(dir);
    {
      Sqlite sq(dir / "events.db", "NORMAL", false);
      for (std::size_t i = 0; i < n; ++i) {
        if (i % 1000 == 0) sq.begin->run();
        sq.append(key_of(i % distinct), make_doc(i).dump());
        if (i % 1000 == 999 || i + 1 == n) sq.commit->run();
      }
    }  // closed: the WAL is checkpointed into events.db and removed
    f.sqlite = double(dir_bytes(dir)) / n;
  }
  return f;
}

void disk_table() {
  constexpr std::size_t n = 200000;
  std::printf("\ndisk bytes per event, %zu writes of make_doc(i) (directory total; lower is better;"
              " ratio = omni / raw RocksDB)\n", n);
  std::printf("%-22s %12s %9s %15s %12s %13s %10s %12s %10s %10s\n", "keys", "omni closed", "(wal)",
              "omni compacted", "raw rocksdb", "ratio closed", "ratio cmp", "raw, tuned", "ratio", "sqlite");
  std::vector<std::string> warnings;
  for (std::size_t distinct : {std::size_t{50000}, n}) {
    const DiskFigures f = disk_bytes_per_event(n, distinct);
    const std::string label =
        distinct == n ? "all distinct (200k)" : "key_of(i % " + std::to_string(distinct / 1000) + "k)";
    std::printf("%-22s %12.1f %9.1f %15.1f %12.1f %13.2f %10.2f %12.1f %10.2f %10.1f\n", label.c_str(),
                f.omni_closed, f.omni_wal_closed, f.omni_compacted, f.raw, f.omni_closed / f.raw,
                f.omni_compacted / f.raw, f.raw_tuned, f.omni_compacted / f.raw_tuned, f.sqlite);
    if (f.omni_wal_compacted > 0) {
      char w[160];
      std::snprintf(w, sizeof w, "%s: %.1f bytes/event of WAL files are still in the omni directory"
                    " after close and full compaction", label.c_str(), f.omni_wal_compacted);
      warnings.push_back(w);
    }
  }
  std::printf("omni and sqlite keep every event (the log); raw rocksdb keeps only each key's last value.\n"
              "raw, tuned: raw rocksdb with omni's table settings (ZSTD bottom level, 16 KiB blocks).\n");
  for (const auto& w : warnings) std::printf("note: %s\n", w.c_str());
}

// ---- summary ------------------------------------------------------------------

using omni::bench::Collector;
using omni::bench::median;

}  // namespace

int main(int argc, char** argv) {
  const int rounds = omni::bench::init(argc, argv);

  // Each pair runs its rounds back to back (omni, sqlite, omni, sqlite, ...).
  auto round_name = [](const char* name, int r) {
    return std::string(name) + "/round:" + std::to_string(r);
  };
  const auto keys = static_cast<int64_t>(kLoadKeys);
  for (int r = 0; r < rounds; ++r) {
    benchmark::RegisterBenchmark(round_name("load_data_miss", r).c_str(), BM_LoadDataMiss)
        ->Arg(keys)->MinTime(1.0)->UseRealTime();
    benchmark::RegisterBenchmark(round_name("sqlite_load_join", r).c_str(), BM_SqliteLoad, false)
        ->Arg(keys)->MinTime(1.0)->UseRealTime();
    benchmark::RegisterBenchmark(round_name("sqlite_load_inline", r).c_str(), BM_SqliteLoad, true)
        ->Arg(keys)->MinTime(1.0)->UseRealTime();
  }
  for (bool sync : {false, true}) {
    for (int r = 0; r < rounds; ++r) {
      benchmark::RegisterBenchmark(round_name(sync ? "store_data_sync" : "store_data_nosync", r).c_str(),
                                   BM_StoreData, sync)->MinTime(1.0)->UseRealTime();
      benchmark::RegisterBenchmark(round_name(sync ? "sqlite_wal_full" : "sqlite_wal_normal", r).c_str(),
                                   BM_SqliteStore, sync)->MinTime(1.0)->UseRealTime();
    }
  }
  Collector c;
  benchmark::RunSpecifiedBenchmarks(&c);

  struct Pair {
    const char* omni;
    const char* peer;
    const char* note;
  };
  const Pair pairs[] = {
      {"store_data_nosync", "sqlite_wal_normal", "no fsync; 1 txn per event"},
      {"store_data_sync", "sqlite_wal_full", "fsync per write; 1 writer"},
      {"load_data_miss/100000", "sqlite_load_join/100000", "state -> event, + parse"},
      {"load_data_miss/100000", "sqlite_load_inline/100000", "payload in state row"},
  };
  std::printf("\n%-40s %12s %-40s %12s %7s  %-26s %s\n", "omni", "ops/s", "sqlite", "ops/s", "ratio", "note",
              "per round");
  for (const Pair& p : pairs) {
    auto find = [&](std::string name) {
      for (auto& [k, v] : c.results) {
        if (k == name || k == name + "/real_time") return v;
      }
      return std::vector<double>{};
    };
    const std::vector<double> a = find(p.omni), b = find(p.peer);
    const omni::bench::Ratios r = omni::bench::ratios(a, b);
    std::printf("%-40s %12.0f %-40s %12.0f %7.2f  %-26s %s\n", p.omni, median(a), p.peer, median(b),
                r.median, p.note, r.per_round.c_str());
  }
  std::printf("ratio = omni / sqlite ops/s, higher is better; document: %zu bytes of compact JSON;"
              " SQLite %s\n", make_doc(42).dump().size(), sqlite3_libversion());
  std::fflush(stdout);
  disk_table();
  g_load_omni.reset();
  for (auto& p : g_load_sqlite) p.reset();
  for (auto& p : g_omni) p.reset();
  for (auto& p : g_sqlite) p.reset();
  return 0;
}
