// The in-order path of RedisBackend::apply: a batch of document stores tailing
// the log from the watermark, sent as plain pipelined HSETs rather than through
// the Lua script, the watermark raised after all of them by a compare-and-set.
//
// Why it is correct: every seq in such a batch is above the watermark, and every
// document in Redis was written by an event at or below it (the watermark only
// moves once the writes it covers are acknowledged). So each change is newer
// than what its key holds, and the script's per-key check would pass anyway.
// What it gives up is the script's all-or-nothing batch: a reader may see some
// documents of a batch before others, each document itself changing in one
// step. Nothing else changes for the worker: the watermark never runs ahead of
// the data; a batch cut short (a dropped connection, a refused change) moves no
// watermark, and RedisBackend then sends batches through the script until it has
// moved the watermark once, so the stores the cut-short batch left are not
// applied twice; a watermark that is not the expected one before or after (a
// FLUSHALL, lost writes) is kNotFound, and the documents the batch had written
// are deleted again, so a wiped target is left empty for the re-seed.
//
// Why it is fast: a batch through Lua cost Redis three times the CPU of the
// same HSETs, and a MULTI/EXEC block 1.6 times (bench/README.md). Here each store
// is one HSET (the fields plus "_seq"). A field the hash held before and the new
// document lacks must go: the backend remembers the field names it last wrote
// per key (KnownFields) and asks HKEYS of the others; a store that must drop
// fields is HSET + HDEL inside its own MULTI/EXEC.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "omni/backend.h"
#include "redis_connection.h"
#include "redis_layout.h"

namespace omni::sinks::redis {

// Which document hashes this backend last wrote itself, with which field names
// (a 64-bit fingerprint of them), as far as it knows for sure. Anything that
// could make Redis differ from it (a script call that may have skipped a change,
// a failed call, a watermark other than expected) forgets the keys concerned or
// everything. A cache: a key it has no room for is simply unknown (the caller
// asks HKEYS). Keys are held as 64-bit hashes, so a wrong answer needs two keys
// whose hashes collide and documents whose fingerprints do too.
//
// Laid out as 4-way buckets of one cache line each: a node-based hash map of
// 100k keys made the lookups a third of the worker's CPU (cache misses).
class KnownFields {
 public:
  // Room for about `entries` keys (0: none, every key unknown).
  explicit KnownFields(std::size_t entries);

  // How a key is held (its hash, never 0); the calls below take it or the key.
  static std::uint64_t id(std::string_view key);

  bool matches(std::uint64_t id, std::uint64_t fingerprint) const;
  // A hint that key is about to be looked up or put: its bucket is fetched into
  // the cache (lock-free; the table never moves).
  void prefetch(std::uint64_t id) const;
  void put(std::uint64_t id, std::uint64_t fingerprint);
  void forget(std::string_view key);
  void clear();

 private:
  struct Slot {
    std::uint64_t key = 0;  // 0: empty
    std::uint64_t fingerprint = 0;
  };
  struct alignas(64) Bucket {
    Slot slots[4];
  };
  Bucket* bucket(std::uint64_t id) const { return &buckets_[id & mask_]; }

  mutable std::mutex mu_;
  std::unique_ptr<Bucket[]> buckets_;  // guarded by mu_
  std::size_t mask_ = 0;
};

// True when `batch` can take the in-order path: not a re-seed, the expected
// watermark known, a watermark to set, at least min_changes changes
// (RedisOptions::in_order_min_changes), and every change a store above the
// expected watermark.
bool in_order_eligible(const ChangeBatch& batch, std::size_t min_changes);

// A block of an in-order batch: up to a call's worth of stores, planned and sent
// in chunks so that the client plans (splits the documents, finds the keys whose
// fields this backend does not know) while Redis applies the chunk before.
// start_in_order() empties it; each plan_in_order() plans one more chunk; the
// caller asks Redis the HKEYS of the chunk's unknown keys and encode_in_order()
// then writes the chunk's commands.
struct InOrderBlock {
  std::size_t first = 0, end = 0;  // the batch's changes [first, end): stores[i] is change first + i
  std::string through;             // what the watermark is raised to after it
  std::size_t bytes = 0;           // about the arguments planned so far
  static constexpr std::size_t kNone = ~std::size_t{0};
  struct Store {
    std::string_view head, key;  // the hash's name: Layout::document_head(key), then key
    std::uint64_t id;            // KnownFields::id(key)
    std::uint64_t fingerprint;
    bool known;       // KnownFields says the hash holds exactly these fields
    std::size_t before;   // the block's earlier store of this key (kNone: none)
    std::size_t unknown;  // its index in `unknown` (kNone: its fields are known)
    std::size_t fields_begin, fields_end;  // in names / values
  };
  std::vector<Store> stores;
  std::vector<std::string> names;
  std::vector<std::string_view> values;
  std::vector<std::size_t> unknown;  // indexes in stores whose key's HKEYS is wanted
  // key -> its last store in the block, open addressing (a slot holds that
  // store's index + 1; 0: empty). Block-wide, not per chunk: a key stored by an
  // earlier chunk (still in flight) is never looked up in KnownFields, which
  // does not know that store yet; its fields are those of that store.
  std::vector<std::uint32_t> planned;

  Resp commands;
  std::vector<std::size_t> reply_change;  // per reply to `commands`: its change's index in the batch
};

// Empties `block` for a block starting at the batch's change `first`.
void start_in_order(std::size_t first, InOrderBlock* block);

// Plans the next chunk of the block: at most max_changes more changes, while the
// block holds less than max_bytes of arguments. Returns how many it planned: 0 at
// the end of the batch, or when the next document is not the compact JSON text
// of an object (the block ends before it; the caller takes the script path for
// it, which reports it).
std::size_t plan_in_order(const Layout& layout, const KnownFields& known, const ChangeBatch& batch,
                          std::size_t max_changes, std::size_t max_bytes, InOrderBlock* block);

// Ends the block after its first n stores (a chunk that cannot go in order).
void truncate_in_order(const ChangeBatch& batch, std::size_t n, InOrderBlock* block);

// Appends the commands of block->stores[from, to) to block->commands (and their
// replies' changes to block->reply_change): existing[i] holds the fields Redis
// has for block->stores[block->unknown[i]].doc (HKEYS; empty: absent). akey:
// count_applies's hash ("" for none).
void encode_in_order(const ChangeBatch& batch, const std::vector<std::vector<std::string_view>>& existing,
                     std::string_view akey, std::size_t from, std::size_t to, InOrderBlock* block);

}  // namespace omni::sinks::redis
