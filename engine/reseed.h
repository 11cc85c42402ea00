// The store's current state as backend changes: what a backend that lost
// everything (or a new one on an existing store) is seeded from, so it need not
// replay the whole log. Documents from the state projection, edges, versions and
// unexpired policy decisions from theirs, each change with the seq that last
// wrote its item.
#pragma once

#include "omni/sinks/sink_worker.h"

namespace omni::detail {

class StorageImpl;

// The seed function of the store's sink workers. The seq it returns is the head
// read before the state: every event up to it is reflected, and the ones after
// it are applied again from the log (backends skip what they already hold).
sinks::SeedFn make_seed(StorageImpl& impl);

}  // namespace omni::detail
