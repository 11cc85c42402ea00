// State projection: key -> (version, document), durable in the "state" column
// family and written in the same WriteBatch as the event it derives from, so it is
// exactly consistent with the log after any crash. The version of a key is the seq
// of its last write; 0 means absent. A row holds only the version; the document is
// that event's payload, read from the log.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "omni/log/event_log.h"
#include "omni/projections/projection.h"
#include "omni/projections/write_context.h"

namespace omni::projections {

inline constexpr std::string_view kStateCf = "state";

struct StateEntry {
  Seq version = 0;
  std::string payload;  // the document as stored in its event (compact JSON)
  friend bool operator==(const StateEntry&, const StateEntry&) = default;
};

class StateProjection final : public DurableProjection {
 public:
  // `log` must outlive this object and have been opened with kStateCf.
  // `suffix` names the generation of its column family (see ProjectionSet::rebuild).
  explicit StateProjection(const log::EventLog& log, std::string_view suffix = {});
  rocksdb::ColumnFamilyHandle* column_family() const { return cf_; }

  // The committed entry of `key`, or nullopt when absent.
  Result<std::optional<StateEntry>> get(std::string_view key) const;
  // Calls fn(key, entry) for every key starting with `prefix`, in key order, until it
  // returns false.
  Status for_each(std::string_view prefix,
                  const std::function<bool(std::string_view, const StateEntry&)>& fn) const;

  // Leader-only (see log::Projector): checks the expected versions of the request's
  // WriteContext against committed state + this group's overlay, fills its prior
  // states when asked, and adds the state rows. All-or-nothing per request.
  std::string_view name() const override { return kStateCf; }
  bool reads_payloads() const override { return false; }  // rows point at seqs
  Status stage(log::AppendRequest& req, Seq first_seq, rocksdb::WriteBatch* batch) override;
  void finish_group(bool committed) override;
  Status apply(const log::Event& e, rocksdb::WriteBatch* batch) override;
  bool bulk_loadable() const override { return true; }  // apply() only writes
  Status apply_rows(const log::Event& e, RowSink& rows) override;
  void clear(rocksdb::WriteBatch* batch) override;
  // The newest event of each key in `newest` fixes that key's row exactly: a
  // store at its seq, or no row after a delete.
  Status verify(const std::vector<log::Event>& newest) const override;

 private:
  // A write staged in the group in progress. Borrows from the group's drafts,
  // which outlive the group.
  struct Pending {
    Seq version = 0;                       // 0 = deleted
    const std::string* payload = nullptr;  // the stored document
    StateEntry entry(bool with_payload) const {
      return {version, with_payload && payload ? *payload : std::string()};
    }
  };
  // Committed or overlaid state of key (version 0 = absent); the payload only when
  // with_payload.
  Result<StateEntry> current(std::string_view key, bool with_payload) const;
  // Decodes a state row and fetches its document from the log.
  Result<StateEntry> entry(std::string_view key, std::string_view value) const;

  const log::EventLog& log_;
  rocksdb::ColumnFamilyHandle* cf_;
  // Keys written by earlier requests of the group in progress (not yet committed).
  std::unordered_map<std::string_view, Pending> overlay_;
};

// Rebuilds what the state projection must hold by replaying the log from seq 1:
// the reference the state column family is checked against after a crash.
Result<std::map<std::string, StateEntry>> replay_state(const log::EventLog& log);

}  // namespace omni::projections
