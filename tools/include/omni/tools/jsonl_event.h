// One event line of the JSON Lines export (the layout is in audit_export.h),
// written into a LineBuffer in one pass.
#pragma once

#include <string_view>

#include "omni/log/event.h"
#include "omni/tools/line_buffer.h"

namespace omni::tools {

// Appends e's line, ending in '\n': its fields (exactly those event_fields()
// returns: the verifier compares the two), `hash` and `bytes` (the stored event)
// in base64. e's strings must be valid UTF-8 (they are copied as JSON strings);
// e.payload is copied as it is. Returns where the payload landed in `out` (empty
// when e has none), valid until `out` changes: at least 64 more bytes of the line
// follow it, so simdjson can check it in place with no padded copy.
std::string_view append_jsonl_event(LineBuffer& out, const log::Event& e, const log::Hash& hash,
                                    std::string_view bytes);

}  // namespace omni::tools
