// The log's events as the public omni::Change values backends receive.
// Internal to the engine (not installed).
#pragma once

#include <optional>

#include "omni/backend.h"
#include "omni/log/event.h"

namespace omni::sinks {

// The change an event carries for backends; nullopt for events that carry none
// (batch markers).
std::optional<Change> to_change(log::Event&& e);
// The same into *out, a default-constructed Change; false (*out unspecified) for an event
// that carries none.
bool to_change(log::Event&& e, Change* out);

// Write-behind: keeps only the newest change per item (a document key, an edge, a
// decision), in the order of those newest changes. Versions are kept whole: each
// label is its own item, and a prune names several.
void coalesce(std::vector<Change>* changes);

}  // namespace omni::sinks
