// omni::StatusCode as boost::system::error_code, for the Asio completion forms.
#pragma once

#include <boost/system/error_code.hpp>

#include "omni/status.h"

namespace omni {

const boost::system::error_category& error_category();

inline boost::system::error_code make_error_code(StatusCode c) {
  return {static_cast<int>(c), error_category()};
}

}  // namespace omni

template <>
struct boost::system::is_error_code_enum<omni::StatusCode> : std::true_type {};
