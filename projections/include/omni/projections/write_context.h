// WriteContext: what a write asks of the projections beyond its events (the
// preconditions they own) and what they learned while staging it (each key's prior
// state), carried through the log as the request's opaque log::RequestContext.
// The engine reads the outputs back once append() returned OK, so notifications and
// the view need no second read.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "omni/log/event_log.h"

namespace omni::projections {

// A key's state just before an event of the request: version 0 = absent.
struct PriorState {
  Seq version = 0;
  std::optional<std::string> payload;  // the document (compact JSON), when asked for and present
};

struct WriteContext final : log::RequestContext {
  // In, checked by the state projection: per event, the version its key must be at
  // (0 = must not exist). Empty: no event has one.
  std::vector<std::optional<Seq>> expected_versions;
  // In: fill `prior` (with documents) for the request's data events.
  bool want_prior = false;
  // In, checked by the version index: a VersionStored may replace an existing
  // label (else that is kConflict).
  bool overwrite_versions = false;
  // Out, valid once append() returned OK: one entry per event when want_prior
  // (events that are not data writes keep version 0).
  std::vector<PriorState> prior;

  // The request's context when it is a WriteContext, else null.
  static WriteContext* of(const log::AppendRequest& req) {
    return dynamic_cast<WriteContext*>(req.context);
  }
};

}  // namespace omni::projections
