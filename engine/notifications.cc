// storage->notifications(): data_changed callbacks, run after commit.
#include <boost/asio/post.hpp>

#include "storage_impl.h"

namespace omni {
namespace detail {

void StorageImpl::notify(std::vector<DataChanged> changes) {
  std::shared_ptr<const CallbackList> list;
  {
    std::lock_guard l(callbacks_mu);
    list = callbacks;
  }
  bool any_async = false;
  for (const Callback& cb : *list) {
    if (cb.async) {
      any_async = true;
      continue;
    }
    for (const DataChanged& c : changes) {
      try {
        cb.fn(c);
      } catch (const std::exception& e) {
        logger->error("data_changed callback {} threw: {}", cb.id, e.what());
      }
    }
  }
  if (!any_async) return;
  pending_async.fetch_add(1);
  boost::asio::post(callback_strand, [this, list, changes = std::move(changes)] {
    for (const Callback& cb : *list) {
      if (!cb.async) continue;
      for (const DataChanged& c : changes) {
        try {
          cb.fn(c);
        } catch (const std::exception& e) {
          logger->error("async data_changed callback {} threw: {}", cb.id, e.what());
        }
      }
    }
    if (pending_async.fetch_sub(1) == 1) {
      std::lock_guard l(life_mu);
      life_cv.notify_all();
    }
  });
}

}  // namespace detail

namespace {

Result<Notifications::CallbackId> add(detail::StorageImpl& im, std::string_view event,
                                      Notifications::DataChangedFn fn, bool async) {
  if (event != "data_changed") {
    return Status::invalid_argument("unknown notification event '" + std::string(event) +
                                    "' (known: data_changed)");
  }
  if (!fn) return Status::invalid_argument("callback for '" + std::string(event) + "' is empty");
  std::lock_guard l(im.callbacks_mu);
  const auto id = im.next_callback_id.fetch_add(1);
  auto next = std::make_shared<detail::CallbackList>(*im.callbacks);
  next->push_back({id, std::move(fn), async});
  im.callbacks = std::move(next);
  im.has_callbacks.store(true, std::memory_order_release);
  return id;
}

}  // namespace

Result<Notifications::CallbackId> Notifications::add_callback(std::string_view event,
                                                              DataChangedFn fn) {
  return add(impl_, event, std::move(fn), false);
}

Result<Notifications::CallbackId> Notifications::add_async_callback(std::string_view event,
                                                                    DataChangedFn fn) {
  return add(impl_, event, std::move(fn), true);
}

namespace {
Notifications::DataChangedFn adapt(Notifications::KeyOldNewFn fn) {
  if (!fn) return nullptr;
  return [fn = std::move(fn)](const DataChanged& c) { fn(c.key, c.old_data, c.new_data); };
}
}  // namespace

Result<Notifications::CallbackId> Notifications::add_callback(std::string_view event,
                                                              KeyOldNewFn fn) {
  return add(impl_, event, adapt(std::move(fn)), false);
}

Result<Notifications::CallbackId> Notifications::add_async_callback(std::string_view event,
                                                                    KeyOldNewFn fn) {
  return add(impl_, event, adapt(std::move(fn)), true);
}

bool Notifications::remove_callback(CallbackId id) {
  std::lock_guard l(impl_.callbacks_mu);
  auto next = std::make_shared<detail::CallbackList>(*impl_.callbacks);
  const auto n = std::erase_if(*next, [&](const detail::Callback& c) { return c.id == id; });
  impl_.has_callbacks.store(!next->empty(), std::memory_order_release);
  impl_.callbacks = std::move(next);
  return n > 0;
}

}  // namespace omni
