// storage->notifications(): the facade over the Notifier (notifier.h).
#include "storage_impl.h"

namespace omni {

namespace {
Notifications::DataChangedFn adapt(Notifications::KeyOldNewFn fn) {
  if (!fn) return nullptr;
  return [fn = std::move(fn)](const DataChanged& c) { fn(c.key, c.old_data, c.new_data); };
}

Notifications::RelationshipChangedFn adapt(Notifications::EdgeFn fn) {
  if (!fn) return nullptr;
  return [fn = std::move(fn)](const RelationshipChanged& c) {
    fn(c.subject, c.predicate, c.object, c.operation);
  };
}

template <typename Fn>
Result<Notifications::CallbackId> add(detail::StorageImpl& im, std::string_view event, Fn fn,
                                      bool async) {
  detail::OpScope op(im, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  return im.notifier().add(event, std::move(fn), async);
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

Result<Notifications::CallbackId> Notifications::add_callback(std::string_view event,
                                                              KeyOldNewFn fn) {
  return add(impl_, event, adapt(std::move(fn)), false);
}

Result<Notifications::CallbackId> Notifications::add_async_callback(std::string_view event,
                                                                    KeyOldNewFn fn) {
  return add(impl_, event, adapt(std::move(fn)), true);
}

Result<Notifications::CallbackId> Notifications::add_callback(std::string_view event,
                                                              RelationshipChangedFn fn) {
  return add(impl_, event, std::move(fn), false);
}

Result<Notifications::CallbackId> Notifications::add_async_callback(std::string_view event,
                                                                    RelationshipChangedFn fn) {
  return add(impl_, event, std::move(fn), true);
}

Result<Notifications::CallbackId> Notifications::add_callback(std::string_view event, EdgeFn fn) {
  return add(impl_, event, adapt(std::move(fn)), false);
}

Result<Notifications::CallbackId> Notifications::add_async_callback(std::string_view event,
                                                                    EdgeFn fn) {
  return add(impl_, event, adapt(std::move(fn)), true);
}

bool Notifications::remove_callback(CallbackId id) {
  detail::OpScope op(impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return false;
  return impl_.notifier().remove(id);
}

}  // namespace omni
