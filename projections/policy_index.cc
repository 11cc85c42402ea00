#include "omni/projections/policy_index.h"

#include <algorithm>
#include <limits>
#include <memory>

#include "omni/log/rocks_status.h"

namespace omni::projections {
namespace {

using RowMap = std::map<std::string, std::optional<std::string>, std::less<>>;

// Marks catch-up batches (see PolicyIndex::applied_). Neither a 'd' nor an 'n' row:
// those have NUL as their second byte.
const std::string kAppliedMarker = "m";
// applied_ is checked against the marker once it holds this many rows.
constexpr std::size_t kAppliedCheckRows = 1 << 14;

// The triple part of a row key: principal \0 action \0 resource. None of the three
// can hold NUL (keys, identities and actions are validated), so it splits exactly.
std::string triple(std::string_view principal, std::string_view action, std::string_view resource) {
  std::string t;
  t.reserve(principal.size() + action.size() + resource.size() + 2);
  t.append(principal).push_back('\0');
  t.append(action).push_back('\0');
  t.append(resource);
  return t;
}

std::string decision_key(std::string_view t) {
  std::string k("d");
  k.push_back('\0');
  return k.append(t);
}

std::string name_prefix(std::string_view name) {
  std::string k("n");
  k.push_back('\0');
  k.append(name).push_back('\0');
  return k;
}

std::string name_key(std::string_view name, std::string_view t) { return name_prefix(name).append(t); }

void put_u64(std::string* out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get_u64(std::string_view in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

// Decision row value: BE64 seq, BE64 expires_ns, allowed byte, then each
// depends_on key as BE32 length + bytes.
std::string encode_decision(const Decision& d) {
  std::string v;
  put_u64(&v, d.seq);
  put_u64(&v, static_cast<std::uint64_t>(d.expires_ns));
  v.push_back(d.allowed ? 1 : 0);
  for (const std::string& n : d.depends_on) {
    const auto len = static_cast<std::uint32_t>(n.size());
    for (int i = 3; i >= 0; --i) v.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
    v.append(n);
  }
  return v;
}

Result<Decision> decode_decision(std::string_view row_key, std::string_view v) {
  auto bad = [&] {
    return Status::corruption("policy decision row '" + std::string(row_key.substr(2)) + "' is malformed");
  };
  if (row_key.size() < 2 || v.size() < 17) return bad();
  Decision d;
  const std::string_view t = row_key.substr(2);
  const std::size_t a = t.find('\0');
  const std::size_t b = a == std::string_view::npos ? a : t.find('\0', a + 1);
  if (b == std::string_view::npos) return bad();
  d.principal.assign(t.substr(0, a));
  d.action.assign(t.substr(a + 1, b - a - 1));
  d.resource.assign(t.substr(b + 1));
  d.seq = get_u64(v);
  d.expires_ns = static_cast<std::int64_t>(get_u64(v.substr(8)));
  d.allowed = v[16] != 0;
  for (std::size_t at = 17; at < v.size();) {
    if (v.size() - at < 4) return bad();
    std::uint32_t len = 0;
    for (int i = 0; i < 4; ++i) len = (len << 8) | static_cast<unsigned char>(v[at + i]);
    at += 4;
    if (v.size() - at < len) return bad();
    d.depends_on.emplace_back(v.substr(at, len));
    at += len;
  }
  return d;
}

}  // namespace

std::vector<std::string_view> decision_names(const Decision& d) {
  std::vector<std::string_view> n{d.principal, d.resource};
  for (const std::string& k : d.depends_on) n.push_back(k);
  std::sort(n.begin(), n.end());
  n.erase(std::unique(n.begin(), n.end()), n.end());
  return n;
}

namespace {

std::vector<std::string_view> names_invalidated(log::EventType type, std::string_view key,
                                                const log::EventAttrs& attrs) {
  switch (type) {
    case log::EventType::RelationshipAdded:
    case log::EventType::RelationshipRemoved:
      if (attrs.object == key) return {key};
      return {key, attrs.object};
    case log::EventType::DataDeleted:
      return {key};
    default:
      return {};
  }
}

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  if (b > 0 && a > std::numeric_limits<std::int64_t>::max() - b) return std::numeric_limits<std::int64_t>::max();
  return a + b;
}

}  // namespace

std::vector<std::string_view> invalidated_names(const log::EventDraft& d) {
  return names_invalidated(d.type, d.key, d.attrs);
}

// See the header. Writes go to *batch and to `local`.
struct PolicyIndex::Rows {
  const log::EventLog& log;
  rocksdb::ColumnFamilyHandle* cf;
  rocksdb::WriteBatch* batch;
  RowMap& local;
  const RowMap* base;

  Result<std::optional<std::string>> get(const std::string& key) const {
    if (auto it = local.find(key); it != local.end()) return it->second;
    if (base) {
      if (auto it = base->find(key); it != base->end()) return it->second;
    }
    std::string v;
    rocksdb::Status s = log.db()->Get(rocksdb::ReadOptions(), cf, key, &v);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return log::from_rocks(s, "reading the policy index");
    return std::optional<std::string>(std::move(v));
  }

  // Every live row starting with prefix, in key order.
  Result<RowMap> scan(const std::string& prefix) const {
    RowMap out;
    std::unique_ptr<rocksdb::Iterator> it(log.db()->NewIterator(rocksdb::ReadOptions(), cf));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      out.emplace(it->key().ToString(), it->value().ToString());
    }
    if (!it->status().ok()) return log::from_rocks(it->status(), "scanning the policy index");
    auto merge = [&](const RowMap& m) {
      for (auto i = m.lower_bound(prefix); i != m.end() && i->first.starts_with(prefix); ++i) {
        out[i->first] = i->second;
      }
    };
    if (base) merge(*base);
    merge(local);
    std::erase_if(out, [](const auto& kv) { return !kv.second.has_value(); });
    return out;
  }

  void put(const std::string& key, std::string value) {
    batch->Put(cf, key, value);
    local[key] = std::move(value);
  }
  void del(const std::string& key) {
    batch->Delete(cf, key);
    local[key] = std::nullopt;
  }
};

PolicyIndex::PolicyIndex(const log::EventLog& log, std::string_view suffix)
    : log_(log), cf_(log.column_family(std::string(kPolicyCf) + std::string(suffix))) {}

Status PolicyIndex::invalidate(Rows& rows, std::string_view name) const {
  const std::string prefix = name_prefix(name);
  OMNI_ASSIGN_OR_RETURN(RowMap named, rows.scan(prefix));
  for (const auto& [nkey, nval] : named) {
    if (nval->size() != 8) return Status::corruption("policy name row of '" + std::string(name) + "' is malformed");
    const std::string dkey = decision_key(std::string_view(nkey).substr(prefix.size()));
    OMNI_ASSIGN_OR_RETURN(std::optional<std::string> dval, rows.get(dkey));
    if (dval) {
      OMNI_ASSIGN_OR_RETURN(Decision d, decode_decision(dkey, *dval));
      if (d.seq == get_u64(*nval)) {
        const std::string t = triple(d.principal, d.action, d.resource);
        for (std::string_view n : decision_names(d)) rows.del(name_key(n, t));
        rows.del(dkey);
        continue;
      }
    }
    rows.del(nkey);  // left behind by an older decision: never drops the live one
  }
  return Status();
}

Status PolicyIndex::put_decision(Rows& rows, const Decision& d) const {
  const std::string t = triple(d.principal, d.action, d.resource);
  const std::string dkey = decision_key(t);
  OMNI_ASSIGN_OR_RETURN(std::optional<std::string> old, rows.get(dkey));
  if (old) {
    OMNI_ASSIGN_OR_RETURN(Decision o, decode_decision(dkey, *old));
    const std::vector<std::string_view> keep = decision_names(d);
    for (std::string_view n : decision_names(o)) {
      if (!std::binary_search(keep.begin(), keep.end(), n)) rows.del(name_key(n, t));
    }
  }
  rows.put(dkey, encode_decision(d));
  std::string seq;
  put_u64(&seq, d.seq);
  for (std::string_view n : decision_names(d)) rows.put(name_key(n, t), seq);
  return Status();
}

Status PolicyIndex::stage_event(Rows& rows, log::EventType type, std::string_view key,
                                const log::EventAttrs& attrs, Seq seq, std::int64_t timestamp_ns) const {
  for (std::string_view n : names_invalidated(type, key, attrs)) OMNI_RETURN_IF_ERROR(invalidate(rows, n));
  if (type != log::EventType::PolicyDecided) return Status();
  Decision d;
  d.principal = attrs.principal;
  d.action = attrs.action;
  d.resource.assign(key);
  d.allowed = attrs.allowed;
  d.seq = seq;
  d.expires_ns = saturating_add(timestamp_ns, attrs.ttl_ns);
  d.depends_on = attrs.names;
  return put_decision(rows, d);
}

Status PolicyIndex::stage(log::AppendRequest& req, Seq first_seq, rocksdb::WriteBatch* batch) {
  // Catch-up's batches were all written before the first append.
  if (!applied_.empty()) applied_.clear();
  // This request's rows stay apart until it is accepted: on error, no trace.
  RowMap local;
  Rows rows{log_, cf_, batch, local, &overlay_};
  for (std::size_t i = 0; i < req.events.size(); ++i) {
    const log::EventDraft& d = req.events[i];
    // A store (the common write) costs one switch here and no read.
    if (d.type == log::EventType::DataStored) continue;
    OMNI_RETURN_IF_ERROR(stage_event(rows, d.type, d.key, d.attrs, first_seq + i, req.timestamp_ns));
  }
  for (auto& [k, v] : local) overlay_[k] = std::move(v);
  return Status();
}

void PolicyIndex::finish_group(bool) { overlay_.clear(); }

Status PolicyIndex::apply(const log::Event& e, rocksdb::WriteBatch* batch) {
  if (names_invalidated(e.type, e.key, e.attrs).empty() && e.type != log::EventType::PolicyDecided) {
    return Status();
  }
  if (applied_.size() >= kAppliedCheckRows) {
    std::string v;
    rocksdb::Status s = log_.db()->Get(rocksdb::ReadOptions(), cf_, kAppliedMarker, &v);
    if (!s.ok() && !s.IsNotFound()) return log::from_rocks(s, "reading the policy index");
    if (s.ok() && v.size() == 8 && get_u64(v) == last_marker_) applied_.clear();
  }
  Rows rows{log_, cf_, batch, applied_, nullptr};
  OMNI_RETURN_IF_ERROR(stage_event(rows, e.type, e.key, e.attrs, e.seq, e.timestamp_ns));
  std::string marker;
  put_u64(&marker, e.seq);
  batch->Put(cf_, kAppliedMarker, marker);
  last_marker_ = e.seq;
  return Status();
}

void PolicyIndex::clear(rocksdb::WriteBatch* batch) {
  applied_.clear();
  // Every row starts with 'd', 'n' or 'm'.
  batch->DeleteRange(cf_, "", "\xff");
}

Status PolicyIndex::for_each(const std::function<bool(const Decision&)>& fn) const {
  const std::string prefix = decision_key("");
  std::unique_ptr<rocksdb::Iterator> it(log_.db()->NewIterator(rocksdb::ReadOptions(), cf_));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    OMNI_ASSIGN_OR_RETURN(Decision d, decode_decision(it->key().ToStringView(), it->value().ToStringView()));
    if (!fn(d)) break;
  }
  if (!it->status().ok()) return log::from_rocks(it->status(), "scanning the policy index");
  return Status();
}

Result<std::optional<Decision>> PolicyIndex::get(std::string_view principal, std::string_view action,
                                                 std::string_view resource) const {
  const std::string dkey = decision_key(triple(principal, action, resource));
  std::string v;
  rocksdb::Status s = log_.db()->Get(rocksdb::ReadOptions(), cf_, dkey, &v);
  if (s.IsNotFound()) return std::optional<Decision>();
  if (!s.ok()) return log::from_rocks(s, "reading the policy index");
  OMNI_ASSIGN_OR_RETURN(Decision d, decode_decision(dkey, v));
  return std::optional<Decision>(std::move(d));
}

}  // namespace omni::projections
