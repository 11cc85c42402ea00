#include "redis_pool.h"

#include <utility>

namespace omni::sinks::redis {

Pool::Pool(Endpoint endpoint, Timeouts timeouts, std::size_t max_connections, std::string_view script)
    : endpoint_(std::move(endpoint)), timeouts_(timeouts), max_(max_connections), script_(script) {}

Pool::~Pool() = default;

Pool::Lease::~Lease() {
  if (conn_) pool_->give_back(std::move(conn_));
}

Result<Pool::Lease> Pool::acquire() {
  {
    std::unique_lock lock(mu_);
    freed_.wait(lock, [&] { return !idle_.empty() || open_ < max_; });
    if (!idle_.empty()) {
      std::unique_ptr<Connection> c = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(c), true);
    }
    ++open_;  // our slot while we connect, outside the lock
  }
  Result<std::unique_ptr<Connection>> c = Connection::open(endpoint_, timeouts_, script_);
  if (!c.ok()) {
    std::lock_guard lock(mu_);
    --open_;
    freed_.notify_one();
    return c.status();
  }
  return Lease(this, std::move(c).value(), false);
}

void Pool::give_back(std::unique_ptr<Connection> conn) {
  std::unique_ptr<Connection> closing;  // closed outside the lock
  {
    std::lock_guard lock(mu_);
    if (conn->broken()) {
      closing = std::move(conn);
      --open_;
    } else {
      idle_.push_back(std::move(conn));
    }
  }
  freed_.notify_one();
}

void Pool::drop_idle() {
  std::vector<std::unique_ptr<Connection>> closing;
  {
    std::lock_guard lock(mu_);
    closing.swap(idle_);
    open_ -= closing.size();
  }
  freed_.notify_all();
}

}  // namespace omni::sinks::redis
