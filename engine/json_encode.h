// Compact JSON text of a document, in one pass: the bytes nlohmann's dump()
// writes, without its per-character output adapter.
#pragma once

#include <cstddef>
#include <string>

#include "omni/types.h"

namespace omni::detail {

// Appends the compact JSON text of `doc` to *out — byte for byte what
// `doc.dump()` returns — and returns true. Returns false, with *out in an
// unspecified state, when `doc` holds anything the write path rejects or that
// dump() would throw on: a discarded or binary value, a non-finite number,
// nesting deeper than `max_depth`, a string or object key that is not valid
// UTF-8. The caller then takes the slow path (check + dump()), which names the
// problem; this function never builds an error message.
bool dump_compact(const Json& doc, std::size_t max_depth, std::string* out);

}  // namespace omni::detail
