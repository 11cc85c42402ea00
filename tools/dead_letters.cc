#include "omni/tools/dead_letters.h"

#include <filesystem>

#include "omni/sinks/dead_letter_store.h"
#include "omni/storage.h"
#include "omni/tools/format.h"
#include "omni/tools/store.h"

namespace omni::tools {
namespace {

namespace fs = std::filesystem;
using OJson = nlohmann::ordered_json;

std::int64_t ns_of(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

bool matches(const DeadLetter& d, const DeadLetterFilter& f) {
  return (f.sink.empty() || d.backend == f.sink) && (!f.seq || d.seq == *f.seq);
}

Result<std::unique_ptr<Storage>> open_for_writing(const std::string& db) {
  std::error_code ec;
  if (!fs::exists(fs::path(db) / "CURRENT", ec)) return Status::not_found("no store at '" + db + "'");
  Result<std::unique_ptr<Storage>> st = Storage::open({.path = db});
  if (!st.ok()) {
    const std::string m = st.status().message();
    if (m.find("LOCK") != std::string::npos || m.find("already open") != std::string::npos) {
      return Status::conflict("the store is open in another process; run this through the service or stop it (" +
                              m + ")");
    }
    return st.status();
  }
  return st;
}

// The matching dead letters of the opened store (kNotFound when none).
Result<std::vector<DeadLetter>> matching(Storage& st, const DeadLetterFilter& f) {
  if (f.sink.empty()) return Status::invalid_argument("--sink names the backend whose dead letters to act on");
  OMNI_ASSIGN_OR_RETURN(std::vector<DeadLetter> all, st.dead_letters().list(f.sink));
  std::vector<DeadLetter> out;
  for (auto& d : all) {
    if (matches(d, f)) out.push_back(std::move(d));
  }
  if (out.empty()) {
    return Status::not_found("backend '" + f.sink + "' has no dead letter" +
                             (f.seq ? " at seq " + std::to_string(*f.seq) : std::string()));
  }
  return out;
}

template <typename Fn>
Result<std::vector<DeadLetterOutcome>> act_on_each(Storage& st, const DeadLetterFilter& f, Fn fn) {
  Result<std::vector<DeadLetter>> letters = matching(st, f);
  std::vector<DeadLetterOutcome> out;
  if (letters.ok()) {
    for (DeadLetter& d : *letters) {
      const Seq seq = d.seq;
      out.push_back({std::move(d), fn(seq)});
    }
  }
  Status closed = st.close();
  OMNI_RETURN_IF_ERROR(letters.status());
  OMNI_RETURN_IF_ERROR(closed);
  return out;
}

}  // namespace

Result<std::vector<DeadLetter>> list_dead_letters(const DeadLetterFilter& f) {
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<log::EventLog> lg, open_read_only(f.db));
  std::vector<DeadLetter> out;
  if (lg->column_family(sinks::kDeadLettersCf) != nullptr) {  // a store no backend ever fed has none
    OMNI_ASSIGN_OR_RETURN(std::vector<DeadLetter> all, sinks::DeadLetterStore(*lg).list(f.sink));
    for (auto& d : all) {
      if (matches(d, f)) out.push_back(std::move(d));
    }
  }
  OMNI_RETURN_IF_ERROR(lg->close(std::chrono::steady_clock::now()));
  return out;
}

OJson to_json(const std::vector<DeadLetter>& letters) {
  OJson a = OJson::array();
  for (const auto& d : letters) {
    OJson j;
    j["sink"] = d.backend;
    j["seq"] = d.seq;
    j["key"] = d.key;
    j["operation"] = d.operation;
    j["error_class"] = d.error_class;
    j["attempts"] = d.attempts;
    j["last_error"] = d.last_error;
    j["time"] = format_rfc3339(ns_of(d.time));
    a.push_back(std::move(j));
  }
  return OJson{{"dead_letters", std::move(a)}};
}

std::string to_text(const std::vector<DeadLetter>& letters) {
  if (letters.empty()) return "no dead letters\n";
  std::string s;
  for (const auto& d : letters) {
    s += d.backend + " seq " + std::to_string(d.seq) + " " + d.operation + " '" + d.key + "': " + d.error_class +
         ", " + std::to_string(d.attempts) + " attempt(s), " + format_rfc3339(ns_of(d.time)) + ": " + d.last_error +
         "\n";
  }
  return s;
}

Result<std::vector<DeadLetterOutcome>> drop_dead_letters(const DeadLetterFilter& f) {
  if (f.sink.empty()) return Status::invalid_argument("--sink names the backend whose dead letters to drop");
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<Storage> st, open_for_writing(f.db));
  return act_on_each(*st, f, [&](Seq seq) { return st->dead_letters().drop(f.sink, seq); });
}

Result<std::vector<DeadLetterOutcome>> retry_dead_letters(const DeadLetterFilter& f,
                                                         std::unique_ptr<Backend> backend) {
  if (f.sink.empty()) return Status::invalid_argument("--sink names the backend whose dead letters to retry");
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<Storage> st, open_for_writing(f.db));
  // Offline: the backend's worker stays paused, so this process sends it nothing
  // but the retried changes (feeding it is the service's job).
  st->enable_offline_mode();
  if (Status s = st->add_backend(f.sink, std::move(backend)); !s.ok()) {
    (void)st->close();
    return s;
  }
  return act_on_each(*st, f, [&](Seq seq) { return st->dead_letters().retry(f.sink, seq); });
}

std::string to_text(const std::vector<DeadLetterOutcome>& outcomes, bool retry) {
  std::string s;
  for (const auto& o : outcomes) {
    s += o.letter.backend + " seq " + std::to_string(o.letter.seq) + " '" + o.letter.key + "': ";
    s += o.status.ok() ? (retry ? "applied, removed" : "dropped")
                       : "failed: " + std::string(status_code_name(o.status.code())) + ": " + o.status.message();
    s += "\n";
  }
  return s;
}

OJson to_json(const std::vector<DeadLetterOutcome>& outcomes) {
  OJson a = OJson::array();
  for (const auto& o : outcomes) {
    a.push_back({{"sink", o.letter.backend},
                 {"seq", o.letter.seq},
                 {"key", o.letter.key},
                 {"ok", o.status.ok()},
                 {"error", o.status.ok() ? std::string() : std::string(status_code_name(o.status.code())) + ": " +
                                                               o.status.message()}});
  }
  return OJson{{"results", std::move(a)}};
}

}  // namespace omni::tools
