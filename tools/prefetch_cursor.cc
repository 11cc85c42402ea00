#include "omni/tools/prefetch_cursor.h"

namespace omni::tools {

namespace {
// A batch is handed over at this many rows or bytes; four are in flight, so the
// reader runs at most ~1 MiB ahead.
constexpr std::size_t kBatchRows = 1024;
constexpr std::size_t kBatchBytes = 256 << 10;
constexpr int kBatches = 4;
}  // namespace

PrefetchCursor::PrefetchCursor(const log::EventLog& log, Seq from, Seq upto) : cursor_(log, from, upto) {
  for (int i = 0; i < kBatches; ++i) free_.push_back(std::make_unique<Batch>());
  reader_ = std::thread([this] { read(); });
}

PrefetchCursor::~PrefetchCursor() {
  {
    std::lock_guard l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  reader_.join();
}

void PrefetchCursor::read() {
  for (bool more = true; more;) {
    std::unique_ptr<Batch> b;
    {
      std::unique_lock l(mu_);
      cv_.wait(l, [&] { return !free_.empty() || stopping_; });
      if (stopping_) return;
      b = std::move(free_.front());
      free_.pop_front();
    }
    b->keys.clear();
    b->bytes.clear();
    b->ends.clear();
    while (b->keys.size() < kBatchRows && b->bytes.size() < kBatchBytes) {
      more = cursor_.next();
      if (!more) break;
      b->keys.push_back(cursor_.key());
      const std::string_view v = cursor_.bytes();
      b->bytes.append(v.data(), v.size());
      b->ends.push_back(b->bytes.size());
    }
    std::lock_guard l(mu_);
    if (!b->keys.empty()) full_.push_back(std::move(b));
    if (!more) {
      status_ = cursor_.status();
      finished_ = true;
    }
    cv_.notify_all();
  }
}

bool PrefetchCursor::next() {
  if (current_ && index_ + 1 < current_->keys.size()) {
    ++index_;
    return true;
  }
  std::unique_lock l(mu_);
  if (current_) free_.push_back(std::move(current_));
  cv_.notify_all();
  cv_.wait(l, [&] { return !full_.empty() || finished_; });
  if (full_.empty()) return false;
  current_ = std::move(full_.front());
  full_.pop_front();
  index_ = 0;
  return true;
}

Status PrefetchCursor::status() const {
  std::lock_guard l(mu_);
  return status_;
}

}  // namespace omni::tools
