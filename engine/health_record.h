// HealthRecord: the damage a read or write met. The first corruption or IO error
// stays on record (check_health() reports the store as degraded) until the store is
// reopened: a damaged file does not heal by itself.
// [Threading] Thread-safe.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <mutex>

#include "omni/status.h"

namespace omni::detail {

class HealthRecord {
 public:
  explicit HealthRecord(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {}

  // Records s when it is kCorruption or kIOError and nothing was recorded yet (and
  // logs it); returns s, so a caller can write `return health.note(s);`.
  Status note(Status s) {
    if (s.code() == StatusCode::kCorruption || s.code() == StatusCode::kIOError) {
      std::lock_guard l(mu_);
      if (damage_.ok()) {
        damage_ = s;
        logger_->error("{}", s.to_string());
      }
    }
    return s;
  }
  // The recorded damage, or OK.
  Status damage() const {
    std::lock_guard l(mu_);
    return damage_;
  }

 private:
  std::shared_ptr<spdlog::logger> logger_;
  mutable std::mutex mu_;
  Status damage_;  // guarded by mu_
};

}  // namespace omni::detail
