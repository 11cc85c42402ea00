#include "omni/tools/audit_export.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "omni/projections/audit_index.h"
#include "omni/tools/format.h"
#include "omni/tools/jsonl_event.h"
#include "omni/tools/line_buffer.h"
#include "omni/tools/ordered_pool.h"
#include "omni/tools/store.h"

namespace omni::tools {
namespace {

using log::EventType;

bool is_edge(EventType t) { return t == EventType::RelationshipAdded || t == EventType::RelationshipRemoved; }

Status check_utf8(const log::Event& e) {
  auto bad = [&](std::string_view field) {
    return Status::corruption("event seq " + std::to_string(e.seq) + ": its " + std::string(field) +
                              " is not valid UTF-8");
  };
  if (!utf8_valid(e.identity)) return bad("identity");
  if (!utf8_valid(e.key)) return bad("key");
  for (const std::string* s : {&e.attrs.predicate, &e.attrs.object, &e.attrs.label, &e.attrs.action,
                               &e.attrs.principal}) {
    if (!utf8_valid(*s)) return bad("attributes");
  }
  for (const std::string& n : e.attrs.names) {
    if (!utf8_valid(n)) return bad("names");
  }
  return Status();
}

void append_json_array(std::string& out, const std::vector<std::string>& v) {
  out.push_back('[');
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out.push_back(',');
    append_json_string(out, v[i]);
  }
  out.push_back(']');
}

constexpr std::string_view kCsvHeader =
    "seq,timestamp,operation,identity,key,data,subject,predicate,object,label,labels,principal,action,"
    "allowed,ttl_ns,depends_on,prev_hash,hash\r\n";

void append_csv(std::string& out, const log::Event& e, const log::Hash& hash) {
  auto field = [&](std::string_view v) {
    append_csv_field(out, v);
    out.push_back(',');
  };
  auto array = [&](const std::vector<std::string>& v) {
    std::string a;
    append_json_array(a, v);
    field(a);
  };
  field(std::to_string(e.seq));
  field(format_rfc3339(e.timestamp_ns));
  field(operation_name(e.type));
  field(e.identity);
  field(e.key);
  field(e.payload);
  const bool edge = is_edge(e.type);
  field(edge ? std::string_view(e.key) : std::string_view());
  field(edge ? std::string_view(e.attrs.predicate) : std::string_view());
  field(edge ? std::string_view(e.attrs.object) : std::string_view());
  field(e.type == EventType::VersionStored ? std::string_view(e.attrs.label) : std::string_view());
  if (e.type == EventType::VersionsPruned) array(e.attrs.names); else field("");
  const bool policy = e.type == EventType::PolicyDecided;
  field(policy ? std::string_view(e.attrs.principal) : std::string_view());
  field(policy ? std::string_view(e.attrs.action) : std::string_view());
  field(policy ? (e.attrs.allowed ? "true" : "false") : "");
  field(policy ? std::to_string(e.attrs.ttl_ns) : std::string());
  if (policy && !e.attrs.names.empty()) array(e.attrs.names); else field("");
  field(log::to_hex(e.prev_hash));
  append_csv_field(out, log::to_hex(hash));
  out += "\r\n";
}

}  // namespace

bool AuditFilter::matches(const log::Event& e) const {
  if (key && e.key != *key && projections::AuditIndex::second_key(e.type, e.attrs, e.key) != *key) return false;
  if (identity && e.identity != *identity) return false;
  if (since_ns && e.timestamp_ns < *since_ns) return false;
  if (until_ns && e.timestamp_ns >= *until_ns) return false;
  if (!types.empty() && std::find(types.begin(), types.end(), e.type) == types.end()) return false;
  return true;
}

nlohmann::json AuditFilter::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  if (key) j["key"] = *key;
  if (identity) j["identity"] = *identity;
  if (since_ns) j["since"] = format_rfc3339(*since_ns);
  if (until_ns) j["until"] = format_rfc3339(*until_ns);
  if (!types.empty()) {
    j["types"] = nlohmann::json::array();
    for (EventType t : types) j["types"].push_back(std::string(operation_name(t)));
  }
  return j;
}

Result<AuditFilter> AuditFilter::from_json(const nlohmann::json& j) {
  if (!j.is_object()) return Status::invalid_argument("the filter is not a JSON object");
  AuditFilter f;
  for (const auto& [name, v] : j.items()) {
    if ((name == "key" || name == "identity" || name == "since" || name == "until") && !v.is_string()) {
      return Status::invalid_argument("filter." + name + " is not a string");
    }
    if (name == "key") {
      f.key = v.get<std::string>();
    } else if (name == "identity") {
      f.identity = v.get<std::string>();
    } else if (name == "since" || name == "until") {
      OMNI_ASSIGN_OR_RETURN(const std::int64_t ns, parse_rfc3339(v.get<std::string>()));
      (name == "since" ? f.since_ns : f.until_ns) = ns;
    } else if (name == "types") {
      if (!v.is_array()) return Status::invalid_argument("filter.types is not an array");
      for (const auto& t : v) {
        if (!t.is_string()) return Status::invalid_argument("filter.types holds a non-string");
        OMNI_ASSIGN_OR_RETURN(const EventType type, parse_operation(t.get<std::string>()));
        f.types.push_back(type);
      }
    } else {
      return Status::invalid_argument("unknown filter field '" + name + "'");
    }
  }
  return f;
}

Result<nlohmann::json> event_fields(const log::Event& e) {
  OMNI_RETURN_IF_ERROR(check_utf8(e));
  nlohmann::json j;
  j["seq"] = e.seq;
  j["timestamp"] = format_rfc3339(e.timestamp_ns);
  j["operation"] = std::string(operation_name(e.type));
  j["identity"] = e.identity;
  j["key"] = e.key;
  if (!e.payload.empty()) {
    nlohmann::json data = nlohmann::json::parse(e.payload, nullptr, false);
    if (data.is_discarded()) {
      return Status::corruption("event seq " + std::to_string(e.seq) + ": its payload is not valid JSON");
    }
    j["data"] = std::move(data);
  }
  if (is_edge(e.type)) {
    j["subject"] = e.key;
    j["predicate"] = e.attrs.predicate;
    j["object"] = e.attrs.object;
  } else if (e.type == EventType::VersionStored) {
    j["label"] = e.attrs.label;
  } else if (e.type == EventType::VersionsPruned) {
    j["labels"] = e.attrs.names;
  } else if (e.type == EventType::PolicyDecided) {
    j["principal"] = e.attrs.principal;
    j["action"] = e.attrs.action;
    j["allowed"] = e.attrs.allowed;
    j["ttl_ns"] = e.attrs.ttl_ns;
    if (!e.attrs.names.empty()) j["depends_on"] = e.attrs.names;
  }
  j["prev_hash"] = log::to_hex(e.prev_hash);
  return j;
}

namespace {

// A range of the log, read and exported by a worker: its lines, and what the
// writer needs to chain it to the ranges before it.
struct Piece {
  Seq from = 0, to = 0;             // the seqs it covers
  LineBuffer out;                   // the lines of the events that match
  std::vector<log::Hash> exported;  // their hashes, in order (for the digest)
  log::Hash first_prev{};           // seq from's prev_hash
  log::Hash last{};                 // seq to's hash
  Seq chain_break = 0;              // the first seq after `from` whose prev_hash is wrong
  Status status;                    // the first event that cannot be exported stops the piece

  void reset(Seq f, Seq t) {
    from = f, to = t;
    out.clear();
    exported.clear();
    chain_break = 0;
    status = Status();
  }
};

// Seqs per piece: big enough that a RocksDB iterator per piece costs nothing,
// small enough that the pieces in flight stay a few MB.
constexpr Seq kPieceEvents = 512;
// A piece's compressed blocks are at most ~34 KB (the 1M-event benchmark store is
// 68 MB on disk, every column family counted): one read of 64 KiB into the
// iterator's own buffer covers it. With 0, RocksDB's automatic readahead starts
// over for every piece's iterator and asks the kernel with readahead(2) per
// block run (~5 % of an export's profile, even with the files in the page cache).
constexpr std::size_t kPieceReadahead = 64u << 10;

// A worker thread's own decoding and validating state.
struct Scratch {
  log::Event e;  // decoded into again and again: its strings keep their capacity
  std::vector<std::uint64_t> offsets;
  simdjson::dom::parser parser;
  std::string padded;  // a payload, with the padding simdjson reads past its end (CSV)
  std::string csv;     // a CSV record before it joins the piece
};

// nlohmann::json::accept spent 2 µs on a 200-byte document, most of an export's
// time; simdjson validates the same grammar (RFC 8259, UTF-8) in a tenth of it.
// `padded` must have SIMDJSON_PADDING readable bytes past `json` (their content
// does not matter).
Status check_payload(Seq seq, std::string_view padded, simdjson::dom::parser& parser) {
  if (parser.parse(padded.data(), padded.size(), false).error() != simdjson::SUCCESS) {
    return Status::corruption("event seq " + std::to_string(seq) + ": its payload is not valid JSON");
  }
  return Status();
}

// The payload copied where simdjson may read past its end.
Status check_payload_copy(const log::Event& e, Scratch& s) {
  if (e.payload.empty()) return Status();
  s.padded.resize(e.payload.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(s.padded.data(), e.payload.data(), e.payload.size());
  return check_payload(e.seq, std::string_view(s.padded.data(), e.payload.size()), s.parser);
}

Status missing(Seq seq) {
  return Status::corruption("event seq " + std::to_string(seq) + " is missing from the log (run "
                            "`omni replay verify`); the export stops before it");
}

// Each worker reads its piece itself: a reader thread feeding the workers was
// the bottleneck on two cores, and this saves copying every row once more.
void export_piece(Piece& p, const log::EventLog& lg, const AuditFilter& filter, bool jsonl) {
  thread_local Scratch s;
  EventCursor cur(lg, p.from, p.to, kPieceReadahead);
  Seq expect = p.from;
  log::Hash prev{};
  while (cur.next()) {
    const Seq seq = cur.key();
    if (seq != expect) {
      p.status = missing(expect);
      return;
    }
    const std::string_view bytes = cur.bytes();
    p.status = log::decode_event_into(bytes, seq, &s.e, &s.offsets);
    if (!p.status.ok()) return;
    const log::Hash h = log::sha256(bytes);
    if (seq == p.from) {
      p.first_prev = s.e.prev_hash;
    } else if (s.e.prev_hash != prev && p.chain_break == 0) {
      p.chain_break = seq;
    }
    prev = h;
    ++expect;
    if (!filter.matches(s.e)) continue;
    p.status = check_utf8(s.e);
    if (!p.status.ok()) return;
    if (jsonl) {
      // The payload is checked where it was copied into the line: the rest of the
      // line behind it is simdjson's padding, so it is not copied once more.
      const std::size_t line_at = p.out.size();
      const std::string_view data = append_jsonl_event(p.out, s.e, h, bytes);
      if (!data.empty()) p.status = check_payload(seq, data, s.parser);
      if (!p.status.ok()) {
        p.out.truncate(line_at);
        return;
      }
    } else {
      p.status = check_payload_copy(s.e, s);
      if (!p.status.ok()) return;
      s.csv.clear();
      append_csv(s.csv, s.e, h);
      p.out.append(s.csv);
    }
    p.exported.push_back(h);
  }
  p.status = cur.status();
  if (p.status.ok() && expect <= p.to) p.status = missing(expect);
  p.last = prev;
}

}  // namespace

Result<ExportSummary> export_audit(const ExportOptions& options, std::ostream& out, Progress& progress) {
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<log::EventLog> lg, open_read_only(options.db));
  ExportSummary sum;
  sum.head_seq = lg->head_seq();
  sum.head_hash = lg->head_hash();
  const bool jsonl = options.format == ExportFormat::kJsonl;

  auto write = [&](std::string_view text) -> Status {
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) return Status::io_error("writing the export failed (disk full? closed pipe?)");
    return Status();
  };
  if (jsonl) {
    nlohmann::ordered_json h;
    h["format"] = kExportFormat;
    h["version"] = kExportVersion;
    h["complete"] = options.filter.empty();
    h["filter"] = options.filter.to_json();
    h["exported_at"] = format_rfc3339(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
    OMNI_RETURN_IF_ERROR(write(h.dump() + "\n"));
  } else {
    OMNI_RETURN_IF_ERROR(write(kCsvHeader));
  }

  progress.start("audit export", sum.head_seq);
  Sha256Stream digest;
  // Pieces of the log are read, decoded, hashed, checked and formatted on every
  // core, and written here in log order. At most in_flight pieces exist, so
  // memory is flat whatever the log's size.
  // One core is this thread's: it runs pieces itself while the oldest is not
  // done (OrderedPool::next), so the pool gets one thread fewer than the cores.
  // Two workers and this thread on 2 cores measured 0.43 of raw iteration where
  // one worker and this thread measured 0.46-0.50 (tools_bench, same hour).
  // At most 8 threads, so the pieces in flight (~0.5 MB each) stay a few MB on a
  // big machine (only 2 cores were measured).
  const unsigned threads = std::clamp(std::thread::hardware_concurrency(), 2u, 9u) - 1;
  const std::size_t in_flight = 2 * (threads + 1) + 1;
  OrderedPool<Piece> pool(threads, [&](Piece& p) { export_piece(p, *lg, options.filter, jsonl); });
  std::vector<std::unique_ptr<Piece>> spare;
  Seq next_from = 1;  // the first seq not yet handed out
  log::Hash prev{};
  for (;;) {
    while (next_from <= sum.head_seq && pool.outstanding() < in_flight) {
      std::unique_ptr<Piece> p;
      if (spare.empty()) {
        p = std::make_unique<Piece>();
      } else {
        p = std::move(spare.back());
        spare.pop_back();
      }
      const Seq to = std::min(sum.head_seq, next_from + (kPieceEvents - 1));
      p->reset(next_from, to);
      next_from = to + 1;
      pool.submit(std::move(p));
    }
    std::unique_ptr<Piece> p = pool.next();
    if (!p) break;
    OMNI_RETURN_IF_ERROR(p->status);
    if (p->first_prev != prev && sum.chain_break == 0) sum.chain_break = p->from;
    if (p->chain_break != 0 && sum.chain_break == 0) sum.chain_break = p->chain_break;
    prev = p->last;
    OMNI_RETURN_IF_ERROR(write(p->out.view()));
    digest.update(std::string_view(reinterpret_cast<const char*>(p->exported.data()),
                                   p->exported.size() * sizeof(log::Hash)));
    sum.events += p->exported.size();
    progress.update(p->to);
    spare.push_back(std::move(p));
  }
  progress.finish(sum.head_seq);
  sum.digest = digest.digest();
  std::string tail;
  if (jsonl) {
    nlohmann::ordered_json end;
    end["end"] = kExportFormat;
    end["events"] = sum.events;
    end["head_seq"] = sum.head_seq;
    end["head_hash"] = log::to_hex(sum.head_hash);
    end["digest"] = log::to_hex(sum.digest);
    tail = end.dump() + "\n";
  } else {
    const nlohmann::json data = {{"events", sum.events}, {"digest", log::to_hex(sum.digest)}};
    tail += std::to_string(sum.head_seq) + ",,export_end,,,";
    append_csv_field(tail, data.dump());
    tail += ",,,,,,,,,,,," + log::to_hex(sum.head_hash) + "\r\n";
  }
  OMNI_RETURN_IF_ERROR(write(tail));
  out.flush();
  if (!out) return Status::io_error("writing the export failed");
  return sum;
}

}  // namespace omni::tools
