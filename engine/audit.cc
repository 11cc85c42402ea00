// storage->audit() and get_audit_trail(): the facade over AuditTrail (audit_trail.h).
#include "storage_impl.h"
#include "validation.h"

namespace omni {

Status Audit::configure(const AuditConfig& config) {
  detail::OpScope op(impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  return impl_.audit().configure(config);
}

AuditConfig Audit::config() const { return impl_.audit().config(); }

Status Audit::apply_retention() {
  detail::OpScope op(impl_, detail::kUnmeasured, {});
  if (!op.admitted()) return detail::closed_status();
  return impl_.audit().apply_retention();
}

Result<std::vector<AuditEntry>> Storage::get_audit_trail(std::string_view key) {
  detail::OpScope op(*impl_, detail::Op::kGetAuditTrail, key);
  if (!op.admitted()) return detail::closed_status();
  using R = Result<std::vector<AuditEntry>>;
  if (Status s = detail::validate_key(key); !s.ok()) return op.finish(R(s));
  return op.finish(impl_->audit().trail(key));
}

}  // namespace omni
