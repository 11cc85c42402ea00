#include "omni/projections/versions.h"

#include <algorithm>
#include <memory>
#include <unordered_map>

#include "omni/log/rocks_status.h"
#include "omni/projections/write_context.h"

namespace omni::projections {
namespace {

bool is_version_event(log::EventType t) {
  return t == log::EventType::VersionStored || t == log::EventType::VersionsPruned;
}

std::string prefix_of(std::string_view key) {
  std::string p(key);
  p.push_back('\0');
  return p;
}

std::string label_row(std::string_view key, std::string_view label) {
  std::string r = prefix_of(key);
  r.push_back('L');
  r += label;
  return r;
}

std::string seq_row(std::string_view key, Seq seq) {
  std::string r = prefix_of(key);
  r.push_back('S');
  r += log::EventLog::seq_key(seq);
  return r;
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

Status malformed(std::string_view key) {
  return Status::corruption("version row of key " + quoted(key) + " is malformed");
}

// Reads the L row of (key, label): its seq, or nullopt.
Result<std::optional<Seq>> read_label(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                                      std::string_view key, std::string_view label) {
  rocksdb::PinnableSlice v;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cf, label_row(key, label), &v);
  if (s.IsNotFound()) return std::optional<Seq>();
  if (!s.ok()) return log::from_rocks(s, "reading version " + quoted(label) + " of key " + quoted(key));
  if (v.size() != 8) return malformed(key);
  return std::optional<Seq>(log::EventLog::decode_seq_key(v.ToStringView()));
}

// Turns one key's raw rows into its versions: the S rows in seq order whose
// label's L row points back at them; the others are stale (see versions.h).
Status resolve(std::string_view key, const std::unordered_map<std::string, Seq>& labels,
               const std::vector<VersionRow>& order, std::vector<VersionRow>* versions,
               std::vector<Seq>* stale) {
  for (const VersionRow& r : order) {
    auto it = labels.find(r.label);
    if (it != labels.end() && it->second == r.seq) {
      versions->push_back(r);
    } else if (stale) {
      stale->push_back(r.seq);
    }
  }
  if (versions->size() != labels.size()) {
    // An L row whose S row is missing: no sequence of events leaves that.
    for (const auto& [label, seq] : labels) {
      const bool found = std::any_of(versions->begin(), versions->end(),
                                     [&](const VersionRow& v) { return v.label == label; });
      if (!found) {
        return Status::corruption("version " + quoted(label) + " of key " + quoted(key) + " points at seq " +
                                  std::to_string(seq) + ", which has no order row");
      }
    }
  }
  return Status();
}

// Accumulates the raw rows of one key during a scan.
struct RawRows {
  std::unordered_map<std::string, Seq> labels;
  std::vector<VersionRow> order;
  // Adds one row; `rest` is the row key after "key\0".
  Status add(std::string_view key, std::string_view rest, std::string_view value) {
    if (rest.empty()) return malformed(key);
    if (rest[0] == 'L') {
      if (value.size() != 8) return malformed(key);
      labels.emplace(std::string(rest.substr(1)), log::EventLog::decode_seq_key(value));
    } else if (rest[0] == 'S') {
      if (rest.size() != 9) return malformed(key);
      order.push_back({std::string(value), log::EventLog::decode_seq_key(rest.substr(1))});
    } else {
      return malformed(key);
    }
    return Status();
  }
  void clear() {
    labels.clear();
    order.clear();
  }
};

}  // namespace

struct VersionIndex::RowOp {
  bool put;
  std::string row;
  std::string value;
};

VersionIndex::VersionIndex(const log::EventLog& log, std::string_view suffix)
    : log_(log), cf_(log.column_family(std::string(kVersionsCf) + std::string(suffix))) {}

void VersionIndex::inherit(const DurableProjection& previous) {
  if (const auto* p = dynamic_cast<const VersionIndex*>(&previous)) max_.store(p->max_.load());
}

Result<VersionIndex::KeyRows> VersionIndex::committed(std::string_view key) const {
  const std::string prefix = prefix_of(key);
  RawRows raw;
  std::unique_ptr<rocksdb::Iterator> it(log_.db()->NewIterator(rocksdb::ReadOptions(), cf_));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    OMNI_RETURN_IF_ERROR(
        raw.add(key, it->key().ToStringView().substr(prefix.size()), it->value().ToStringView()));
  }
  if (!it->status().ok()) return log::from_rocks(it->status(), "reading the versions of key " + quoted(key));
  KeyRows out;
  OMNI_RETURN_IF_ERROR(resolve(key, raw.labels, raw.order, &out.versions, &out.stale));
  return out;
}

Result<std::vector<VersionRow>> VersionIndex::list(std::string_view key) const {
  OMNI_ASSIGN_OR_RETURN(KeyRows rows, committed(key));
  return std::move(rows.versions);
}

Result<std::optional<Seq>> VersionIndex::find(std::string_view key, std::string_view label) const {
  return read_label(log_.db(), cf_, key, label);
}

Result<std::optional<VersionRow>> VersionIndex::newest(std::string_view key) const {
  OMNI_ASSIGN_OR_RETURN(KeyRows rows, committed(key));
  if (rows.versions.empty()) return std::optional<VersionRow>();
  return std::optional<VersionRow>(std::move(rows.versions.back()));
}

Status VersionIndex::over_limit(
    const std::function<bool(std::string_view, std::vector<std::string>)>& fn) const {
  const std::size_t max = max_.load();
  if (max == 0) return Status();
  std::unique_ptr<rocksdb::Iterator> it(log_.db()->NewIterator(rocksdb::ReadOptions(), cf_));
  std::string key;  // the key whose rows are being collected (rows of a key are contiguous)
  RawRows raw;
  // Reports the collected key if it is over the limit; false when fn said stop.
  auto flush = [&]() -> Result<bool> {
    if (raw.order.size() <= max) return true;  // fewer S rows than the limit: not over it
    std::vector<VersionRow> versions;
    OMNI_RETURN_IF_ERROR(resolve(key, raw.labels, raw.order, &versions, nullptr));
    if (versions.size() <= max) return true;
    std::vector<std::string> labels;
    for (std::size_t i = 0; i + max < versions.size(); ++i) labels.push_back(std::move(versions[i].label));
    return fn(key, std::move(labels));
  };
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view row = it->key().ToStringView();
    const std::size_t nul = row.find('\0');
    if (nul == std::string_view::npos) return malformed(row);
    std::string_view k = row.substr(0, nul);
    if (k != key) {
      OMNI_ASSIGN_OR_RETURN(bool more, flush());
      if (!more) return Status();
      key.assign(k);
      raw.clear();
    }
    OMNI_RETURN_IF_ERROR(raw.add(key, row.substr(nul + 1), it->value().ToStringView()));
  }
  if (!it->status().ok()) return log::from_rocks(it->status(), "scanning the versions");
  OMNI_ASSIGN_OR_RETURN(bool more, flush());
  (void)more;
  return Status();
}

Result<std::vector<VersionRow>> VersionIndex::current(std::string_view key, std::vector<Seq>* stale) const {
  if (auto it = overlay_.find(key); it != overlay_.end()) return it->second;
  OMNI_ASSIGN_OR_RETURN(KeyRows rows, committed(key));
  if (stale) stale->insert(stale->end(), rows.stale.begin(), rows.stale.end());
  return std::move(rows.versions);
}

Status VersionIndex::step(std::string_view key, std::vector<VersionRow>& rows, const log::EventDraft& d,
                          Seq seq, bool overwrite, std::size_t max, std::vector<RowOp>* ops) {
  auto find = [&](std::string_view label) {
    return std::find_if(rows.begin(), rows.end(), [&](const VersionRow& r) { return r.label == label; });
  };
  if (d.type == log::EventType::VersionStored) {
    if (auto it = find(d.attrs.label); it != rows.end()) {
      if (!overwrite) {
        return Status::conflict("key " + quoted(key) + " already has version " + quoted(d.attrs.label) +
                                " (seq " + std::to_string(it->seq) + "); set overwrite to replace it");
      }
      if (ops) ops->push_back({false, seq_row(key, it->seq), {}});
      rows.erase(it);
    }
    if (ops) {
      ops->push_back({true, label_row(key, d.attrs.label), log::EventLog::seq_key(seq)});
      ops->push_back({true, seq_row(key, seq), d.attrs.label});
    }
    rows.push_back({d.attrs.label, seq});
    return Status();
  }
  for (const std::string& label : d.attrs.names) {
    auto it = find(label);
    if (it == rows.end()) {
      return Status::conflict("cannot prune version " + quoted(label) + " of key " + quoted(key) +
                              ": the key has no such version");
    }
    const std::size_t beyond = max > 0 && rows.size() > max ? rows.size() - max : 0;
    if (static_cast<std::size_t>(it - rows.begin()) >= beyond) {
      return Status::conflict("cannot prune version " + quoted(label) + " of key " + quoted(key) +
                              ": it is not among the versions beyond the limit of " + std::to_string(max));
    }
    if (ops) {
      ops->push_back({false, label_row(key, label), {}});
      ops->push_back({false, seq_row(key, it->seq), {}});
    }
    rows.erase(it);
  }
  return Status();
}

Status VersionIndex::expand(log::AppendRequest& req) {
  const std::size_t max = max_.load();
  request_max_ = max;
  const std::size_t n = req.events.size();
  if (max == 0 || std::none_of(req.events.begin(), req.events.end(), [](const log::EventDraft& d) {
        return d.type == log::EventType::VersionStored;
      })) {
    return Status();
  }
  WriteContext* ctx = WriteContext::of(req);
  const bool overwrite = ctx && ctx->overwrite_versions;
  // The request's keys in the order they first appear, with their versions as
  // its events leave them (the seqs are not known yet; only the order matters).
  std::vector<std::pair<std::string, std::vector<VersionRow>>> keys;
  std::vector<bool> stored;
  for (std::size_t i = 0; i < n; ++i) {
    const log::EventDraft& d = req.events[i];
    if (!is_version_event(d.type)) continue;
    auto it = std::find_if(keys.begin(), keys.end(), [&](const auto& k) { return k.first == d.key; });
    if (it == keys.end()) {
      OMNI_ASSIGN_OR_RETURN(std::vector<VersionRow> rows, current(d.key, nullptr));
      keys.emplace_back(d.key, std::move(rows));
      stored.push_back(false);
      it = keys.end() - 1;
    }
    // A refusal here is the one stage() would give: fail the request now.
    OMNI_RETURN_IF_ERROR(step(d.key, it->second, d, ~Seq{0}, overwrite, max, nullptr));
    if (d.type == log::EventType::VersionStored) stored[it - keys.begin()] = true;
  }
  for (std::size_t k = 0; k < keys.size(); ++k) {
    const std::vector<VersionRow>& rows = keys[k].second;
    if (!stored[k] || rows.size() <= max) continue;
    log::EventDraft prune;
    prune.type = log::EventType::VersionsPruned;
    prune.key = keys[k].first;
    for (std::size_t i = 0; i + max < rows.size(); ++i) prune.attrs.names.push_back(rows[i].label);
    req.events.push_back(std::move(prune));
  }
  return Status();
}

Status VersionIndex::stage(log::AppendRequest& req, Seq first_seq, rocksdb::WriteBatch* batch) {
  // Pass 1: every precondition before any row, so a request is all-or-nothing.
  WriteContext* ctx = WriteContext::of(req);
  const bool overwrite = ctx && ctx->overwrite_versions;
  std::vector<std::pair<std::string_view, std::vector<VersionRow>>> local;
  std::vector<RowOp> ops;
  std::vector<Seq> stale;
  for (std::size_t i = 0; i < req.events.size(); ++i) {
    const log::EventDraft& d = req.events[i];
    if (!is_version_event(d.type)) continue;
    auto it = std::find_if(local.begin(), local.end(), [&](const auto& k) { return k.first == d.key; });
    if (it == local.end()) {
      stale.clear();
      OMNI_ASSIGN_OR_RETURN(std::vector<VersionRow> rows, current(d.key, &stale));
      for (Seq s : stale) ops.push_back({false, seq_row(d.key, s), {}});  // left by a catch-up
      local.emplace_back(d.key, std::move(rows));
      it = local.end() - 1;
    }
    OMNI_RETURN_IF_ERROR(step(d.key, it->second, d, first_seq + i, overwrite, request_max_, &ops));
  }
  // Pass 2: the rows, and the keys' versions for the group's later requests.
  for (const RowOp& op : ops) {
    if (op.put) {
      batch->Put(cf_, op.row, op.value);
    } else {
      batch->Delete(cf_, op.row);
    }
  }
  for (auto& [key, rows] : local) overlay_.insert_or_assign(std::string(key), std::move(rows));
  return Status();
}

void VersionIndex::finish_group(bool) { overlay_.clear(); }

Result<std::optional<Seq>> VersionIndex::applied_label(const log::Event& e, const std::string& label) {
  if (auto it = applied_.find({e.key, label}); it != applied_.end()) return it->second;
  return read_label(log_.db(), cf_, e.key, label);
}

Status VersionIndex::apply(const log::Event& e, rocksdb::WriteBatch* batch) {
  if (batch != applied_batch_ || batch->Count() < applied_count_) applied_.clear();  // a new batch
  applied_batch_ = batch;
  // The label's current S row is deleted before the label moves: from this
  // batch's own earlier events when they touched it, else from the committed L row.
  if (e.type == log::EventType::VersionStored) {
    OMNI_ASSIGN_OR_RETURN(std::optional<Seq> old, applied_label(e, e.attrs.label));
    if (old && *old != e.seq) batch->Delete(cf_, seq_row(e.key, *old));
    batch->Put(cf_, label_row(e.key, e.attrs.label), log::EventLog::seq_key(e.seq));
    batch->Put(cf_, seq_row(e.key, e.seq), e.attrs.label);
    applied_[{e.key, e.attrs.label}] = e.seq;
  } else if (e.type == log::EventType::VersionsPruned) {
    for (const std::string& label : e.attrs.names) {
      OMNI_ASSIGN_OR_RETURN(std::optional<Seq> old, applied_label(e, label));
      if (old) batch->Delete(cf_, seq_row(e.key, *old));
      batch->Delete(cf_, label_row(e.key, label));
      applied_[{e.key, label}] = std::nullopt;
    }
  }
  applied_count_ = batch->Count();
  return Status();
}

void VersionIndex::clear(rocksdb::WriteBatch* batch) {
  applied_.clear();
  applied_batch_ = nullptr;
  // Rows start with a key: valid UTF-8, which never holds the byte 0xFF.
  batch->DeleteRange(cf_, "", "\xff");
}

Status VersionIndex::verify(const std::vector<log::Event>& newest) const {
  // The last version event of each (key, label) in the window fixes its rows: a
  // store puts the label at that seq, a prune removes it.
  std::map<std::pair<std::string_view, std::string_view>, Seq> expect;  // 0: absent
  for (const log::Event& e : newest) {
    if (e.type == log::EventType::VersionStored) {
      expect[{e.key, e.attrs.label}] = e.seq;
    } else if (e.type == log::EventType::VersionsPruned) {
      for (const std::string& label : e.attrs.names) expect[{e.key, label}] = 0;
    }
  }
  for (const auto& [kl, seq] : expect) {
    const auto& [key, label] = kl;
    OMNI_ASSIGN_OR_RETURN(std::optional<Seq> got, read_label(log_.db(), cf_, key, label));
    const std::string what = "version " + quoted(label) + " of key " + quoted(key);
    if (seq == 0) {
      if (got) {
        return Status::corruption(what + " was pruned but is still indexed at seq " + std::to_string(*got));
      }
      continue;
    }
    if (got != seq) {
      return Status::corruption(what + " was stored at seq " + std::to_string(seq) + " but is indexed " +
                                (got ? "at seq " + std::to_string(*got) : std::string("nowhere")));
    }
    std::string v;
    rocksdb::Status s = log_.db()->Get(rocksdb::ReadOptions(), cf_, seq_row(key, seq), &v);
    if (!s.ok() && !s.IsNotFound()) return log::from_rocks(s, "reading " + what);
    if (s.IsNotFound() || v != label) {
      return Status::corruption(what + " (seq " + std::to_string(seq) + ") has no order row");
    }
  }
  return Status();
}

}  // namespace omni::projections

namespace omni::projections {

Status VersionIndex::for_each_version(const std::function<bool(std::string_view, const VersionRow&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(log_.db()->NewIterator(rocksdb::ReadOptions(), cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view row = it->key().ToStringView();
    const std::size_t nul = row.find('\0');
    if (nul == std::string_view::npos || nul + 1 >= row.size()) return malformed(row);
    if (row[nul + 1] != 'L') continue;  // L rows are authoritative (see the header)
    if (it->value().size() != 8) return malformed(row.substr(0, nul));
    const VersionRow v{std::string(row.substr(nul + 2)), log::EventLog::decode_seq_key(it->value().ToStringView())};
    if (!fn(row.substr(0, nul), v)) break;
  }
  return log::from_rocks(it->status(), "scanning the versions");
}

}  // namespace omni::projections
