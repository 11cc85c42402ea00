// `omni dead-letters list | retry | drop`: the changes a backend rejected for
// good (the "dead_letters" column family).
//
// list reads the family read-only (safe while the service runs). retry and drop
// write, so they open the store with omni::Storage: while the service holds it,
// RocksDB's lock refuses and they fail with kConflict ("the store is open in
// another process; run this through the service or stop it"). retry adds the
// backend (from --config) to the opened store in offline mode, so its sink worker
// stays paused: the only change sent is the dead letter's own.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "omni/backend.h"
#include "omni/sink_types.h"

namespace omni::tools {

struct DeadLetterFilter {
  std::string db;
  std::string sink;        // empty: every backend's
  std::optional<Seq> seq;  // only this one
};

// Oldest first per backend. kNotFound when there is no store.
Result<std::vector<DeadLetter>> list_dead_letters(const DeadLetterFilter& f);
nlohmann::ordered_json to_json(const std::vector<DeadLetter>& letters);
std::string to_text(const std::vector<DeadLetter>& letters);

// What retry or drop did to one dead letter.
struct DeadLetterOutcome {
  DeadLetter letter;
  Status status;  // OK: retried (applied and removed) or dropped
};

// Drops every dead letter matching `f` (f.sink is required). kNotFound when none
// matches; kConflict when the store is held elsewhere.
Result<std::vector<DeadLetterOutcome>> drop_dead_letters(const DeadLetterFilter& f);
// Applies every dead letter matching `f` again through `backend` (added as
// f.sink, which is required); a success removes it, a failure is recorded in it
// and reported in its outcome.
Result<std::vector<DeadLetterOutcome>> retry_dead_letters(const DeadLetterFilter& f,
                                                         std::unique_ptr<Backend> backend);
std::string to_text(const std::vector<DeadLetterOutcome>& outcomes, bool retry);
nlohmann::ordered_json to_json(const std::vector<DeadLetterOutcome>& outcomes);

}  // namespace omni::tools
