// ReadPath: how load_data finds a document — the LRU view, then the state
// projection (the key's version) and the log (its document) — and how the view is
// filled: by reads, by preloading glob patterns, and by cache().put. Writers fill it
// with their own documents through view() after their commit (WritePath).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "health_record.h"
#include "omni/log/event_log.h"
#include "omni/projections/lru_view.h"
#include "omni/projections/projection_set.h"
#include "omni/projections/state.h"
#include "omni/types.h"

namespace omni::detail {

class ReadPath {
 public:
  ReadPath(std::size_t cache_size, HealthRecord& health) : view_(cache_size), health_(health) {}
  ReadPath(const ReadPath&) = delete;  // the registry holds a pointer to view_
  ReadPath& operator=(const ReadPath&) = delete;

  // At open, before the first read: where to read from. Both must outlive every
  // read (the store's calls are admitted only while they are open).
  void attach(const log::EventLog& log, const projections::ProjectionSet& set) {
    log_ = &log;
    set_ = &set;
  }

  projections::LruView& view() { return view_; }
  const projections::LruView& view() const { return view_; }

  // The key's document, or null when absent. Fills the view on a miss (a remembered
  // absence too). kInvalidArgument for a bad key, kCorruption / kIOError (also
  // recorded in the health record) when the stored rows cannot be read.
  Result<std::shared_ptr<const Json>> load(std::string_view key);
  // The same, as a copy the caller owns (load_data).
  Result<std::optional<Json>> load_copy(std::string_view key);
  // The key's version (seq of its last write; 0 = absent), from the state.
  Result<Seq> version(std::string_view key);
  // Loads every key matching one of the glob patterns into the view, up to its
  // capacity.
  Status preload(const std::vector<std::string>& patterns);
  // cache().put: the document overrides the view's entry as of the head read now
  // (see LruView::put). `max_value_bytes` bounds the document like a write.
  Status put(std::string_view key, Json doc, std::size_t max_value_bytes);

 private:
  // A view miss: the key's document from the state (its version in *version), or
  // nullopt when absent, which is remembered in the view as of `snapshot`.
  Result<std::optional<Json>> read_state(std::string_view key, Seq snapshot, Seq* version);

  projections::LruView view_;
  HealthRecord& health_;
  const log::EventLog* log_ = nullptr;
  const projections::ProjectionSet* set_ = nullptr;  // its state() is the live one
};

}  // namespace omni::detail
