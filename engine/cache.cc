// storage->cache(): the facade over the read path's LRU view (read_path.h).
#include "storage_impl.h"
#include "validation.h"

namespace omni {

Status Cache::configure(const CacheConfig& config) {
  detail::OpScope op(impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  projections::LruView& view = impl_.reads().view();
  if (config.on_evict) {
    view.set_on_evict([fn = config.on_evict, im = &impl_](const std::string& key,
                                                         const projections::LruView::Doc& doc) {
      if (!doc) return;  // remembered misses are not documents
      detail::CallbackScope scope(im);
      try {
        fn(key, *doc);
      } catch (...) {
        im->logger().error("an on_evict callback threw for key '{}'; ignored", detail::printable_key(key));
      }
    });
  }
  if (config.max_size) view.set_capacity(*config.max_size);
  if (!config.preload_keys.empty()) return impl_.reads().preload(config.preload_keys);
  return Status();
}

std::optional<Json> Cache::get(std::string_view key) {
  detail::OpScope op(impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return std::nullopt;
  auto e = impl_.reads().view().get(key);
  if (!e || !e->doc) return std::nullopt;
  return *e->doc;
}

Status Cache::put(std::string_view key, Json doc) {
  detail::OpScope op(impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  return impl_.reads().put(key, std::move(doc), impl_.options().max_value_bytes);
}

bool Cache::invalidate(std::string_view key) {
  detail::OpScope op(impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return false;
  return impl_.reads().view().erase(key);
}

CacheStatistics Cache::statistics() const {
  const projections::LruView& view = impl_.reads().view();
  CacheStatistics s;
  s.size = view.size();
  s.capacity = view.capacity();
  s.hits = view.hits();
  s.misses = view.misses();
  s.evictions = view.evictions();
  const std::uint64_t lookups = s.hits + s.misses;
  s.hit_ratio = lookups ? static_cast<double>(s.hits) / static_cast<double>(lookups) : 0;
  return s;
}

}  // namespace omni
