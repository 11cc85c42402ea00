// RocksDB's info log, routed through the store's spdlog logger.
//
// Why: RocksDB's default is a LOG file inside the store. On a full disk Debian's
// RocksDB (built with assertions) aborts the process while writing it, and open on
// a still-full disk aborts the same way. Through spdlog the messages go where the
// service already logs (or nowhere), and a full store disk cannot kill the process.
#pragma once

#include <rocksdb/env.h>
#include <spdlog/logger.h>

#include <memory>

namespace omni::detail {

// RocksDB INFO/HEADER lines are spdlog debug (RocksDB is chatty: its options alone
// are hundreds of lines per open), WARN is warn, ERROR and FATAL are error.
std::shared_ptr<rocksdb::Logger> make_rocksdb_logger(std::shared_ptr<spdlog::logger> logger);

}  // namespace omni::detail
