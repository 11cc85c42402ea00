#include "rocksdb_logger.h"

#include <cstdarg>
#include <cstdio>
#include <string>

namespace omni::detail {
namespace {

class SpdlogRocksLogger final : public rocksdb::Logger {
 public:
  explicit SpdlogRocksLogger(std::shared_ptr<spdlog::logger> logger)
      : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL), logger_(std::move(logger)) {}

  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }

  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    const spdlog::level::level_enum to = level >= rocksdb::InfoLogLevel::ERROR_LEVEL ? spdlog::level::err
                                         : level == rocksdb::InfoLogLevel::WARN_LEVEL ? spdlog::level::warn
                                                                                      : spdlog::level::debug;
    if (!logger_->should_log(to)) return;  // formatting is the expensive part
    char buf[1024];
    va_list copy;
    va_copy(copy, ap);
    const int n = std::vsnprintf(buf, sizeof buf, format, copy);
    va_end(copy);
    if (n < 0) return;
    std::string msg;
    if (static_cast<std::size_t>(n) < sizeof buf) {
      msg.assign(buf, static_cast<std::size_t>(n));
    } else {
      msg.resize(static_cast<std::size_t>(n) + 1);
      std::vsnprintf(msg.data(), msg.size(), format, ap);
      msg.resize(static_cast<std::size_t>(n));
    }
    logger_->log(to, "rocksdb: {}", msg);
  }

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace

std::shared_ptr<rocksdb::Logger> make_rocksdb_logger(std::shared_ptr<spdlog::logger> logger) {
  return std::make_shared<SpdlogRocksLogger>(std::move(logger));
}

}  // namespace omni::detail
