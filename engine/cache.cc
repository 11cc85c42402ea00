// storage->cache(): the LRU view facade, and preloading keys by glob pattern.
#include <fnmatch.h>

#include "storage_impl.h"
#include "validation.h"

namespace omni {
namespace detail {

Status StorageImpl::preload(const std::vector<std::string>& patterns) {
  const Seq head = log->head_seq();
  for (const std::string& pattern : patterns) {
    // Scan only the literal prefix before the first glob metacharacter.
    const std::string prefix = pattern.substr(0, pattern.find_first_of("*?[\\"));
    Status failed;
    Status s = projections->state().for_each(
        prefix, [&](std::string_view key, const projections::StateEntry& e) {
          if (lru.size() >= lru.capacity()) return false;
          const std::string k(key);
          if (fnmatch(pattern.c_str(), k.c_str(), 0) != 0) return true;
          Json j = Json::parse(e.payload, nullptr, false);
          if (j.is_discarded()) {
            failed = Status::corruption("stored document of key '" + printable_key(key) +
                                        "' is not valid JSON");
            return false;
          }
          lru.fill(key, {e.version, std::make_shared<const Json>(std::move(j))}, head);
          return true;
        });
    OMNI_RETURN_IF_ERROR(note(s));
    OMNI_RETURN_IF_ERROR(note(failed));
  }
  return Status();
}

}  // namespace detail

Status Cache::configure(const CacheConfig& config) {
  detail::OpScope op(impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  if (config.on_evict) {
    impl_.lru.set_on_evict([fn = config.on_evict, im = &impl_](const std::string& key,
                                                                const projections::LruView::Doc& doc) {
      if (!doc) return;  // remembered misses are not documents
      detail::CallbackScope scope(im);
      try {
        fn(key, *doc);
      } catch (...) {
        im->logger->error("an on_evict callback threw for key '{}'; ignored",
                          detail::printable_key(key));
      }
    });
  }
  if (config.max_size) impl_.lru.set_capacity(*config.max_size);
  if (!config.preload_keys.empty()) return impl_.preload(config.preload_keys);
  return Status();
}

std::optional<Json> Cache::get(std::string_view key) {
  detail::OpScope op(impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return std::nullopt;
  auto e = impl_.lru.get(key);
  if (!e || !e->doc) return std::nullopt;
  return *e->doc;
}

Status Cache::put(std::string_view key, Json doc) {
  detail::OpScope op(impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  OMNI_RETURN_IF_ERROR(detail::validate_key(key));
  std::string compact;
  OMNI_RETURN_IF_ERROR(detail::encode_document(key, doc, impl_.options.max_value_bytes, &compact));
  // Tagged with the head read now: a write of the key committing concurrently (its
  // seq is past this head) wins, as if this put came just before it.
  const Seq head = impl_.log->head_seq();
  impl_.lru.put(key, {head, std::make_shared<const Json>(std::move(doc))}, head);
  return Status();
}

bool Cache::invalidate(std::string_view key) {
  detail::OpScope op(impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return false;
  return impl_.lru.erase(key);
}

CacheStatistics Cache::statistics() const {
  CacheStatistics s;
  s.size = impl_.lru.size();
  s.capacity = impl_.lru.capacity();
  s.hits = impl_.lru.hits();
  s.misses = impl_.lru.misses();
  s.evictions = impl_.lru.evictions();
  const std::uint64_t lookups = s.hits + s.misses;
  s.hit_ratio = lookups ? static_cast<double>(s.hits) / static_cast<double>(lookups) : 0;
  return s;
}

}  // namespace omni
