// One mapping of rocksdb::Status onto omni::Status for every layer, so checksum
// damage is kCorruption wherever it is read, never a generic kIOError.
// Internal to the engine (not installed).
#pragma once

#include <rocksdb/status.h>

#include <string>
#include <string_view>

#include "omni/status.h"

namespace omni::log {

// "what: RocksDB's message". OK → OK, Corruption → kCorruption, NotFound →
// kNotFound, everything else (IO errors, no space, busy) → kIOError.
inline Status from_rocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status();
  std::string m = std::string(what) + ": " + s.ToString();
  if (s.IsCorruption()) return Status::corruption(std::move(m));
  if (s.IsNotFound()) return Status::not_found(std::move(m));
  return Status::io_error(std::move(m));
}

}  // namespace omni::log
