// Placeholder: the policy cache is being implemented (issue 7).
#include "storage_impl.h"

namespace omni {
namespace {
Status todo() { return Status::internal("the policy cache is not implemented yet"); }
}  // namespace

Result<Seq> Storage::cache_policy_decision(std::string_view, std::string_view, std::string_view, bool,
                                           const PolicyOptions&) {
  return todo();
}
Result<std::optional<bool>> Storage::get_cached_policy(std::string_view, std::string_view,
                                                       std::string_view) {
  return todo();
}
Status PolicyCache::configure(const PolicyCacheConfig&) { return todo(); }
PolicyCacheConfig PolicyCache::config() const { return {}; }
PolicyCacheStatistics PolicyCache::statistics() const { return {}; }

}  // namespace omni
