// An EventCursor whose RocksDB walk runs on a thread of its own, a few batches
// ahead: the same rows in the same order, while the caller hashes and checks the
// ones it has. A full pass (replay verify, audit export) is then bound by the
// larger of the two halves (SHA-256 and decoding; reading) rather than their sum.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "omni/tools/store.h"

namespace omni::tools {

class PrefetchCursor {
 public:
  // As EventCursor (log must outlive the cursor); the reader starts at once.
  PrefetchCursor(const log::EventLog& log, Seq from, Seq upto);
  ~PrefetchCursor();  // stops the reader and waits for it
  PrefetchCursor(const PrefetchCursor&) = delete;
  PrefetchCursor& operator=(const PrefetchCursor&) = delete;

  // As EventCursor: the first row, then the next one each call; false past the
  // last (see status()). bytes() stays valid until the next call.
  bool next();
  Seq key() const { return current_->keys[index_]; }
  std::string_view bytes() const {
    const std::size_t begin = index_ == 0 ? 0 : current_->ends[index_ - 1];
    return std::string_view(current_->bytes).substr(begin, current_->ends[index_] - begin);
  }
  // Not OK when the walk stopped on a read error (known once next() said false).
  Status status() const;

 private:
  struct Batch {
    std::vector<Seq> keys;
    std::string bytes;              // the rows' values, back to back
    std::vector<std::size_t> ends;  // where each row's bytes end
  };
  void read();  // the reader thread

  EventCursor cursor_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Batch>> full_;  // guarded by mu_: oldest first
  std::deque<std::unique_ptr<Batch>> free_;  // guarded by mu_
  bool finished_ = false;                    // guarded by mu_: the reader is done
  bool stopping_ = false;                    // guarded by mu_: the destructor runs
  Status status_;                            // guarded by mu_: the walk's, once finished_
  std::unique_ptr<Batch> current_;           // the caller's
  std::size_t index_ = 0;
  std::thread reader_;
};

}  // namespace omni::tools
