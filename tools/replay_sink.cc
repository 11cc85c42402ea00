#include "omni/tools/replay_sink.h"

#include "omni/sinks/change_codec.h"
#include "omni/tools/store.h"

namespace omni::tools {
namespace {

std::uint64_t change_bytes(const Change& c) {
  std::uint64_t n = c.key.size() + c.json.size() + c.predicate.size() + c.object.size() + c.label.size() +
                    c.principal.size() + c.action.size();
  for (const auto& l : c.labels) n += l.size();
  for (const auto& d : c.depends_on) n += d.size();
  return n;
}

}  // namespace

Result<ReplaySinkReport> replay_sink(const ReplaySinkOptions& options, Backend* backend, Progress& progress) {
  if (options.from_seq == 0) return Status::invalid_argument("--from-seq must be at least 1");
  if (!options.dry_run && backend == nullptr) return Status::invalid_argument("no backend to replay into");
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<log::EventLog> lg, open_read_only(options.db));
  ReplaySinkReport r;
  r.head_seq = lg->head_seq();
  r.from_seq = options.from_seq;
  r.dry_run = options.dry_run;
  const std::string task = options.dry_run ? "replay sink (dry run)" : "replay sink";
  progress.start(task, r.head_seq >= options.from_seq ? r.head_seq - options.from_seq + 1 : 0);
  Status failed;
  for (Seq next = options.from_seq; next <= r.head_seq && failed.ok();) {
    Result<log::EventBatch> eb =
        lg->read_from(next, {.max_events = options.batch_events, .max_bytes = options.batch_bytes});
    if (!eb.ok()) {
      failed = eb.status();
      break;
    }
    if (eb->events.empty()) break;
    next = eb->next;
    ChangeBatch batch;
    batch.reseed = true;
    batch.through = 0;  // the watermark moves once, at the end
    for (log::Event& e : eb->events) {
      if (e.seq > r.head_seq) break;  // the read-only view is fixed, but say so
      ++r.events;
      std::optional<Change> c = sinks::to_change(std::move(e));
      if (!c) continue;
      r.bytes += change_bytes(*c);
      batch.changes.push_back(std::move(*c));
    }
    r.changes += batch.changes.size();
    if (!batch.changes.empty()) {
      ++r.batches;
      if (!options.dry_run) failed = backend->apply(batch);
    }
    progress.update(r.events);
  }
  progress.finish(r.events);
  Status closed = lg->close(std::chrono::steady_clock::now());
  OMNI_RETURN_IF_ERROR(failed);
  OMNI_RETURN_IF_ERROR(closed);
  if (!options.dry_run && backend->keeps_watermark() && r.head_seq > 0) {
    // Raises it to the head the run started from (never lowers it: a service
    // feeding the target meanwhile may be further).
    ChangeBatch end;
    end.through = r.head_seq;
    OMNI_RETURN_IF_ERROR(backend->apply(end));
    r.watermark_set = true;
  }
  return r;
}

nlohmann::ordered_json to_json(const ReplaySinkReport& r) {
  nlohmann::ordered_json j;
  j["dry_run"] = r.dry_run;
  j["from_seq"] = r.from_seq;
  j["head_seq"] = r.head_seq;
  j["events"] = r.events;
  j["changes"] = r.changes;
  j["bytes"] = r.bytes;
  j["batches"] = r.batches;
  j["watermark_set"] = r.watermark_set;
  return j;
}

std::string to_text(const ReplaySinkReport& r, const std::string& backend_name) {
  std::string s = r.dry_run ? "dry run: would send " : "sent ";
  s += std::to_string(r.changes) + " changes (" + std::to_string(r.bytes) + " bytes, " + std::to_string(r.batches) +
       " batches) from " + std::to_string(r.events) + " events, seq " + std::to_string(r.from_seq) + " to " +
       std::to_string(r.head_seq) + (r.dry_run ? " to '" : " into '") + backend_name + "'\n";
  if (r.watermark_set) s += "watermark: " + std::to_string(r.head_seq) + "\n";
  return s;
}

}  // namespace omni::tools
