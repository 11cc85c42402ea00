// Relationship index: directed edges subject --predicate--> object, durable in two
// column families written in the same WriteBatch as their events:
//   rel_fwd: subject \0 predicate \0 object -> BE64 seq of the event that added it
//   rel_rev: object \0 predicate \0 subject -> the same seq
// Keys and predicates never contain NUL (the engine refuses them), so rows split
// unambiguously and a prefix "subject\0predicate\0" lists one predicate's edges.
//
// Events: RelationshipAdded / RelationshipRemoved with key = subject and
// attrs.predicate / attrs.object. Adding an existing edge changes no row (the
// event is still in the log); removing an absent one neither.
// Cascade: expand() appends one RelationshipRemoved per edge naming a key that the
// request deletes (DataDeleted), as the key stands after the request's earlier
// events, so a delete and the removal of its edges commit together. A request
// with no DataDeleted is not looked at (a plain store_data pays nothing).
//
// [Threading] expand/stage/finish_group run on the group leader (see
// log::Projector); apply and clear run at open (catch-up) or in a rebuild, never
// concurrently with those or with each other. The queries may run concurrently
// with everything: each reads one RocksDB snapshot.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "omni/log/event_log.h"
#include "omni/projections/projection.h"

namespace omni::projections {

inline constexpr std::string_view kRelFwdCf = "rel_fwd";
inline constexpr std::string_view kRelRevCf = "rel_rev";

struct Edge {
  std::string subject;
  std::string predicate;
  std::string object;
  Seq seq = 0;  // the event that added it
  friend bool operator==(const Edge&, const Edge&) = default;
};

// Paging: at most `limit` (0: no limit) results after `start_after` (exclusive).
struct Page {
  std::size_t limit = 0;
  std::optional<std::string> start_after;
};

class RelationshipIndex final : public DurableProjection {
 public:
  // `log` must outlive this object and have been opened with both column families.
  explicit RelationshipIndex(const log::EventLog& log, std::string_view suffix = {});

  // Objects of subject's `predicate` edges, in byte order.
  Result<std::vector<std::string>> objects(std::string_view subject, std::string_view predicate,
                                           const Page& page = {}) const;
  // Subjects with a `predicate` edge to object, in byte order.
  Result<std::vector<std::string>> subjects(std::string_view object, std::string_view predicate,
                                            const Page& page = {}) const;
  // Every edge naming key as subject or object, ordered by (subject, predicate,
  // object), a self-loop once; page.start_after is cursor() of an edge.
  Result<std::vector<Edge>> edges(std::string_view key, const Page& page = {}) const;
  static std::string cursor(std::string_view subject, std::string_view predicate,
                            std::string_view object);
  // Every edge, by (subject, predicate, object), until fn returns false (re-seeding
  // a backend).
  Status for_each_edge(const std::function<bool(const Edge&)>& fn) const;

  std::string_view name() const override { return "relationships"; }
  bool reads_payloads() const override { return false; }  // rows point at seqs
  Status expand(log::AppendRequest& req) override;
  Status stage(log::AppendRequest& req, Seq first_seq, rocksdb::WriteBatch* batch) override;
  void finish_group(bool committed) override;
  // An edge's row keeps the seq of the add that created it, as stage() does: apply
  // remembers what it put into a batch not yet written, and assumes each batch it
  // was given was written before it is given the next.
  Status apply(const log::Event& e, rocksdb::WriteBatch* batch) override;
  void clear(rocksdb::WriteBatch* batch) override;
  // The newest relationship event of each edge in `newest` fixes whether both of
  // its rows exist.
  Status verify(const std::vector<log::Event>& newest) const override;

 private:
  using EdgeKey = std::tuple<std::string, std::string, std::string>;  // subject, predicate, object
  // Whether the edge exists: this group's overlay, else committed rows.
  Result<bool> exists(const EdgeKey& e) const;
  // Whether the edge has committed rows (its forward row).
  Result<bool> committed(const EdgeKey& e) const;
  // Committed edges naming key as subject or object (a self-loop once).
  Status committed_edges(std::string_view key, std::vector<EdgeKey>* out) const;
  // Puts (seq != 0) or deletes both rows of e.
  void put_rows(const EdgeKey& e, Seq seq, rocksdb::WriteBatch* batch) const;
  void delete_rows(const EdgeKey& e, rocksdb::WriteBatch* batch) const;

  const log::EventLog& log_;
  rocksdb::ColumnFamilyHandle* fwd_;
  rocksdb::ColumnFamilyHandle* rev_;
  // Leader-only: edges added (true) or removed (false) by the group in progress.
  std::map<EdgeKey, bool> overlay_;
  // apply(): edges it added (true) or removed (false), for the rows still in an
  // unwritten batch; dropped when a new batch starts (and by clear() and stage()).
  std::map<EdgeKey, bool> applied_;
  const rocksdb::WriteBatch* applied_batch_ = nullptr;
  std::uint32_t applied_count_ = 0;  // applied_batch_->Count() after the last apply
};

}  // namespace omni::projections
