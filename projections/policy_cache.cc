// Placeholder: the policy cache view is being implemented (issue 7).
#include "omni/projections/policy_cache.h"

namespace omni::projections {

PolicyCacheView::PolicyCacheView(const PolicyIndex&, std::size_t, Clock) {}
std::optional<bool> PolicyCacheView::lookup(std::string_view, std::string_view, std::string_view) {
  return std::nullopt;
}
void PolicyCacheView::set_capacity(std::size_t) {}
PolicyCacheStats PolicyCacheView::statistics() const { return {}; }
void PolicyCacheView::staging(const log::AppendRequest&, Seq) {}
void PolicyCacheView::finish_group(bool) {}
Status PolicyCacheView::load(const log::EventLog&) { return Status(); }

}  // namespace omni::projections
