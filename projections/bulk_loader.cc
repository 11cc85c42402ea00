#include "omni/projections/bulk_loader.h"

#include <rocksdb/sst_file_writer.h>

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <new>
#include <system_error>
#include <thread>

#include "omni/log/rocks_status.h"

namespace omni::projections {

namespace {
// Bytes [from, from + 8) of a key as a big-endian number, zero-padded: most keys
// are ordered by integer compares, and only keys sharing 16 bytes reach memcmp.
std::uint64_t word_of(std::string_view key, std::size_t from) {
  unsigned char b[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  if (key.size() > from) std::memcpy(b, key.data() + from, std::min<std::size_t>(8, key.size() - from));
  std::uint64_t v = 0;
  for (unsigned char c : b) v = (v << 8) | c;
  return v;
}
constexpr std::size_t kBlockBytes = std::size_t{4} << 20;
constexpr std::size_t kHugePage = std::size_t{2} << 20;
// Row locations are 32 bits (BulkLoader::Family::locate): chunks stay below this.
constexpr std::size_t kMaxChunk = std::size_t{960} << 20;

// Memory for big buffers in 2 MiB pages where the kernel gives them (madvise
// mode): a load fills ~100 MB per million events, and first touches of 4 KiB
// pages were a quarter of a rebuild's profile on a virtual machine.
void* huge_alloc(std::size_t bytes) {
  if (bytes < kHugePage) return ::operator new(bytes);
  const std::size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, rounded);
  if (p == nullptr) throw std::bad_alloc();
  (void)::madvise(p, rounded, MADV_HUGEPAGE);  // a hint: no huge pages is fine
  return p;
}
void huge_free(void* p, std::size_t bytes) {
  if (bytes < kHugePage) {
    ::operator delete(p);
  } else {
    std::free(p);
  }
}
template <typename T>
struct HugeAllocator {
  using value_type = T;
  HugeAllocator() = default;
  template <typename U>
  HugeAllocator(const HugeAllocator<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(huge_alloc(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) { huge_free(p, n * sizeof(T)); }
  friend bool operator==(const HugeAllocator&, const HugeAllocator&) { return true; }
};
struct HugeBlock {
  explicit HugeBlock(std::size_t n) : data(static_cast<char*>(huge_alloc(n))), size(n) {}
  ~HugeBlock() { huge_free(data, size); }
  HugeBlock(const HugeBlock&) = delete;
  HugeBlock& operator=(const HugeBlock&) = delete;
  char* data;
  std::size_t size;
};
constexpr std::size_t kRunRows = std::size_t{1} << 16;
}  // namespace

struct BulkLoader::Family {
  // 32 bytes: rows were most of the memory a load touches (a state or audit row
  // is ~20 bytes of key and value), and first touches of that memory were a
  // quarter of a rebuild's profile.
  struct Row {
    std::uint64_t w0, w1;     // the key's first 16 bytes (word_of)
    std::uint32_t at;         // where key, then value, are (Family::locate)
    std::uint32_t order;      // arrival: the last row of a key wins
    std::uint32_t key_size;
    std::uint32_t value_size;  // kErase: an erase (no value)
  };
  static constexpr std::uint32_t kErase = 0xffffffffu;
  static_assert(sizeof(Row) == 32);

  // A row's location: a regular block's index (below kLargeBase) or kLargeBase +
  // the index of a large block, then the offset in it. A chunk is at most 960 MiB
  // (kMaxChunk): rows of over 2 MiB fill a block each, so fewer than 482 regular
  // blocks, and fewer than 242 large ones, are ever in use.
  static constexpr unsigned kOffsetBits = 22;  // blocks are 4 MiB
  static constexpr std::uint32_t kLargeBase = 512;
  const char* locate(std::uint32_t at) const {
    const std::uint32_t index = at >> kOffsetBits, offset = at & ((1u << kOffsetBits) - 1);
    const char* base = index < kLargeBase ? blocks[index]->data : large[index - kLargeBase]->data;
    return base + offset;
  }
  std::string_view key(const Row& r) const { return {locate(r.at), r.key_size}; }
  std::string_view value(const Row& r) const {
    return r.value_size == kErase ? std::string_view() : std::string_view(locate(r.at) + r.key_size, r.value_size);
  }

  // Key order; equal keys in arrival order.
  bool before(const Row& a, const Row& b) const {
    if (a.w0 != b.w0) return a.w0 < b.w0;
    if (a.w1 != b.w1) return a.w1 < b.w1;
    // Equal first 16 bytes (zero-padded): a key of at most 16 bytes is then a
    // prefix of the other, so the shorter one is first.
    if (a.key_size <= 16 || b.key_size <= 16) {
      if (a.key_size != b.key_size) return a.key_size < b.key_size;
    } else if (int c = key(a).substr(16).compare(key(b).substr(16)); c != 0) {
      return c < 0;
    }
    return a.order < b.order;
  }
  bool same_key(const Row& a, const Row& b) const { return a.w0 == b.w0 && a.w1 == b.w1 && key(a) == key(b); }

  rocksdb::ColumnFamilyHandle* handle;
  std::uint32_t id;
  // Rows point into blocks that stay put (a growing string would move them and
  // touch every page again); blocks are kept for the next chunk.
  std::vector<std::unique_ptr<HugeBlock>> blocks;
  std::size_t block = 0, used = 0;  // the block being filled, bytes used in it
  std::vector<std::unique_ptr<HugeBlock>> large;  // rows bigger than a block
  std::vector<Row, HugeAllocator<Row>> rows;
  std::string path;  // the file written for this chunk, if any

  // Room for n bytes, and its location for Row::at.
  char* room(std::size_t n, std::uint32_t* at) {
    if (n > kBlockBytes) {
      *at = (kLargeBase + static_cast<std::uint32_t>(large.size())) << kOffsetBits;
      large.push_back(std::make_unique<HugeBlock>(n));
      return large.back()->data;
    }
    if (blocks.empty() || used + n > kBlockBytes) {
      if (!blocks.empty()) ++block;
      if (block == blocks.size()) blocks.push_back(std::make_unique<HugeBlock>(kBlockBytes));
      used = 0;
    }
    *at = static_cast<std::uint32_t>(block << kOffsetBits | used);
    char* p = blocks[block]->data + used;
    used += n;
    return p;
  }
  void reset() {
    rows.clear();
    large.clear();
    block = 0;
    used = 0;
    path.clear();
  }
};

BulkLoader::BulkLoader(log::EventLog& log, std::vector<rocksdb::ColumnFamilyHandle*> families,
                       std::size_t expected_rows, std::size_t chunk_bytes)
    : log_(log), expected_rows_(expected_rows), chunk_bytes_(std::min(chunk_bytes, kMaxChunk)) {
  static std::atomic<std::uint64_t> loaders{0};
  dir_ = log_.path() + "/bulk-load-" + std::to_string(loaders.fetch_add(1));
  for (rocksdb::ColumnFamilyHandle* h : families) {
    auto f = std::make_unique<Family>();
    f->handle = h;
    f->id = h->GetID();
    families_.push_back(std::move(f));
  }
}

void BulkLoader::remove_leftovers(const log::EventLog& log) {
  std::error_code ec;
  std::vector<std::filesystem::path> found;
  for (const auto& entry : std::filesystem::directory_iterator(log.path(), ec)) {
    if (entry.path().filename().string().rfind("bulk-load-", 0) == 0) found.push_back(entry.path());
  }
  for (const auto& p : found) std::filesystem::remove_all(p, ec);
}

BulkLoader::~BulkLoader() {
  std::error_code ec;
  if (dir_made_) std::filesystem::remove_all(dir_, ec);
}

void BulkLoader::put(rocksdb::ColumnFamilyHandle* cf, std::string_view key, std::string_view value) {
  hold(cf, key, value, false);
}

void BulkLoader::erase(rocksdb::ColumnFamilyHandle* cf, std::string_view key) { hold(cf, key, {}, true); }

void BulkLoader::hold(rocksdb::ColumnFamilyHandle* cf, std::string_view key, std::string_view value, bool erase) {
  if (!error_.ok()) return;
  if (last_ == nullptr || last_->handle != cf) {
    last_ = nullptr;
    for (const auto& f : families_) {
      if (f->handle == cf) last_ = f.get();
    }
    if (last_ == nullptr) {
      error_ = Status::internal("a row for column family '" + cf->GetName() + "', which the bulk load does not hold");
      return;
    }
  }
  Family& f = *last_;
  if (f.rows.capacity() == 0) f.rows.reserve(std::min(expected_rows_, chunk_bytes_ / sizeof(Family::Row)));
  std::uint32_t at;
  char* p = f.room(key.size() + value.size(), &at);
  std::memcpy(p, key.data(), key.size());
  if (!value.empty()) std::memcpy(p + key.size(), value.data(), value.size());
  f.rows.push_back({word_of(key, 0), word_of(key, 8), at, static_cast<std::uint32_t>(f.rows.size()),
                    static_cast<std::uint32_t>(key.size()),
                    erase ? Family::kErase : static_cast<std::uint32_t>(value.size())});
  // Runs are sorted as they fill, so finish() only merges them.
  if (f.rows.size() % kRunRows == 0) {
    std::sort(f.rows.end() - kRunRows, f.rows.end(), [&f](const Family::Row& a, const Family::Row& b) {
      return f.before(a, b);
    });
  }
  held_bytes_ += key.size() + value.size() + sizeof(Family::Row);
  if (held_bytes_ >= chunk_bytes_) error_ = ingest();
}

Status BulkLoader::finish() {
  OMNI_RETURN_IF_ERROR(error_);
  OMNI_RETURN_IF_ERROR(ingest());
  std::error_code ec;
  if (dir_made_) std::filesystem::remove_all(dir_, ec);
  dir_made_ = false;
  return Status();
}

Status BulkLoader::ingest() {
  std::vector<Family*> held;
  for (const auto& f : families_) {
    if (!f->rows.empty()) held.push_back(f.get());
  }
  if (held.empty()) return Status();
  if (!dir_made_) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);  // an interrupted load's leftovers
    std::filesystem::create_directories(dir_, ec);
    if (ec) return Status::io_error("creating '" + dir_ + "' for a bulk load: " + ec.message());
    dir_made_ = true;
  }
  // Sorting and writing is most of a load: families are written side by side.
  std::vector<Status> written(held.size());
  std::vector<std::thread> helpers;
  for (std::size_t i = 1; i < held.size(); ++i) {
    helpers.emplace_back([&, i] { written[i] = write_file(*held[i]); });
  }
  written[0] = write_file(*held[0]);
  for (std::thread& t : helpers) t.join();
  Status failed;
  for (const Status& s : written) {
    if (!s.ok() && failed.ok()) failed = s;
  }
  // One atomic ingest for every family: a chunk lands whole or not at all.
  std::vector<rocksdb::IngestExternalFileArg> args;
  for (Family* f : held) {
    if (f->path.empty()) continue;
    rocksdb::IngestExternalFileArg arg;
    arg.column_family = f->handle;
    arg.external_files = {f->path};
    arg.options.move_files = true;  // a hard link: the bytes are written once
    args.push_back(std::move(arg));
  }
  if (failed.ok() && !args.empty()) {
    rocksdb::Status s = log_.db()->IngestExternalFiles(args);
    if (!s.ok()) failed = log::from_rocks(s, "ingesting the files of a bulk load");
    if (s.ok()) files_ += args.size();
  }
  for (Family* f : held) f->reset();
  held_bytes_ = 0;
  return failed;
}

Status BulkLoader::write_file(Family& f) {
  const std::size_t n = f.rows.size();
  const std::size_t tail = n % kRunRows;
  auto before = [&f](const Family::Row& a, const Family::Row& b) { return f.before(a, b); };
  if (tail != 0) std::sort(f.rows.end() - static_cast<std::ptrdiff_t>(tail), f.rows.end(), before);
  // A k-way merge of the sorted runs: a heap of run cursors, least row on top.
  struct Cursor {
    std::size_t at, end;
  };
  std::vector<Cursor> heap;
  for (std::size_t begin = 0; begin < n; begin += kRunRows) heap.push_back({begin, std::min(n, begin + kRunRows)});
  auto after = [&f](const Cursor& a, const Cursor& b) { return f.before(f.rows[b.at], f.rows[a.at]); };
  std::make_heap(heap.begin(), heap.end(), after);

  f.path = dir_ + "/" + std::to_string(files_) + "-" + std::to_string(f.id) + ".sst";
  rocksdb::Options options = log_.db()->GetOptions(f.handle);
  // SstFileWriter compresses as the bottom level does (ZSTD here, the slowest to
  // write); the upper levels' Snappy is enough for a file that compaction rewrites
  // as it moves down.
  options.bottommost_compression = rocksdb::kDisableCompressionOption;
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(options), options, f.handle);
  rocksdb::Status s = writer.Open(f.path);
  std::uint64_t written = 0;
  const Family::Row* pending = nullptr;  // the newest row so far of the current key
  auto emit = [&](const Family::Row& r) {
    if (s.ok()) s = r.value_size == Family::kErase ? writer.Delete(f.key(r)) : writer.Put(f.key(r), f.value(r));
    ++written;
  };
  while (!heap.empty() && s.ok()) {
    std::pop_heap(heap.begin(), heap.end(), after);
    Cursor& c = heap.back();
    const Family::Row& r = f.rows[c.at];
    // Equal keys come out in arrival order: only the last of a run of them is written.
    if (pending != nullptr && !f.same_key(*pending, r)) emit(*pending);
    pending = &r;
    if (++c.at == c.end) {
      heap.pop_back();
    } else {
      std::push_heap(heap.begin(), heap.end(), after);
    }
  }
  if (pending != nullptr) emit(*pending);
  if (s.ok()) s = writer.Finish();
  if (!s.ok()) {
    f.path.clear();
    return log::from_rocks(s, "writing a bulk-load file for '" + f.handle->GetName() + "'");
  }
  rows_ingested_ += written;
  return Status();
}

}  // namespace omni::projections
