#include "omni/projections/state.h"

#include <memory>

#include "omni/log/rocks_status.h"

namespace omni::projections {
namespace {

// A state row is just the key's version: the document is the payload of that
// event, so each write stores its document once (in the log), not twice. That
// cut the bytes per store_data by a third, and with them flush and compaction
// work (see bench/README.md), at the price of a second point read on a view miss.
Result<Seq> decode_version(std::string_view key, std::string_view v) {
  if (v.size() != 8) {
    return Status::corruption("state of key '" + std::string(key) + "' has " +
                              std::to_string(v.size()) + " bytes, expected 8");
  }
  return log::EventLog::decode_seq_key(v);
}

}  // namespace

Result<StateEntry> StateProjection::entry(std::string_view key, std::string_view value) const {
  Result<Seq> version = decode_version(key, value);
  if (!version.ok()) return version.status();
  Result<log::Event> ev = log_.read(*version);
  if (!ev.ok()) {
    return Status(ev.status().code() == StatusCode::kNotFound ? StatusCode::kCorruption
                                                              : ev.status().code(),
                  "state of key '" + std::string(key) + "': " + ev.status().message());
  }
  if (ev->type != log::EventType::DataStored || ev->key != key) {
    return Status::corruption("state of key '" + std::string(key) + "' points at seq " +
                              std::to_string(*version) + ", which is not a store of that key");
  }
  return StateEntry{*version, std::move(ev->payload)};
}

StateProjection::StateProjection(const log::EventLog& log, std::string_view suffix)
    : log_(log), cf_(log.column_family(std::string(kStateCf) + std::string(suffix))) {}

Result<std::optional<StateEntry>> StateProjection::get(std::string_view key) const {
  rocksdb::PinnableSlice v;
  rocksdb::Status s = log_.db()->Get(rocksdb::ReadOptions(), cf_, key, &v);
  if (s.IsNotFound()) return std::optional<StateEntry>();
  if (!s.ok()) return log::from_rocks(s, "reading the state of key '" + std::string(key) + "'");
  Result<StateEntry> e = entry(key, v.ToStringView());
  if (!e.ok()) return e.status();
  return std::optional<StateEntry>(std::move(*e));
}

Status StateProjection::for_each(
    std::string_view prefix,
    const std::function<bool(std::string_view, const StateEntry&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(log_.db()->NewIterator(rocksdb::ReadOptions(), cf_));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    Result<StateEntry> e = entry(it->key().ToStringView(), it->value().ToStringView());
    if (!e.ok()) return e.status();
    if (!fn(it->key().ToStringView(), *e)) break;
  }
  if (!it->status().ok()) return log::from_rocks(it->status(), "scanning the state");
  return Status();
}

Result<StateEntry> StateProjection::current(std::string_view key, bool with_payload) const {
  if (auto it = overlay_.find(key); it != overlay_.end()) return it->second.entry(with_payload);
  if (with_payload) {
    Result<std::optional<StateEntry>> e = get(key);
    if (!e.ok()) return e.status();
    return e->value_or(StateEntry{});
  }
  rocksdb::PinnableSlice v;
  rocksdb::Status s = log_.db()->Get(rocksdb::ReadOptions(), cf_, key, &v);
  if (s.IsNotFound()) return StateEntry{};
  if (!s.ok()) return log::from_rocks(s, "reading the state of key '" + std::string(key) + "'");
  Result<Seq> version = decode_version(key, v.ToStringView());
  if (!version.ok()) return version.status();
  return StateEntry{*version, {}};
}

Status StateProjection::stage(log::AppendRequest& req, Seq first_seq, rocksdb::WriteBatch* batch) {
  // Pass 1: check every precondition before touching anything, so a request is
  // all-or-nothing. `local` holds this request's own earlier writes.
  std::vector<std::pair<std::string_view, Pending>> local;
  auto lookup = [&](std::string_view key, bool with_payload) -> Result<StateEntry> {
    for (auto it = local.rbegin(); it != local.rend(); ++it) {
      if (it->first == key) return it->second.entry(with_payload);
    }
    return current(key, with_payload);
  };
  WriteContext* ctx = WriteContext::of(req);
  const bool want_prior = ctx && ctx->want_prior;
  std::vector<PriorState> prior;
  if (want_prior) prior.resize(req.events.size());
  for (std::size_t i = 0; i < req.events.size(); ++i) {
    const log::EventDraft& d = req.events[i];
    if (d.type != log::EventType::DataStored && d.type != log::EventType::DataDeleted) continue;
    // A pointer, not a copy: g++ 12 -O3 warns falsely about a copied optional.
    const std::optional<Seq>* want =
        ctx && i < ctx->expected_versions.size() ? &ctx->expected_versions[i] : nullptr;
    const bool expected = want && want->has_value();
    if (expected || want_prior) {
      Result<StateEntry> k = lookup(d.key, want_prior);
      if (!k.ok()) return k.status();
      if (expected && **want != k->version) {
        return Status::conflict("key '" + d.key + "' is at version " + std::to_string(k->version) +
                                ", expected " + std::to_string(**want));
      }
      if (want_prior) {
        prior[i].version = k->version;
        if (k->version != 0) prior[i].payload = std::move(k->payload);
      }
    }
    const Seq seq = first_seq + i;
    if (d.type == log::EventType::DataStored) {
      local.emplace_back(d.key, Pending{seq, &d.payload});
    } else {
      local.emplace_back(d.key, Pending{});
    }
  }
  if (want_prior) ctx->prior = std::move(prior);
  // Pass 2: stage rows and remember them for later requests of this group.
  for (const auto& [key, p] : local) {
    if (p.version == 0) {
      batch->Delete(cf_, key);
    } else {
      batch->Put(cf_, key, log::EventLog::seq_key(p.version));
    }
    overlay_[key] = p;
  }
  return Status();
}

void StateProjection::finish_group(bool) { overlay_.clear(); }

Status StateProjection::apply(const log::Event& e, rocksdb::WriteBatch* batch) {
  WriteBatchSink rows(batch);
  return apply_rows(e, rows);
}

Status StateProjection::apply_rows(const log::Event& e, RowSink& rows) {
  if (e.type == log::EventType::DataStored) {
    rows.put(cf_, e.key, log::EventLog::seq_key(e.seq));
  } else if (e.type == log::EventType::DataDeleted) {
    rows.erase(cf_, e.key);
  }
  return Status();
}

void StateProjection::clear(rocksdb::WriteBatch* batch) {
  // Keys are valid UTF-8, which never holds the byte 0xFF.
  batch->DeleteRange(cf_, "", "\xff");
}

Status StateProjection::verify(const std::vector<log::Event>& newest) const {
  std::unordered_map<std::string_view, const log::Event*> last;
  for (auto it = newest.rbegin(); it != newest.rend(); ++it) {
    if (it->type == log::EventType::DataStored || it->type == log::EventType::DataDeleted) {
      last.emplace(it->key, &*it);
    }
  }
  for (const auto& [key, e] : last) {
    rocksdb::PinnableSlice v;
    rocksdb::Status s = log_.db()->Get(rocksdb::ReadOptions(), cf_, key, &v);
    if (!s.ok() && !s.IsNotFound()) {
      return log::from_rocks(s, "reading the state of key '" + std::string(key) + "'");
    }
    Seq version = 0;  // absent
    if (s.ok()) {
      OMNI_ASSIGN_OR_RETURN(version, decode_version(key, v.ToStringView()));
    }
    const bool stored = e->type == log::EventType::DataStored;
    if (version != (stored ? e->seq : 0)) {
      return Status::corruption(
          "key '" + std::string(key) + "' is " +
          (version ? "at version " + std::to_string(version) : std::string("absent")) +
          " in the state, but the log's newest event of it is a " + (stored ? "store" : "delete") +
          " at seq " + std::to_string(e->seq));
    }
  }
  return Status();
}

Result<std::map<std::string, StateEntry>> replay_state(const log::EventLog& log) {
  std::map<std::string, StateEntry> state;
  Status s = log.scan(1, [&](const log::Event& e) {
    if (e.type == log::EventType::DataStored) {
      state[e.key] = StateEntry{e.seq, e.payload};
    } else if (e.type == log::EventType::DataDeleted) {
      state.erase(e.key);
    }
    return true;
  });
  if (!s.ok()) return s;
  return state;
}

}  // namespace omni::projections
