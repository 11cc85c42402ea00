#include "omni/tools/inspect.h"

#include <filesystem>
#include <algorithm>
#include <map>

#include "omni/log/cursor_store.h"
#include "omni/log/head_anchor.h"
#include "omni/log/rocks_status.h"
#include "omni/projections/projection_set.h"
#include "omni/sinks/dead_letter_store.h"
#include "omni/tools/format.h"
#include "omni/tools/store.h"

namespace omni::tools {
namespace {

namespace fs = std::filesystem;
using OJson = nlohmann::ordered_json;

std::uint64_t disk_bytes(const log::EventLog& lg, const std::string& dir) {
  std::uint64_t sst = 0;
  lg.db()->GetAggregatedIntProperty("rocksdb.total-sst-files-size", &sst);
  // The WAL files (a read-only instance cannot list the live ones: all of them).
  std::uint64_t wal = 0;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    if (f.path().extension() == ".log") wal += f.file_size(ec);
  }
  return sst + wal;
}

Result<OJson> meta_rows(const log::EventLog& lg, OJson* checkpoints) {
  std::optional<Seq> generation;
  std::unique_ptr<rocksdb::Iterator> it(lg.db()->NewIterator(rocksdb::ReadOptions(), lg.column_family(log::kMetaCf)));
  const std::string shared = projections::ProjectionSet::checkpoint_key();
  const std::string own = projections::ProjectionSet::checkpoint_key("");  // "checkpoint/"
  // A group's batch records the shared row; a projection's own row is where it
  // joined (or was last replayed to), so it is caught up to the later of the two.
  Seq shared_seq = 0;
  std::map<std::string, Seq> own_rows;
  for (it->Seek(shared); it->Valid() && it->key().starts_with(shared); it->Next()) {
    if (it->value().size() != 8) continue;
    const Seq seq = log::EventLog::decode_seq_key(it->value().ToStringView());
    const std::string k = it->key().ToString();
    if (k == shared) {
      shared_seq = seq;
    } else if (k.starts_with(own)) {
      own_rows[k.substr(own.size())] = seq;
    }
  }
  if (!it->status().ok()) return log::from_rocks(it->status(), "reading the checkpoints");
  (*checkpoints)["shared"] = shared_seq;
  OJson projections = OJson::object();
  for (const auto& [name, seq] : own_rows) projections[name] = std::max(seq, shared_seq);
  (*checkpoints)["projections"] = std::move(projections);
  std::string v;
  rocksdb::Status s = lg.db()->Get(rocksdb::ReadOptions(), lg.column_family(log::kMetaCf),
                                   projections::ProjectionSet::generation_key(), &v);
  if (s.ok() && v.size() == 8) generation = log::EventLog::decode_seq_key(v);
  if (!s.ok() && !s.IsNotFound()) return log::from_rocks(s, "reading the generation");
  return OJson(generation.value_or(0));
}

OJson entry_json(Seq seq, const log::Event& e) {
  OJson j;
  j["seq"] = seq;
  j["timestamp"] = format_rfc3339(e.timestamp_ns);
  j["operation"] = std::string(operation_name(e.type));
  j["identity"] = e.identity;
  return j;
}

Result<OJson> key_report(log::EventLog& lg, const std::string& key, std::size_t limit) {
  if (!utf8_valid(key)) return Status::invalid_argument("the key is not valid UTF-8");
  projections::ProjectionSet ps(lg);
  const std::size_t rel_slot = ps.add([](const log::EventLog& l, std::string_view suffix) {
    return std::make_unique<projections::RelationshipIndex>(l, suffix);
  });
  const std::size_t ver_slot = ps.add([](const log::EventLog& l, std::string_view suffix) {
    return std::make_unique<projections::VersionIndex>(l, suffix);
  });
  const std::string suffix = ps.suffix();
  for (std::string_view cf : {projections::kStateCf, projections::kKeyIndexCf, projections::kRelFwdCf,
                              projections::kRelRevCf, projections::kVersionsCf}) {
    if (lg.column_family(std::string(cf) + suffix) == nullptr) {
      return Status::corruption("the store has no '" + std::string(cf) + suffix +
                                "' column family (open it once with the engine to create its projections)");
    }
  }
  OJson k;
  k["name"] = key;
  OMNI_ASSIGN_OR_RETURN(const std::optional<projections::StateEntry> st, ps.state().get(key));
  k["exists"] = st.has_value();
  k["version"] = st ? st->version : 0;
  if (st) {
    OJson doc = OJson::parse(st->payload, nullptr, false);
    if (doc.is_discarded()) return Status::corruption("the document of '" + key + "' is not valid JSON");
    k["document"] = std::move(doc);
  } else {
    k["document"] = nullptr;
  }

  OMNI_ASSIGN_OR_RETURN(const std::vector<Seq> seqs, ps.audit().seqs(key));
  OMNI_ASSIGN_OR_RETURN(const Seq pruned, ps.audit().pruned_through(key));
  OJson audit;
  audit["events"] = seqs.size();
  audit["pruned_through"] = pruned;
  std::map<std::string, std::uint64_t> ops;
  OJson recent = OJson::array();
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    OMNI_ASSIGN_OR_RETURN(const log::Event e, lg.read(seqs[i]));
    ++ops[std::string(operation_name(e.type))];
    if (i == 0) audit["first"] = entry_json(seqs[i], e);
    if (i + 1 == seqs.size()) audit["last"] = entry_json(seqs[i], e);
    if (i + limit >= seqs.size()) recent.push_back(entry_json(seqs[i], e));
  }
  audit["operations"] = ops;
  audit["recent"] = std::move(recent);
  k["audit"] = std::move(audit);

  const auto& rel = ps.get<projections::RelationshipIndex>(rel_slot);
  OMNI_ASSIGN_OR_RETURN(std::vector<projections::Edge> edges, rel.edges(key, {.limit = limit + 1}));
  k["relationships_truncated"] = edges.size() > limit;
  if (edges.size() > limit) edges.resize(limit);
  OJson rels = OJson::array();
  for (const auto& e : edges) {
    rels.push_back({{"subject", e.subject}, {"predicate", e.predicate}, {"object", e.object}, {"seq", e.seq}});
  }
  k["relationships"] = std::move(rels);

  const auto& ver = ps.get<projections::VersionIndex>(ver_slot);
  OMNI_ASSIGN_OR_RETURN(const std::vector<projections::VersionRow> versions, ver.list(key));
  OJson vs = OJson::array();
  for (const auto& v : versions) {
    OMNI_ASSIGN_OR_RETURN(const log::Event e, lg.read(v.seq));
    vs.push_back({{"label", v.label}, {"seq", v.seq}, {"timestamp", format_rfc3339(e.timestamp_ns)}});
  }
  k["versions"] = std::move(vs);
  return k;
}

// Per backend the store knows of (a cursor in "sink_cursors" or dead letters):
// its cursor and lag when the store keeps them (a backend that keeps its own
// watermark, as Redis does, has none here: `omni health` reads it), and how many
// dead letters it has.
Result<OJson> sinks_report(const log::EventLog& lg, Seq head) {
  struct Row {
    std::optional<Seq> cursor;
    std::uint64_t dead_letters = 0;
  };
  std::map<std::string, Row> rows;
  if (lg.column_family(sinks::kSinkCursorsCf) != nullptr) {
    OMNI_ASSIGN_OR_RETURN(const auto cursors, log::CursorStore(lg, sinks::kSinkCursorsCf).all());
    for (const auto& [name, seq] : cursors) rows[name].cursor = seq;
  }
  if (lg.column_family(sinks::kDeadLettersCf) != nullptr) {
    OMNI_ASSIGN_OR_RETURN(const std::vector<DeadLetter> letters, sinks::DeadLetterStore(lg).list());
    for (const auto& d : letters) ++rows[d.backend].dead_letters;
  }
  OJson out = OJson::array();
  for (const auto& [name, r] : rows) {
    OJson e;
    e["name"] = name;
    e["cursor"] = r.cursor ? OJson(*r.cursor) : OJson(nullptr);
    e["lag"] = r.cursor ? OJson(head >= *r.cursor ? head - *r.cursor : 0) : OJson(nullptr);
    e["position"] = r.cursor ? "store" : "backend";
    e["dead_letters"] = r.dead_letters;
    out.push_back(std::move(e));
  }
  return out;
}

bool scalar(const OJson& v) { return !v.is_object() && !v.is_array(); }

std::string scalar_text(const OJson& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

void render(std::string& out, const OJson& j, int indent) {
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  for (const auto& [name, v] : j.items()) {
    if (name == "document" || scalar(v)) {
      out += pad + name + ": " + (name == "document" ? v.dump() : scalar_text(v)) + "\n";
    } else if (v.is_object()) {
      out += pad + name + (v.empty() ? ": (none)\n" : ":\n");
      render(out, v, indent + 2);
    } else if (v.empty()) {
      out += pad + name + ": (none)\n";
    } else if (std::all_of(v.begin(), v.end(), scalar)) {
      std::string list;
      for (const auto& e : v) list += (list.empty() ? "" : ", ") + scalar_text(e);
      out += pad + name + ": " + list + "\n";
    } else {
      out += pad + name + ":\n";
      for (const auto& e : v) {
        std::string line;
        for (const auto& [n2, v2] : e.items()) line += (line.empty() ? "" : "  ") + n2 + "=" + scalar_text(v2);
        out += pad + "  - " + line + "\n";
      }
    }
  }
}

}  // namespace

Result<OJson> inspect_store(const InspectOptions& options) {
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<log::EventLog> lg, open_read_only(options.db));
  OJson j;
  std::error_code ec;
  const fs::path canonical = fs::canonical(options.db, ec);
  j["store"] = ec ? options.db : canonical.string();
  const Seq head = lg->head_seq();
  OJson h;
  h["seq"] = head;
  h["hash"] = log::to_hex(lg->head_hash());
  h["anchor"] = format_anchor({head, lg->head_hash()});
  if (head > 0) {
    OMNI_ASSIGN_OR_RETURN(const log::Event e, lg->read(head));
    h["timestamp"] = format_rfc3339(e.timestamp_ns);
  }
  j["head"] = std::move(h);
  j["event_count"] = head;  // seqs are dense from 1 (open checked it)
  j["disk_bytes"] = disk_bytes(*lg, options.db);
  std::uint64_t keys = 0;
  if (auto* cf = lg->column_family(projections::kStateCf)) {
    lg->db()->GetIntProperty(cf, "rocksdb.estimate-num-keys", &keys);
  }
  j["approximate_keys"] = keys;
  OMNI_ASSIGN_OR_RETURN(const std::optional<log::HeadAnchor> anchor, log::read_head_anchor(options.db));
  j["head_file"] = anchor ? OJson{{"seq", anchor->seq}, {"hash", log::to_hex(anchor->hash)}} : OJson(nullptr);
  const log::RecoveryReport& rec = lg->recovery_report();
  j["wal"] = {{"damaged", rec.wal_damaged}, {"detail", rec.detail}};
  OJson checkpoints = OJson::object();
  OMNI_ASSIGN_OR_RETURN(j["generation"], meta_rows(*lg, &checkpoints));
  j["checkpoints"] = std::move(checkpoints);
  OMNI_ASSIGN_OR_RETURN(const auto cursors, log::CursorStore(*lg).all());
  OJson cs = OJson::array();
  for (const auto& [name, seq] : cursors) {
    cs.push_back({{"name", name}, {"seq", seq}, {"lag", head >= seq ? head - seq : 0}});
  }
  j["cursors"] = std::move(cs);
  OMNI_ASSIGN_OR_RETURN(j["sinks"], sinks_report(*lg, head));
  j["column_families"] = lg->column_family_names();
  if (options.key) {
    OMNI_ASSIGN_OR_RETURN(j["key"], key_report(*lg, *options.key, options.limit));
  }
  OMNI_RETURN_IF_ERROR(lg->close(std::chrono::steady_clock::now()));
  return j;
}

std::string inspect_text(const OJson& report) {
  std::string out;
  render(out, report, 0);
  return out;
}

}  // namespace omni::tools
