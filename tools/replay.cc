#include "omni/tools/replay.h"

#include <filesystem>

#include "omni/storage.h"
#include "omni/tools/prefetch_cursor.h"
#include "omni/tools/store.h"

namespace omni::tools {
namespace {

namespace fs = std::filesystem;

// The hashes verify_store compares at given seqs (OMNI-HEAD's, the user's anchor).
struct Reference {
  std::string name;
  Seq seq;
  log::Hash hash;
};

}  // namespace

Result<StoreVerifyReport> verify_store(const StoreVerifyOptions& options, Progress& progress) {
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<log::EventLog> lg, open_read_only(options.db, /*checks=*/false));
  StoreVerifyReport r;
  r.head_seq = lg->head_seq();
  r.head_hash = lg->head_hash();
  auto fail = [&](Seq seq, std::string problem) {
    if (!r.ok()) return;
    r.first_bad_seq = seq;
    r.problem = std::move(problem);
  };
  const std::string s_head = std::to_string(r.head_seq);

  std::vector<Reference> refs;
  Result<std::optional<log::HeadAnchor>> head_file = log::read_head_anchor(options.db);
  if (!head_file.ok()) {
    fail(0, head_file.status().message());
  } else if (*head_file) {
    r.head_file = **head_file;
    if ((*head_file)->seq > 0) {
      refs.push_back({std::string(log::kHeadAnchorFile) + " (the head last known durable)", (*head_file)->seq,
                      (*head_file)->hash});
    }
  }
  if (options.anchor) refs.push_back({"the anchor", options.anchor->seq, options.anchor->hash});
  const log::RecoveryReport& rec = lg->recovery_report();
  if (rec.wal_damaged) {
    fail(rec.recovered_head + 1, "the WAL is damaged after seq " + std::to_string(rec.recovered_head) + ": " +
                                     std::to_string(rec.events_beyond_damage) +
                                     " event(s) beyond the damage cannot be read (" + rec.detail + ")");
  }

  progress.start("replay verify", r.head_seq);
  PrefetchCursor cur(*lg, 1, r.head_seq);
  log::Hash prev{};
  Seq expect = 1;
  log::Event event;  // decoded into again and again: its strings keep their capacity
  std::vector<std::uint64_t> scratch;
  while (r.ok() && cur.next()) {
    const Seq seq = cur.key();
    if (seq != expect) {
      fail(expect, seq == 0 ? "a malformed event key where seq " + std::to_string(expect) + " should be"
                            : "seq " + std::to_string(expect) +
                                  (seq - 1 > expect ? ".." + std::to_string(seq - 1) : std::string()) +
                                  " missing (deleted?): the next stored event is seq " + std::to_string(seq));
      break;
    }
    const std::string_view bytes = cur.bytes();
    if (Status d = log::decode_event_into(bytes, seq, &event, &scratch); !d.ok()) {
      fail(seq, d.message());
      break;
    }
    const log::Event* ev = &event;
    const log::Hash h = log::sha256(bytes);
    if (ev->prev_hash != prev) {
      if (seq == 1) {
        fail(1, "seq 1's prev_hash is " + log::to_hex(ev->prev_hash) + ", not zero");
        break;
      }
      // One altered event breaks the link after it (its hash changed) and, if its
      // prev_hash was changed, the link before it too: look one event further.
      bool this_one = false;
      if (seq < r.head_seq && cur.next() && cur.key() == seq + 1) {
        Result<log::Event> next = log::decode_event(cur.bytes(), seq + 1);
        this_one = !next.ok() || next->prev_hash != h;
      } else {
        for (const Reference& ref : refs) this_one = this_one || (ref.seq == seq && ref.hash != h);
      }
      const std::string s = std::to_string(seq), p = std::to_string(seq - 1);
      if (this_one) {
        fail(seq, "seq " + s + " was altered: its prev_hash does not match seq " + p +
                      ", and what follows it does not match its hash either");
      } else {
        fail(seq - 1, "seq " + p + " was altered: its bytes hash to " + log::to_hex(prev) +
                          ", but seq " + s + " records " + log::to_hex(ev->prev_hash));
      }
      break;
    }
    for (const Reference& ref : refs) {
      if (ref.seq == seq && ref.hash != h) {
        fail(seq, "seq " + std::to_string(seq) + " hashes to " + log::to_hex(h) + ", but " + ref.name +
                      " says " + log::to_hex(ref.hash) +
                      ": the log up to this seq was rewritten (re-chained), or this event was altered");
      }
      if (ref.seq == seq && options.anchor && ref.seq == options.anchor->seq) r.anchor_checked = true;
    }
    prev = h;
    ++r.events_checked;
    ++expect;
    progress.update(r.events_checked);
  }
  progress.finish(r.events_checked);
  OMNI_RETURN_IF_ERROR(cur.status());
  if (r.ok() && r.events_checked != r.head_seq) {
    fail(expect, "the log ends at seq " + std::to_string(expect - 1) + " but its head is seq " + s_head);
  }
  for (const Reference& ref : refs) {
    if (ref.seq > r.head_seq) {
      fail(r.head_seq + 1, "the log ends at seq " + s_head + ", but " + ref.name + " is at seq " +
                               std::to_string(ref.seq) + ": seq " + std::to_string(r.head_seq + 1) + ".." +
                               std::to_string(ref.seq) + " are lost (truncated), or this is another store");
    }
  }
  return r;
}

nlohmann::ordered_json to_json(const StoreVerifyReport& r) {
  nlohmann::ordered_json j;
  j["ok"] = r.ok();
  j["head_seq"] = r.head_seq;
  j["head_hash"] = log::to_hex(r.head_hash);
  j["anchor"] = format_anchor({r.head_seq, r.head_hash});
  j["events_checked"] = r.events_checked;
  if (r.head_file) {
    j["head_file"] = {{"seq", r.head_file->seq}, {"hash", log::to_hex(r.head_file->hash)}};
  }
  j["anchor_checked"] = r.anchor_checked;
  if (!r.ok()) {
    j["first_bad_seq"] = r.first_bad_seq;
    j["problem"] = r.problem;
  }
  return j;
}

std::string to_text(const StoreVerifyReport& r) {
  if (!r.ok()) {
    return "FAILED at seq " + std::to_string(r.first_bad_seq) + ": " + r.problem + "\n" +
           std::to_string(r.events_checked) + " event(s) before it verified\n";
  }
  std::string s = "ok: " + std::to_string(r.events_checked) + " events, chain intact from seq 1 to the head\n";
  s += "head: " + format_anchor({r.head_seq, r.head_hash}) + "\n";
  if (r.head_file) s += "OMNI-HEAD: seq " + std::to_string(r.head_file->seq) + " matches\n";
  if (r.anchor_checked) s += "anchor: matches\n";
  return s;
}

Result<RebuildReport> rebuild_store(const std::string& db, Progress& progress) {
  std::error_code ec;
  if (!fs::exists(fs::path(db) / "CURRENT", ec)) return Status::not_found("no store at '" + db + "'");
  Result<std::unique_ptr<Storage>> st = Storage::open({.path = db});
  if (!st.ok()) {
    const std::string m = st.status().message();
    if (m.find("LOCK") != std::string::npos || m.find("already open") != std::string::npos) {
      return Status::conflict("the store at '" + db +
                              "' is open for writing by another process (its service?): a rebuild "
                              "writes, so stop that process first, or call rebuild_projections() "
                              "inside it (" + m + ")");
    }
    return st.status();
  }
  RebuildReport r;
  r.head_seq = (*st)->get_statistics().head_seq;
  progress.start("replay rebuild", r.head_seq);
  Status s = (*st)->rebuild_projections({.progress = [&](const RebuildProgress& p) {
    r.applied = p.applied;
    progress.update(p.applied);
  }});
  progress.finish(r.applied);
  Status c = (*st)->close();
  OMNI_RETURN_IF_ERROR(s);
  OMNI_RETURN_IF_ERROR(c);
  return r;
}

}  // namespace omni::tools
