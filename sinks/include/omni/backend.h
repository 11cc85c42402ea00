// omni::Backend: a target the store replicates its log into (Redis, a container
// registry, Kubernetes ConfigMaps, or your own).
//
// The store never calls a backend from a writer's thread: one sink worker per
// backend reads the log after the backend's cursor and hands it batches of
// Changes, oldest first. Delivery is at least once (after a crash or a retry a
// batch may come again), so a backend must apply idempotently: applying a change
// whose seq is not newer than what it holds for that key changes nothing.
//
// A minimal backend implements the four calls of the reference README's
// StorageBackend; apply()'s default maps each change onto them (documents only).
// A backend that can batch, or replicate relationships, versions and policy
// decisions, overrides apply().
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "omni/seq.h"
#include "omni/status.h"

namespace omni {

using Json = nlohmann::json;  // as in omni/types.h

// What one event of the log changed.
enum class ChangeType : std::uint8_t {
  kStore,                // key = the document's key; json = the document
  kDelete,               // key = the deleted key
  kRelationshipAdded,    // key = subject; predicate, object
  kRelationshipRemoved,  // key = subject; predicate, object
  kVersionStored,        // key; label; json = the version's document
  kVersionsPruned,       // key; labels = the labels removed
  kPolicyDecided,        // key = the resource; principal, action, allowed, ttl
};
// "store", "delete", "relationship_added", … (as AuditEntry::operation).
std::string_view change_type_name(ChangeType t);

// One change, as a plain value (not the log's internal encoding).
struct Change {
  Seq seq = 0;
  ChangeType type = ChangeType::kStore;
  std::string key;
  std::string json;  // kStore / kVersionStored: the document as compact JSON text
  std::string identity;
  std::chrono::system_clock::time_point timestamp;
  std::string predicate, object;    // relationships
  std::string label;                // kVersionStored
  std::vector<std::string> labels;  // kVersionsPruned
  std::string principal, action;    // kPolicyDecided: who may do what to `key`
  bool allowed = false;             // kPolicyDecided
  std::chrono::nanoseconds ttl{0};  // kPolicyDecided: valid for ttl from timestamp
  std::vector<std::string> depends_on;  // kPolicyDecided

  // `json` parsed; kCorruption if it does not parse (it always does for changes
  // read from an intact log).
  Result<Json> document() const;
};

// What the sink worker hands to Backend::apply().
struct ChangeBatch {
  std::vector<Change> changes;  // oldest first
  // Every event of the log up to this seq is covered by the batch (events that a
  // write-behind flush coalesced, or that carry nothing for backends, are not in
  // `changes`). A backend that keeps a watermark sets it to this, atomically with
  // the changes. 0: the batch moves no watermark (a dead letter retried, the first
  // parts of a re-seed).
  Seq through = 0;
  // The changes are not in log order: a re-seed of an empty target from the
  // store's current state (each change carries the seq that last wrote its item)
  // or a dead letter retried. Check each against its item's stored seq only, not
  // against the watermark.
  bool reseed = false;
  // Set for a backend that keeps a watermark: the one the worker last read or
  // set (nullopt inside: none). A target whose watermark is not this (it was
  // wiped, or lost its last writes) must apply nothing and return kNotFound: the
  // worker then reads its position again (and re-seeds an empty target). Checked
  // atomically with the apply, so a FLUSHALL between batches is always noticed.
  std::optional<std::optional<Seq>> expected_watermark;
};

// [Threading] A backend's methods may be called concurrently: by its sink worker
// (apply, watermark), by load_data's read fallback and by dead-letter retries.
class Backend {
 public:
  virtual ~Backend() = default;

  // The reference README's StorageBackend. `seq` is the event's seq: keep it with
  // the value so a replayed older change can be recognised and skipped.
  virtual Status store_data(std::string_view key, const Json& doc, Seq seq) = 0;
  virtual Result<std::optional<Json>> load_data(std::string_view key) = 0;
  virtual Status delete_data(std::string_view key, Seq seq) = 0;
  // OK when the target is reachable and usable; otherwise why not.
  virtual Status health_check() = 0;

  // Applies a batch. The default calls store_data / delete_data for each kStore /
  // kDelete change in order and ignores the other types.
  // Errors tell the worker what to do:
  //   kInvalidArgument, kBackend: the target rejects a change for good (a value it
  //     cannot hold): the worker retries the batch change by change and, after
  //     SinkOptions::max_attempts, moves the change that fails to the dead letters;
  //   kNotFound: the target's watermark is not ChangeBatch::expected_watermark;
  //   anything else (kUnavailable, kIOError, kTimedOut, …): transient; the backend
  //     is unhealthy and the batch is retried with backoff.
  virtual Status apply(const ChangeBatch& batch);

  // Whether the target stores its own watermark (the `through` of the last batch
  // it applied) atomically with the data. If so the worker trusts it over any
  // local cursor, so a target that lost writes is fed again from where it really
  // is; if not, the store keeps the cursor (the sink_cursors column family).
  virtual bool keeps_watermark() const { return false; }
  // The target's watermark; nullopt when it has none (empty or wiped), which makes
  // the worker re-seed it from the store's current state. Only called when
  // keeps_watermark().
  virtual Result<std::optional<Seq>> watermark() { return std::optional<Seq>(); }
};

}  // namespace omni
