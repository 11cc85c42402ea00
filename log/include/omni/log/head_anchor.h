// The head anchor: the newest event's seq and hash, kept in a small file beside
// the RocksDB files ("OMNI-HEAD") and rewritten whenever the log knows that head to
// be durable (after close's flush, and once open has verified the log).
//
// Why outside RocksDB: a store can lose flushed data in ways RocksDB itself does not
// notice — a truncated MANIFEST forgets the last flushes, and the WAL files they
// replaced are gone — and reopen, consistent but older, as if nothing happened
// (measured: 3 sessions of 1,000 keys each, MANIFEST cut past 10/16 of its length,
// reopened healthy at seq 2,000). The anchor remembers what was durable, so open
// can refuse a log that ends before it, or whose event there has another hash.
#pragma once

#include <optional>
#include <string>

#include "omni/log/event.h"

namespace omni::log {

inline constexpr std::string_view kHeadAnchorFile = "OMNI-HEAD";

struct HeadAnchor {
  Seq seq = 0;
  Hash hash{};
};

// The anchor in `dir`, or nullopt when there is none (a store created before
// anchors, or never closed). kCorruption naming the file when it cannot be parsed.
Result<std::optional<HeadAnchor>> read_head_anchor(const std::string& dir);

// Replaces the anchor atomically (a temporary file, fsync, rename, fsync of the
// directory). kIOError naming the file on failure; the old anchor then stays.
Status write_head_anchor(const std::string& dir, const HeadAnchor& anchor);

}  // namespace omni::log
