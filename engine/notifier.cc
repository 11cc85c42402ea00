#include "notifier.h"

#include <boost/asio/post.hpp>

namespace omni::detail {

namespace {
constexpr std::string_view kDataChanged = "data_changed";
constexpr std::string_view kRelationshipChanged = "relationship_changed";

Status unknown_event(std::string_view event) {
  return Status::invalid_argument("unknown notification event '" + std::string(event) +
                                  "' (known: data_changed, relationship_changed)");
}
}  // namespace

Notifier::Notifier(Lifecycle& life, std::shared_ptr<spdlog::logger> logger, Executor ex,
                   const void* owner)
    : life_(life),
      logger_(std::move(logger)),
      strand_(ex),
      owner_(owner),
      list_(std::make_shared<const List>()) {}

Result<Notifications::CallbackId> Notifier::add(std::string_view event,
                                                Notifications::DataChangedFn fn, bool async) {
  if (event != kDataChanged) {
    if (event == kRelationshipChanged) {
      return Status::invalid_argument(
          "a relationship_changed callback takes a RelationshipChanged (or subject, predicate, "
          "object, operation), not a DataChanged");
    }
    return unknown_event(event);
  }
  if (!fn) return Status::invalid_argument("callback for '" + std::string(event) + "' is empty");
  return add(Callback{0, std::move(fn), nullptr, async, nullptr});
}

Result<Notifications::CallbackId> Notifier::add(std::string_view event,
                                                Notifications::RelationshipChangedFn fn, bool async) {
  if (event != kRelationshipChanged) {
    if (event == kDataChanged) {
      return Status::invalid_argument(
          "a data_changed callback takes a DataChanged (or key, old_data, new_data), not a "
          "RelationshipChanged");
    }
    return unknown_event(event);
  }
  if (!fn) return Status::invalid_argument("callback for '" + std::string(event) + "' is empty");
  return add(Callback{0, nullptr, std::move(fn), async, nullptr});
}

Result<Notifications::CallbackId> Notifier::add(Callback cb) {
  std::lock_guard l(list_mu_);
  cb.id = next_id_++;
  cb.live = std::make_shared<std::atomic<bool>>(true);
  auto next = std::make_shared<List>(*list_);
  if (cb.fn) any_.store(true, std::memory_order_release);
  if (cb.rel) any_rel_.store(true, std::memory_order_release);
  if (cb.async) any_async_.store(true, std::memory_order_release);
  const auto id = cb.id;
  next->push_back(std::move(cb));
  list_ = std::move(next);
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
  auto any = [&](auto pred) { return std::any_of(next->begin(), next->end(), pred); };
  any_.store(any([](const Callback& c) { return bool(c.fn); }), std::memory_order_release);
  any_rel_.store(any([](const Callback& c) { return bool(c.rel); }), std::memory_order_release);
  any_async_.store(any([](const Callback& c) { return c.async; }), std::memory_order_release);
  list_ = std::move(next);
  return n > 0;
}

std::shared_ptr<const Notifier::List> Notifier::list() const {
  std::lock_guard l(list_mu_);
  return list_;
}

void Notifier::run(const Callback& cb, const DataChanged& c, const char* kind) {
  if (!cb.fn || !cb.live->load()) return;
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

void Notifier::run(const Callback& cb, const RelationshipChanged& c, const char* kind) {
  if (!cb.rel || !cb.live->load()) return;
  CallbackScope scope(owner_);
  try {
    cb.rel(c);
  } catch (const std::exception& e) {
    logger_->error("{} relationship_changed callback {} threw for seq {}: {}", kind, cb.id, c.seq,
                   e.what());
  } catch (...) {
    logger_->error("{} relationship_changed callback {} threw a non-std::exception for seq {}", kind,
                   cb.id, c.seq);
  }
}

void Notifier::committed(const log::AppendRequest& req) {
  std::lock_guard l(order_mu_);
  slots_.try_emplace(req.first_seq);
}

void Notifier::run_all(const List& list, bool async, const std::vector<DataChanged>& changes,
                       const std::vector<RelationshipChanged>& edges) {
  const char* kind = async ? "async" : "sync";
  for (const Callback& cb : list) {
    if (cb.async != async) continue;
    for (const DataChanged& c : changes) run(cb, c, kind);
    for (const RelationshipChanged& c : edges) run(cb, c, kind);
  }
}

void Notifier::publish(Seq first_seq, bool slot, std::vector<DataChanged> changes,
                       std::vector<RelationshipChanged> edges) {
  std::shared_ptr<const List> cbs = list();
  run_all(*cbs, /*async=*/false, changes, edges);
  if (!slot) return;
  std::lock_guard l(order_mu_);
  Slot& mine = slots_[first_seq];
  mine.filled = true;
  mine.list = std::move(cbs);
  mine.changes = std::move(changes);
  mine.edges = std::move(edges);
  // Posting under order_mu_ keeps the strand's FIFO in seq order.
  while (!slots_.empty() && slots_.begin()->second.filled) {
    Slot s = std::move(slots_.begin()->second);
    slots_.erase(slots_.begin());
    life_.begin_callback();
    boost::asio::post(strand_, [this, s = std::move(s)] {
      if (!dropping_.load()) run_all(*s.list, /*async=*/true, s.changes, s.edges);
      life_.end_callback();
    });
  }
}

}  // namespace omni::detail
