// omni::Seq: a position in the log, and a write's consistency token. The one
// definition, shared by every layer and the public API.
#pragma once

#include <cstdint>

namespace omni {

using Seq = std::uint64_t;  // 1 for the first event; 0 = none

}  // namespace omni
