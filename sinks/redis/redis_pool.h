// At most max_connections open Connections, handed out one caller at a time.
// [Threading] acquire() and the Lease's destructor may be called from any thread;
// a Lease (and its Connection) belongs to one thread while it lives.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "omni/status.h"
#include "redis_connection.h"
#include "redis_endpoint.h"

namespace omni::sinks::redis {

class Pool {
 public:
  // `script` must outlive the pool (it is loaded on each new connection).
  Pool(Endpoint endpoint, Timeouts timeouts, std::size_t max_connections, std::string_view script);
  Pool(const Pool&) = delete;  // leases point back at it
  Pool& operator=(const Pool&) = delete;
  ~Pool();  // every Lease must be gone

  // Gives its connection back on destruction, or closes it when broken().
  class Lease {
   public:
    Lease(Lease&& o) noexcept : pool_(o.pool_), conn_(std::move(o.conn_)), reused_(o.reused_) {}
    Lease& operator=(Lease&&) = delete;  // not needed
    ~Lease();
    Connection& operator*() const { return *conn_; }
    Connection* operator->() const { return conn_.get(); }
    // It was open before this checkout (so it may have died while idle).
    bool reused() const { return reused_; }

   private:
    friend class Pool;
    Lease(Pool* pool, std::unique_ptr<Connection> conn, bool reused)
        : pool_(pool), conn_(std::move(conn)), reused_(reused) {}
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
    bool reused_;
  };

  // An idle connection, else a new one when fewer than max_connections are open,
  // else waits for one to come back. kUnavailable when a new one cannot be opened.
  Result<Lease> acquire();
  // Closes the idle connections (after one of them turned out dead: the others
  // most likely are too, e.g. after a server restart).
  void drop_idle();
  const Endpoint& endpoint() const { return endpoint_; }

 private:
  void give_back(std::unique_ptr<Connection> conn);

  const Endpoint endpoint_;
  const Timeouts timeouts_;
  const std::size_t max_;
  const std::string_view script_;
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
  std::size_t open_ = 0;                           // idle + leased + being opened; guarded by mu_
};

}  // namespace omni::sinks::redis
