#include "notifier.h"

#include <boost/asio/post.hpp>

namespace omni::detail {

Notifier::Notifier(Lifecycle& life, std::shared_ptr<spdlog::logger> logger, Executor ex,
                   const void* owner)
    : life_(life),
      logger_(std::move(logger)),
      strand_(ex),
      owner_(owner),
      list_(std::make_shared<const List>()) {}

Result<Notifications::CallbackId> Notifier::add(std::string_view event,
                                                Notifications::DataChangedFn fn, bool async) {
  if (event != "data_changed") {
    return Status::invalid_argument("unknown notification event '" + std::string(event) +
                                    "' (known: data_changed)");
  }
  if (!fn) return Status::invalid_argument("callback for '" + std::string(event) + "' is empty");
  std::lock_guard l(list_mu_);
  const auto id = next_id_++;
  auto next = std::make_shared<List>(*list_);
  next->push_back({id, std::move(fn), async, std::make_shared<std::atomic<bool>>(true)});
  list_ = std::move(next);
  any_.store(true, std::memory_order_release);
  if (async) any_async_.store(true, std::memory_order_release);
  return id;
}

bool Notifier::remove(Notifications::CallbackId id) {
  std::lock_guard l(list_mu_);
  auto next = std::make_shared<List>(*list_);
  const auto n = std::erase_if(*next, [&](const Callback& c) {
    if (c.id != id) return false;
    c.live->store(false);  // deliveries already queued skip it
    return true;
  });
  any_.store(!next->empty(), std::memory_order_release);
  any_async_.store(std::any_of(next->begin(), next->end(), [](const Callback& c) { return c.async; }),
                   std::memory_order_release);
  list_ = std::move(next);
  return n > 0;
}

std::shared_ptr<const Notifier::List> Notifier::list() const {
  std::lock_guard l(list_mu_);
  return list_;
}

void Notifier::run(const Callback& cb, const DataChanged& c, const char* kind) {
  if (!cb.live->load()) return;
  CallbackScope scope(owner_);
  // A callback must not throw; if it does, whatever it throws stops here, so it
  // can neither escape store_data nor end a pool thread.
  try {
    cb.fn(c);
  } catch (const std::exception& e) {
    logger_->error("{} data_changed callback {} threw for seq {}: {}", kind, cb.id, c.seq, e.what());
  } catch (...) {
    logger_->error("{} data_changed callback {} threw a non-std::exception for seq {}", kind, cb.id,
                   c.seq);
  }
}

void Notifier::committed(const log::AppendRequest& req) {
  std::lock_guard l(order_mu_);
  slots_.try_emplace(req.first_seq);
}

void Notifier::publish(Seq first_seq, bool slot, std::vector<DataChanged> changes) {
  std::shared_ptr<const List> cbs = list();
  for (const Callback& cb : *cbs) {
    if (cb.async) continue;
    for (const DataChanged& c : changes) run(cb, c, "sync");
  }
  if (!slot) return;
  std::lock_guard l(order_mu_);
  Slot& mine = slots_[first_seq];
  mine.filled = true;
  mine.list = std::move(cbs);
  mine.changes = std::move(changes);
  // Posting under order_mu_ keeps the strand's FIFO in seq order.
  while (!slots_.empty() && slots_.begin()->second.filled) {
    Slot s = std::move(slots_.begin()->second);
    slots_.erase(slots_.begin());
    life_.begin_callback();
    boost::asio::post(strand_, [this, s = std::move(s)] {
      if (!dropping_.load()) deliver(*s.list, s.changes);
      life_.end_callback();
    });
  }
}

void Notifier::deliver(const List& list, const std::vector<DataChanged>& changes) {
  for (const Callback& cb : list) {
    if (!cb.async) continue;
    for (const DataChanged& c : changes) run(cb, c, "async");
  }
}

}  // namespace omni::detail
