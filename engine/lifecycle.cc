#include "lifecycle.h"

namespace omni::detail {

thread_local const void* CallbackScope::current_ = nullptr;

bool CallbackScope::inside(const void* store) { return current_ == store; }

bool Lifecycle::wait(Deadline deadline, bool (Lifecycle::*done)() const) {
  std::unique_lock l(mu_);
  auto pred = [&] { return (this->*done)(); };
  if (deadline == Deadline::max()) {
    cv_.wait(l, pred);
    return true;
  }
  return cv_.wait_until(l, deadline, pred);
}

bool Lifecycle::wait_idle(Deadline deadline) { return wait(deadline, &Lifecycle::idle); }

bool Lifecycle::wait_callbacks(Deadline deadline) { return wait(deadline, &Lifecycle::no_callbacks); }

}  // namespace omni::detail
