#include "omni/tools/audit_verify.h"

#include <fstream>

#include "omni/tools/replay.h"
#include "omni/tools/prefetch_cursor.h"
#include "omni/tools/store.h"

namespace omni::tools {
namespace {

using Json = nlohmann::json;

std::optional<std::uint64_t> uint_field(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_number_unsigned()) return std::nullopt;
  return it->get<std::uint64_t>();
}

std::optional<std::string> string_field(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<log::Hash> hash_field(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  Result<log::Hash> h = parse_hash(it->get_ref<const std::string&>());
  if (!h.ok()) return std::nullopt;
  return *h;
}

// The walk over the file's lines (see audit_verify.h for what each check proves).
class FileChecker {
 public:
  FileChecker(const FileVerifyOptions& options, Progress& progress) : options_(options), progress_(progress) {}

  FileVerifyReport run(std::istream& in) {
    std::string line;
    if (!std::getline(in, line)) {
      fail(0, 1, "the file is empty: not an omni audit export");
      return r_;
    }
    lineno_ = 1;
    if (!header(line)) return r_;
    progress_.start("audit verify", 0);
    while (r_.ok() && std::getline(in, line)) {
      ++lineno_;
      if (ended_) {
        const Json j = Json::parse(line, nullptr, false);
        const std::optional<std::uint64_t> seq = j.is_object() ? uint_field(j, "seq") : std::nullopt;
        fail(seq.value_or(r_.head_seq + 1), lineno_, "a line after the closing line (inserted?)");
        break;
      }
      Json j = Json::parse(line, nullptr, false);
      if (!j.is_object()) {
        fail(next_seq(), lineno_, "line " + std::to_string(lineno_) + " is not a JSON object (truncated or edited)");
        break;
      }
      if (j.contains("end")) {
        closing(j);
      } else {
        event(j);
      }
      progress_.update(r_.events);
    }
    progress_.finish(r_.events);
    if (r_.ok() && pending_) resolve_pending(std::nullopt);
    if (r_.ok() && !ended_) {
      fail(next_seq(), lineno_ + 1,
           "the file ends without its closing line: truncated" +
               (prev_ ? " after seq " + std::to_string(prev_->seq) : std::string()));
    }
    return r_;
  }

 private:
  struct Seen {
    Seq seq;
    log::Hash hash;
  };
  // A link that broke: seq's prev_hash is not the hash of seq - 1. Which of the
  // two changed is told by the event after seq (see resolve_pending).
  struct Pending {
    Seq seq;
    log::Hash hash;
    std::uint64_t line;
  };

  // Records the first problem. A broken link still waiting for the next event
  // names an earlier seq, so it is reported first.
  void fail(Seq seq, std::uint64_t line, std::string problem) {
    if (!r_.ok()) return;
    if (pending_) {
      resolve_pending(std::nullopt);
      return;
    }
    r_.first_bad_seq = seq;
    r_.line = line;
    r_.problem = std::move(problem);
  }
  Seq next_seq() const { return prev_ ? prev_->seq + 1 : 1; }

  bool header(const std::string& line) {
    const Json h = Json::parse(line, nullptr, false);
    if (!h.is_object() || string_field(h, "format") != kExportFormat) {
      fail(0, 1, "line 1 is not an omni audit export header");
      return false;
    }
    if (uint_field(h, "version") != static_cast<std::uint64_t>(kExportVersion)) {
      fail(0, 1, "the export's format version is not " + std::to_string(kExportVersion));
      return false;
    }
    const auto filter = h.find("filter");
    Result<AuditFilter> f = AuditFilter::from_json(filter == h.end() ? Json::object() : *filter);
    if (!f.ok()) {
      fail(0, 1, "the header's filter: " + f.status().message());
      return false;
    }
    r_.filter = std::move(*f);
    const auto complete = h.find("complete");
    if (complete == h.end() || !complete->is_boolean() || complete->get<bool>() != r_.filter.empty()) {
      fail(0, 1, "the header's 'complete' does not agree with its filter");
      return false;
    }
    r_.complete = r_.filter.empty();
    return true;
  }

  void event(Json& j) {
    const std::optional<std::uint64_t> seq_field = uint_field(j, "seq");
    if (!seq_field || *seq_field == 0) {
      fail(next_seq(), lineno_, "line " + std::to_string(lineno_) + " has no seq (edited?)");
      return;
    }
    const Seq seq = *seq_field;
    const std::string s = std::to_string(seq);
    if (prev_ && seq <= prev_->seq) {
      fail(seq, lineno_,
           seq == prev_->seq ? "seq " + s + " appears twice (inserted?)"
                             : "seq " + s + " comes after seq " + std::to_string(prev_->seq) + ": out of order (reordered?)");
      return;
    }
    if (r_.complete && seq != next_seq()) {
      const Seq missing = next_seq();
      fail(missing, lineno_,
           "seq " + std::to_string(missing) + (seq - 1 > missing ? ".." + std::to_string(seq - 1) : std::string()) +
               " missing from a complete export (deleted or reordered?)");
      return;
    }
    const auto enc = j.find("encoded");
    if (enc == j.end() || !enc->is_string()) {
      fail(seq, lineno_, "seq " + s + " has no encoded bytes");
      return;
    }
    Result<std::string> bytes = base64_decode(enc->get_ref<const std::string&>());
    if (!bytes.ok()) {
      fail(seq, lineno_, "seq " + s + ": encoded: " + bytes.status().message());
      return;
    }
    Result<log::Event> ev = log::decode_event(*bytes, seq);
    if (!ev.ok()) {
      fail(seq, lineno_, "seq " + s + ": its encoded bytes: " + ev.status().message());
      return;
    }
    const log::Hash h = log::sha256(*bytes);
    const std::optional<log::Hash> hash = hash_field(j, "hash");
    if (!hash || *hash != h) {
      fail(seq, lineno_, "seq " + s + ": its hash field is not the SHA-256 of its encoded bytes (edited)");
      return;
    }
    Result<Json> expected = event_fields(*ev);
    if (!expected.ok()) {
      fail(seq, lineno_, expected.status().message());
      return;
    }
    j.erase("hash");
    j.erase("encoded");
    if (j != *expected) {
      std::string field;
      for (const auto& [name, v] : expected->items()) {
        if (!j.contains(name) || j[name] != v) {
          field = name;
          break;
        }
      }
      if (field.empty()) {
        for (const auto& [name, v] : j.items()) {
          if (!expected->contains(name)) {
            field = name;
            break;
          }
        }
      }
      fail(seq, lineno_, "seq " + s + ": field '" + field + "' is not what its encoded bytes hold (edited)");
      return;
    }
    if (!r_.filter.matches(*ev)) {
      fail(seq, lineno_, "seq " + s + " does not match the export's filter (inserted?)");
      return;
    }
    if (pending_) {
      resolve_pending(seq == pending_->seq + 1 ? std::optional<log::Hash>(ev->prev_hash) : std::nullopt);
      return;
    }
    const bool adjacent = prev_ && seq == prev_->seq + 1;
    if (adjacent && ev->prev_hash != prev_->hash) {
      pending_ = Pending{seq, h, lineno_};
    } else if (seq == 1 && ev->prev_hash != log::Hash{}) {
      fail(1, lineno_, "seq 1's prev_hash is not zero");
      return;
    }
    if (!adjacent) {
      ++r_.runs;
      run_start_ = seq;
    }
    if (options_.anchor && seq == options_.anchor->seq) {
      if (h != options_.anchor->hash) {
        fail(seq, lineno_, "seq " + s + " hashes to " + log::to_hex(h) + ", not the anchor's " +
                               log::to_hex(options_.anchor->hash) +
                               ": the log up to this seq was rewritten (re-chained), or this event was altered");
        return;
      }
      r_.anchor_checked = true;
      r_.anchored_from = run_start_;
    }
    digest_.update(h);
    ++r_.events;
    if (r_.first_seq == 0) r_.first_seq = seq;
    r_.last_seq = seq;
    prev_ = Seen{seq, h};
  }

  // The pending broken link before pending_->seq: that event was altered when what
  // follows it does not match its hash either (`next_prev`: the next event's
  // prev_hash; or the closing head's hash when it is the head), else the event
  // before it was.
  void resolve_pending(std::optional<log::Hash> next_prev) {
    const Pending p = *pending_;
    pending_.reset();
    const bool this_one = next_prev && *next_prev != p.hash;
    const std::string s = std::to_string(p.seq), before = std::to_string(p.seq - 1);
    if (this_one) {
      fail(p.seq, p.line, "seq " + s + " was altered: its prev_hash does not match seq " + before +
                              ", and what follows it does not match its hash either");
    } else {
      fail(p.seq - 1, p.line - 1, "seq " + before + " was altered (re-hashed): seq " + s +
                                      "'s prev_hash is not its hash");
    }
  }

  void closing(const Json& j) {
    ended_ = true;
    const std::optional<std::uint64_t> events = uint_field(j, "events");
    const std::optional<std::uint64_t> head = uint_field(j, "head_seq");
    const std::optional<log::Hash> head_hash = hash_field(j, "head_hash");
    const std::optional<log::Hash> digest = hash_field(j, "digest");
    if (string_field(j, "end") != kExportFormat || !events || !head || !head_hash || !digest) {
      fail(0, lineno_, "the closing line is malformed (edited?)");
      return;
    }
    r_.head_seq = *head;
    r_.head_hash = *head_hash;
    if (pending_) {
      resolve_pending(pending_->seq == *head ? std::optional<log::Hash>(*head_hash) : std::nullopt);
      return;
    }
    const std::string hs = std::to_string(*head);
    const Seq last = prev_ ? prev_->seq : 0;
    if (last > *head) {
      fail(*head + 1, lineno_, "the file holds events up to seq " + std::to_string(last) +
                                   ", past the closing line's head, seq " + hs + " (inserted?)");
      return;
    }
    if (r_.complete && last != *head) {
      fail(last + 1, lineno_, "seq " + std::to_string(last + 1) + ".." + hs +
                                  " missing: the complete export is truncated");
      return;
    }
    if (last == *head && last > 0 && prev_->hash != *head_hash) {
      fail(last, lineno_, "seq " + hs + " (the head) hashes to " + log::to_hex(prev_->hash) +
                              ", not the closing line's head hash (the head event or the closing line was altered)");
      return;
    }
    if (*events != r_.events) {
      fail(0, lineno_, "the closing line counts " + std::to_string(*events) + " events, the file holds " +
                           std::to_string(r_.events) + " (lines deleted or inserted)");
      return;
    }
    if (*digest != digest_.digest()) {
      fail(0, lineno_, "the closing line's digest does not match the events' hashes (lines replaced or reordered)");
      return;
    }
    if (options_.anchor) {
      const Anchor& a = *options_.anchor;
      const std::string as = std::to_string(a.seq);
      if (a.seq > *head) {
        fail(*head + 1, lineno_, "the export ends at seq " + hs + ", before the anchor's seq " + as +
                                     ": truncated, or exported from an older or another log");
      } else if (a.seq == *head) {
        if (*head_hash != a.hash) {
          fail(a.seq, lineno_, "the head (seq " + hs + ") hash " + log::to_hex(*head_hash) +
                                   " is not the anchor's: the log was rewritten (re-chained) up to seq " + as);
        } else {
          r_.anchor_checked = true;
          if (last == *head) r_.anchored_from = run_start_;
        }
      } else if (!r_.anchor_checked) {
        fail(0, lineno_, "the anchor's seq " + as +
                             " is not in this filtered export, so it cannot be checked (anchor the head, "
                             "or an exported seq)");
      }
    }
  }

  const FileVerifyOptions& options_;
  Progress& progress_;
  FileVerifyReport r_;
  std::uint64_t lineno_ = 0;
  std::optional<Seen> prev_;
  std::optional<Pending> pending_;
  Seq run_start_ = 0;
  Sha256Stream digest_;
  bool ended_ = false;
};

}  // namespace

Result<FileVerifyReport> verify_export(std::istream& in, const FileVerifyOptions& options, Progress& progress) {
  FileChecker c(options, progress);
  FileVerifyReport r = c.run(in);
  if (in.bad()) return Status::io_error("reading the export failed");
  return r;
}

Result<FileVerifyReport> verify_export_against_store(const std::string& file, const std::string& db,
                                                     const FileVerifyOptions& options, Progress& progress) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::not_found("cannot open the export '" + file + "'");
  OMNI_ASSIGN_OR_RETURN(FileVerifyReport r, verify_export(in, options, progress));
  if (!r.ok()) return r;
  auto fail = [&](Seq seq, std::string problem) {
    if (!r.ok()) return;
    r.first_bad_seq = seq;
    r.line = 0;
    r.problem = std::move(problem);
  };

  OMNI_ASSIGN_OR_RETURN(const StoreVerifyReport store, verify_store({.db = db}, progress));
  if (!store.ok()) {
    fail(store.first_bad_seq, "the store does not verify: " + store.problem);
    return r;
  }
  if (r.head_seq > store.head_seq) {
    fail(store.head_seq + 1, "the export's head, seq " + std::to_string(r.head_seq) +
                                 ", is past the store's head, seq " + std::to_string(store.head_seq) +
                                 ": another store, or this one lost events");
    return r;
  }

  // Merge the file's events (checked above, so well-formed) with the store's
  // events that match the filter, in seq order.
  in.clear();
  in.seekg(0);
  std::string line;
  std::getline(in, line);  // the header
  auto next_line = [&]() -> std::optional<std::pair<Seq, std::string>> {
    if (!std::getline(in, line)) return std::nullopt;
    const Json j = Json::parse(line, nullptr, false);
    if (!j.is_object() || j.contains("end")) return std::nullopt;
    return std::make_pair(j["seq"].get<Seq>(), j["hash"].get<std::string>());
  };
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<log::EventLog> lg, open_read_only(db));
  progress.start("audit verify (store)", r.head_seq);
  std::optional<std::pair<Seq, std::string>> want = next_line();
  PrefetchCursor cur(*lg, 1, r.head_seq);
  Seq n = 0;
  while (r.ok() && cur.next()) {
    const Seq seq = cur.key();
    OMNI_ASSIGN_OR_RETURN(const log::Event e, log::decode_event(cur.bytes(), seq));
    const std::string h = log::to_hex(log::sha256(cur.bytes()));
    const std::string s = std::to_string(seq);
    if (seq == r.head_seq && h != log::to_hex(r.head_hash)) {
      fail(seq, "the closing line's head hash is not the store's hash at seq " + s);
    }
    const bool in_file = want && want->first == seq;
    if (r.filter.matches(e)) {
      if (!in_file) {
        fail(seq, "the store's event seq " + s + " matches the filter but is not in the file (deleted)");
      } else if (want->second != h) {
        fail(seq, "seq " + s + " in the file is not the store's event (edited)");
      }
    } else if (in_file) {
      fail(seq, "seq " + s + " in the file is not the store's event: the store's does not match the filter (forged)");
    }
    if (in_file) want = next_line();
    progress.update(++n);
  }
  progress.finish(n);
  OMNI_RETURN_IF_ERROR(cur.status());
  if (r.ok() && want) fail(want->first, "seq " + std::to_string(want->first) + " in the file is not in the store");
  r.checked_against_store = true;
  return r;
}

nlohmann::ordered_json to_json(const FileVerifyReport& r) {
  nlohmann::ordered_json j;
  j["ok"] = r.ok();
  j["complete"] = r.complete;
  j["filter"] = r.filter.to_json();
  j["events"] = r.events;
  j["first_seq"] = r.first_seq;
  j["last_seq"] = r.last_seq;
  j["head_seq"] = r.head_seq;
  j["head_hash"] = log::to_hex(r.head_hash);
  j["runs"] = r.runs;
  j["anchor_checked"] = r.anchor_checked;
  if (r.anchored_from) j["anchored_from"] = r.anchored_from;
  j["checked_against_store"] = r.checked_against_store;
  if (!r.ok()) {
    j["first_bad_seq"] = r.first_bad_seq;
    j["line"] = r.line;
    j["problem"] = r.problem;
  }
  return j;
}

std::string to_text(const FileVerifyReport& r) {
  if (!r.ok()) {
    std::string where = r.first_bad_seq ? "FAILED at seq " + std::to_string(r.first_bad_seq) : std::string("FAILED");
    if (r.line) where += " (line " + std::to_string(r.line) + ")";
    return where + ": " + r.problem + "\n";
  }
  const std::string range = r.events ? "seq " + std::to_string(r.first_seq) + ".." + std::to_string(r.last_seq)
                                     : std::string("no events");
  std::string s;
  if (r.complete) {
    s = "ok: complete export, " + std::to_string(r.events) + " events (" + range +
        "), chain intact from seq 1 to the head\n";
  } else {
    s = "ok: filtered export " + r.filter.to_json().dump() + ", " + std::to_string(r.events) + " events (" + range +
        ") of a log with head seq " + std::to_string(r.head_seq) + "; each event matches its bytes and hash, " +
        std::to_string(r.runs) + " run(s) of consecutive events chained, closing count and digest match\n";
  }
  s += "head: " + format_anchor({r.head_seq, r.head_hash}) + "\n";
  if (r.anchor_checked) {
    s += "anchor: matches";
    if (r.anchored_from) s += "; seq " + std::to_string(r.anchored_from) + ".. up to it are the anchored log's";
    s += "\n";
  } else if (!r.checked_against_store) {
    s += "no anchor: a log re-chained from scratch would pass too (give --anchor HASH@SEQ, from `omni inspect`)\n";
  }
  if (r.checked_against_store) {
    s += "checked against the store: the file holds exactly its events that match the filter, byte for byte\n";
  } else if (!r.complete) {
    s += "offline, a filtered export does not prove its events are the store's: check it with --db too\n";
  }
  return s;
}

}  // namespace omni::tools
