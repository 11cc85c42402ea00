#include "omni/projections/relationships.h"

#include <algorithm>
#include <memory>
#include <set>

#include "omni/log/rocks_status.h"

namespace omni::projections {
namespace {

using log::EventType;

bool is_edge_event(EventType t) {
  return t == EventType::RelationshipAdded || t == EventType::RelationshipRemoved;
}

std::string join(std::string_view a, std::string_view b, std::string_view c) {
  std::string k;
  k.reserve(a.size() + b.size() + c.size() + 2);
  k.append(a);
  k.push_back('\0');
  k.append(b);
  k.push_back('\0');
  k.append(c);
  return k;
}

// Splits a row "a\0b\0c"; false when it does not have exactly three parts.
bool split(std::string_view row, std::string_view* a, std::string_view* b, std::string_view* c) {
  const std::size_t i = row.find('\0');
  if (i == std::string_view::npos) return false;
  const std::size_t j = row.find('\0', i + 1);
  if (j == std::string_view::npos || row.find('\0', j + 1) != std::string_view::npos) return false;
  *a = row.substr(0, i);
  *b = row.substr(i + 1, j - i - 1);
  *c = row.substr(j + 1);
  return true;
}

std::string describe(std::string_view s, std::string_view p, std::string_view o) {
  return "edge '" + std::string(s) + "' -" + std::string(p) + "-> '" + std::string(o) + "'";
}

Result<Seq> row_seq(std::string_view row, std::string_view value) {
  if (value.size() != 8) {
    std::string_view a, b, c;
    return Status::corruption("relationship row " +
                              (split(row, &a, &b, &c) ? describe(a, b, c) : std::string("?")) +
                              " has a value of " + std::to_string(value.size()) + " bytes, expected 8");
  }
  return log::EventLog::decode_seq_key(value);
}

}  // namespace

RelationshipIndex::RelationshipIndex(const log::EventLog& log, std::string_view suffix)
    : log_(log),
      fwd_(log.column_family(std::string(kRelFwdCf) + std::string(suffix))),
      rev_(log.column_family(std::string(kRelRevCf) + std::string(suffix))) {}

std::string RelationshipIndex::cursor(std::string_view s, std::string_view p, std::string_view o) {
  return join(s, p, o);
}

// --- queries -------------------------------------------------------------------

namespace {
// objects() and subjects(): the third part of rows "a\0p\0*" after page.start_after.
Result<std::vector<std::string>> list_third(const log::EventLog& log, rocksdb::ColumnFamilyHandle* cf,
                                            std::string_view a, std::string_view p, const Page& page) {
  std::string prefix(a);
  prefix.push_back('\0');
  prefix.append(p);
  prefix.push_back('\0');
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(log.db()->NewIterator(rocksdb::ReadOptions(), cf));
  // Parts never hold NUL, so byte order of the rows is byte order of the third part.
  it->Seek(page.start_after ? prefix + *page.start_after : prefix);
  for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string_view third = it->key().ToStringView().substr(prefix.size());
    if (page.start_after && third == *page.start_after) continue;
    out.emplace_back(third);
    if (page.limit != 0 && out.size() >= page.limit) break;
  }
  if (!it->status().ok()) return log::from_rocks(it->status(), "reading the relationship index");
  return out;
}
}  // namespace

Result<std::vector<std::string>> RelationshipIndex::objects(std::string_view subject,
                                                            std::string_view predicate,
                                                            const Page& page) const {
  return list_third(log_, fwd_, subject, predicate, page);
}

Result<std::vector<std::string>> RelationshipIndex::subjects(std::string_view object,
                                                             std::string_view predicate,
                                                             const Page& page) const {
  return list_third(log_, rev_, object, predicate, page);
}

Result<std::vector<Edge>> RelationshipIndex::edges(std::string_view key, const Page& page) const {
  // The order asked for is (subject, predicate, object); its byte form is the
  // cursor s\0p\0o (parts hold no NUL, the smallest byte), so streams are merged by
  // comparing cursors. Forward rows of key are cursors already, in order. Reverse
  // rows key\0p\0s are ordered by predicate first, so each predicate is a stream of
  // its own (sorted by subject), merged with the forward one. Self-loops are in
  // both indexes and are taken from the forward one only. Cost per page: one seek
  // per predicate pointing at key, and the rows returned.
  rocksdb::ManagedSnapshot snap(log_.db());
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.snapshot();
  const std::string prefix = std::string(key) + '\0';
  const std::string* after = page.start_after ? &*page.start_after : nullptr;

  struct Stream {
    std::unique_ptr<rocksdb::Iterator> it;
    std::string prefix;  // the rows of this stream start with it
    bool reverse = false;
    std::string cur;     // cursor of the current row (empty: exhausted)
  };
  std::vector<Stream> streams;
  // Moves s to its next row that is after `after` and not a self-loop (reverse).
  auto settle = [&](Stream& s) -> Status {
    s.cur.clear();
    for (; s.it->Valid() && s.it->key().starts_with(s.prefix); s.it->Next()) {
      std::string_view row = s.it->key().ToStringView();
      std::string c;
      if (s.reverse) {
        std::string_view o, p, subj;
        if (!split(row, &o, &p, &subj)) return Status::corruption("a reverse relationship row is malformed");
        if (subj == key) continue;  // a self-loop: the forward stream has it
        c = join(subj, p, o);
      } else {
        c.assign(row);
      }
      if (after && c <= *after) continue;
      s.cur = std::move(c);
      return Status();
    }
    if (!s.it->status().ok()) return log::from_rocks(s.it->status(), "reading the relationship index");
    return Status();
  };

  {
    Stream f;
    f.it.reset(log_.db()->NewIterator(ro, fwd_));
    f.prefix = prefix;
    f.it->Seek(after && *after > prefix ? *after : prefix);
    OMNI_RETURN_IF_ERROR(settle(f));
    streams.push_back(std::move(f));
  }
  // The predicates with reverse rows of key: seeking past "key\0p\x01" jumps to the
  // next one (predicates hold no control character, so none lies in between).
  std::string first_subject;  // where each reverse stream may start: start_after's subject
  if (after) first_subject = after->substr(0, std::min(after->find('\0'), after->size()));
  std::unique_ptr<rocksdb::Iterator> preds(log_.db()->NewIterator(ro, rev_));
  for (preds->Seek(prefix); preds->Valid() && preds->key().starts_with(prefix);) {
    std::string_view row = preds->key().ToStringView();
    const std::size_t end = row.find('\0', prefix.size());
    if (end == std::string_view::npos) return Status::corruption("a reverse relationship row is malformed");
    Stream r;
    r.prefix = std::string(row.substr(0, end + 1));  // key\0p\0
    r.reverse = true;
    r.it.reset(log_.db()->NewIterator(ro, rev_));
    // Rows with a smaller subject than start_after's are before it.
    r.it->Seek(r.prefix + first_subject);
    OMNI_RETURN_IF_ERROR(settle(r));
    std::string next(row.substr(0, end));
    next.push_back('\x01');
    if (!r.cur.empty()) streams.push_back(std::move(r));
    preds->Seek(next);
  }
  if (!preds->status().ok()) return log::from_rocks(preds->status(), "reading the relationship index");

  std::vector<Edge> out;
  while (page.limit == 0 || out.size() < page.limit) {
    Stream* best = nullptr;
    for (Stream& s : streams) {
      if (!s.cur.empty() && (!best || s.cur < best->cur)) best = &s;
    }
    if (!best) break;
    Edge e;
    std::string_view a, b, c;
    split(best->cur, &a, &b, &c);
    e.subject.assign(a);
    e.predicate.assign(b);
    e.object.assign(c);
    OMNI_ASSIGN_OR_RETURN(e.seq, row_seq(best->it->key().ToStringView(), best->it->value().ToStringView()));
    out.push_back(std::move(e));
    best->it->Next();
    OMNI_RETURN_IF_ERROR(settle(*best));
  }
  return out;
}

// --- rows ----------------------------------------------------------------------

void RelationshipIndex::put_rows(const EdgeKey& e, Seq seq, rocksdb::WriteBatch* batch) const {
  const auto& [s, p, o] = e;
  const std::string v = log::EventLog::seq_key(seq);
  batch->Put(fwd_, join(s, p, o), v);
  batch->Put(rev_, join(o, p, s), v);
}

void RelationshipIndex::delete_rows(const EdgeKey& e, rocksdb::WriteBatch* batch) const {
  const auto& [s, p, o] = e;
  batch->Delete(fwd_, join(s, p, o));
  batch->Delete(rev_, join(o, p, s));
}

Result<bool> RelationshipIndex::committed(const EdgeKey& e) const {
  const auto& [s, p, o] = e;
  rocksdb::PinnableSlice v;
  rocksdb::Status st = log_.db()->Get(rocksdb::ReadOptions(), fwd_, join(s, p, o), &v);
  if (st.IsNotFound()) return false;
  if (!st.ok()) return log::from_rocks(st, "reading " + describe(s, p, o));
  return true;
}

Result<bool> RelationshipIndex::exists(const EdgeKey& e) const {
  if (auto it = overlay_.find(e); it != overlay_.end()) return it->second;
  return committed(e);
}

Status RelationshipIndex::committed_edges(std::string_view key, std::vector<EdgeKey>* out) const {
  const std::string prefix = std::string(key) + '\0';
  rocksdb::ManagedSnapshot snap(log_.db());
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.snapshot();
  for (bool reverse : {false, true}) {
    std::unique_ptr<rocksdb::Iterator> it(log_.db()->NewIterator(ro, reverse ? rev_ : fwd_));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      std::string_view a, p, b;
      if (!split(it->key().ToStringView(), &a, &p, &b)) {
        return Status::corruption("a relationship row of key '" + std::string(key) + "' is malformed");
      }
      if (!reverse) {
        out->emplace_back(std::string(a), std::string(p), std::string(b));
      } else if (b != key) {  // a self-loop was listed by the forward rows
        out->emplace_back(std::string(b), std::string(p), std::string(a));
      }
    }
    if (!it->status().ok()) return log::from_rocks(it->status(), "reading the relationship index");
  }
  return Status();
}

// --- the write path ------------------------------------------------------------

Status RelationshipIndex::expand(log::AppendRequest& req) {
  // The common case, a request without deletes, costs one look at each event type.
  const std::size_t n = req.events.size();
  if (std::none_of(req.events.begin(), req.events.end(),
                   [](const log::EventDraft& d) { return d.type == EventType::DataDeleted; })) {
    return Status();
  }
  // What the request's own earlier events did to edges, over the group's overlay
  // and committed rows: a batch that relates and then deletes removes that edge too.
  std::map<EdgeKey, bool> local;
  // Removals to append, in the order found; a later caller event naming the same
  // edge supersedes its removal (the caller's order wins).
  std::vector<EdgeKey> removals;
  std::set<EdgeKey> pending;
  for (std::size_t i = 0; i < n; ++i) {
    const log::EventDraft& d = req.events[i];
    if (is_edge_event(d.type)) {
      EdgeKey e{d.key, d.attrs.predicate, d.attrs.object};
      if (pending.erase(e) != 0) removals.erase(std::find(removals.begin(), removals.end(), e));
      local[std::move(e)] = d.type == EventType::RelationshipAdded;
      continue;
    }
    if (d.type != EventType::DataDeleted) continue;
    std::vector<EdgeKey> found;
    OMNI_RETURN_IF_ERROR(committed_edges(d.key, &found));
    for (const auto& [e, added] : overlay_) {
      if (added && (std::get<0>(e) == d.key || std::get<2>(e) == d.key)) found.push_back(e);
    }
    for (const auto& [e, added] : local) {
      if (added && (std::get<0>(e) == d.key || std::get<2>(e) == d.key)) found.push_back(e);
    }
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end()), found.end());
    for (EdgeKey& e : found) {
      // Newest first: this request, then the group, then committed rows.
      bool live = true;
      if (auto it = local.find(e); it != local.end()) {
        live = it->second;
      } else if (auto ov = overlay_.find(e); ov != overlay_.end()) {
        live = ov->second;
      }
      if (!live) continue;
      local[e] = false;  // another delete in the request (the other end) skips it
      pending.insert(e);
      removals.push_back(std::move(e));
    }
  }
  for (EdgeKey& e : removals) {
    log::EventDraft d;
    d.type = EventType::RelationshipRemoved;
    d.key = std::move(std::get<0>(e));
    d.attrs.predicate = std::move(std::get<1>(e));
    d.attrs.object = std::move(std::get<2>(e));
    req.events.push_back(std::move(d));
  }
  return Status();
}

Status RelationshipIndex::stage(log::AppendRequest& req, Seq first_seq, rocksdb::WriteBatch* batch) {
  if (!applied_.empty()) applied_.clear();  // live rows change from here on
  // This request's changes, merged into the overlay only once all were read, so a
  // failed read leaves no trace.
  std::map<EdgeKey, bool> local;
  std::vector<std::pair<const EdgeKey*, Seq>> puts;  // seq 0: delete
  for (std::size_t i = 0; i < req.events.size(); ++i) {
    const log::EventDraft& d = req.events[i];
    if (!is_edge_event(d.type)) continue;
    EdgeKey e{d.key, d.attrs.predicate, d.attrs.object};
    bool present;
    if (auto it = local.find(e); it != local.end()) {
      present = it->second;
    } else {
      OMNI_ASSIGN_OR_RETURN(present, exists(e));
    }
    const bool add = d.type == EventType::RelationshipAdded;
    if (present == add) continue;  // re-adding an edge or removing an absent one: no row changes
    auto [it, fresh] = local.insert_or_assign(std::move(e), add);
    (void)fresh;
    puts.emplace_back(&it->first, add ? first_seq + i : 0);
  }
  for (const auto& [e, seq] : puts) {
    if (seq != 0) {
      put_rows(*e, seq, batch);
    } else {
      delete_rows(*e, batch);
    }
  }
  for (auto& [e, add] : local) overlay_.insert_or_assign(e, add);
  return Status();
}

void RelationshipIndex::finish_group(bool) { overlay_.clear(); }

Status RelationshipIndex::apply(const log::Event& e, rocksdb::WriteBatch* batch) {
  if (!is_edge_event(e.type)) return Status();
  if (batch != applied_batch_ || batch->Count() < applied_count_) applied_.clear();  // a new batch
  EdgeKey k{e.key, e.attrs.predicate, e.attrs.object};
  bool present;
  if (auto it = applied_.find(k); it != applied_.end()) {
    present = it->second;
  } else {
    OMNI_ASSIGN_OR_RETURN(present, committed(k));
  }
  const bool add = e.type == EventType::RelationshipAdded;
  if (present != add) {
    if (add) {
      put_rows(k, e.seq, batch);
    } else {
      delete_rows(k, batch);
    }
    applied_.insert_or_assign(std::move(k), add);
  }
  applied_batch_ = batch;
  applied_count_ = batch->Count();
  return Status();
}

void RelationshipIndex::clear(rocksdb::WriteBatch* batch) {
  // Rows start with a key: valid UTF-8, which never holds the byte 0xFF.
  batch->DeleteRange(fwd_, "", "\xff");
  batch->DeleteRange(rev_, "", "\xff");
  applied_.clear();
  applied_batch_ = nullptr;
  applied_count_ = 0;
}

Status RelationshipIndex::verify(const std::vector<log::Event>& newest) const {
  std::map<EdgeKey, const log::Event*> last;
  for (auto it = newest.rbegin(); it != newest.rend(); ++it) {
    if (is_edge_event(it->type)) last.emplace(EdgeKey{it->key, it->attrs.predicate, it->attrs.object}, &*it);
  }
  for (const auto& [k, e] : last) {
    const auto& [s, p, o] = k;
    std::string fv, rv;
    rocksdb::Status fs = log_.db()->Get(rocksdb::ReadOptions(), fwd_, join(s, p, o), &fv);
    rocksdb::Status rs = log_.db()->Get(rocksdb::ReadOptions(), rev_, join(o, p, s), &rv);
    if (!fs.ok() && !fs.IsNotFound()) return log::from_rocks(fs, "reading " + describe(s, p, o));
    if (!rs.ok() && !rs.IsNotFound()) return log::from_rocks(rs, "reading " + describe(s, p, o));
    const bool added = e->type == EventType::RelationshipAdded;
    const std::string what = describe(s, p, o) + ": the log's newest event of it is " +
                             (added ? "an add" : "a removal") + " at seq " + std::to_string(e->seq);
    if (added != fs.ok()) return Status::corruption(what + (added ? ", but its forward row is missing" : ", but its forward row exists"));
    if (added != rs.ok()) return Status::corruption(what + (added ? ", but its reverse row is missing" : ", but its reverse row exists"));
    if (!added) continue;
    // An add repeated within the window leaves the first add's seq.
    if (fv.size() != 8 || fv != rv || log::EventLog::decode_seq_key(fv) > e->seq) {
      return Status::corruption(what + ", but its rows record another seq");
    }
  }
  return Status();
}

}  // namespace omni::projections

namespace omni::projections {

Status RelationshipIndex::for_each_edge(const std::function<bool(const Edge&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(log_.db()->NewIterator(rocksdb::ReadOptions(), fwd_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view s, p, o;
    const std::string_view row = it->key().ToStringView();
    if (!split(row, &s, &p, &o)) return Status::corruption("a forward relationship row is malformed");
    OMNI_ASSIGN_OR_RETURN(const Seq seq, row_seq(row, it->value().ToStringView()));
    if (!fn(Edge{std::string(s), std::string(p), std::string(o), seq})) break;
  }
  return log::from_rocks(it->status(), "scanning the relationships");
}

}  // namespace omni::projections
