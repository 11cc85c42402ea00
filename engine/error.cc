#include "omni/error.h"

namespace omni {
namespace {

class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "omni"; }
  std::string message(int ev) const override {
    return std::string(status_code_name(static_cast<StatusCode>(ev)));
  }
};

}  // namespace

const boost::system::error_category& error_category() {
  static const Category c;
  return c;
}

}  // namespace omni
