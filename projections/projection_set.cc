#include "omni/projections/projection_set.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <thread>

#include "omni/log/rocks_status.h"
#include "omni/projections/bulk_loader.h"

namespace omni::projections {

std::vector<std::string> column_families() {
  std::vector<std::string> out;
  for (std::string_view cf : {kStateCf, kKeyIndexCf, kRelFwdCf, kRelRevCf, kVersionsCf, kPolicyCf}) {
    out.emplace_back(cf);
  }
  return out;
}

namespace {
Result<std::optional<Seq>> read_seq(const log::EventLog& log, rocksdb::ColumnFamilyHandle* cf,
                                    const std::string& key) {
  std::string v;
  rocksdb::Status s = log.db()->Get(rocksdb::ReadOptions(), cf, key, &v);
  if (s.IsNotFound()) return std::optional<Seq>();
  if (!s.ok()) return log::from_rocks(s, "reading '" + key + "'");
  if (v.size() != 8) return Status::corruption("'" + key + "' is malformed");
  return std::optional<Seq>(log::EventLog::decode_seq_key(v));
}

std::string suffix_of(Seq generation) { return generation == 0 ? "" : "@" + std::to_string(generation); }
}  // namespace

ProjectionSet::ProjectionSet(log::EventLog& log) : log_(log), meta_(log.column_family(log::kMetaCf)) {
  // An unreadable generation row is found again (and reported) by catch_up().
  Result<std::optional<Seq>> g = read_seq(log_, meta_, generation_key());
  const Seq number = g.ok() ? g->value_or(0) : 0;
  if (number != 0) {
    // The live generation's families exist (the swap created them before it
    // recorded the row); make sure, so a handle is never null.
    for (const std::string& base : column_families()) {
      const std::string name = base + suffix_of(number);
      if (log_.column_family(name) == nullptr && log_.create_column_family(name).ok()) created_.push_back(name);
    }
  }
  generations_.push_back(make_generation(number));
  live_.store(generations_.back().get(), std::memory_order_release);
}

std::unique_ptr<ProjectionSet::Generation> ProjectionSet::make_generation(Seq number) {
  auto g = std::make_unique<Generation>();
  g->number = number;
  g->suffix = suffix_of(number);
  g->state = std::make_unique<StateProjection>(log_, g->suffix);
  g->audit = std::make_unique<AuditIndex>(log_, g->suffix);
  g->all.push_back(g->state.get());
  for (const Factory& f : factories_) {
    if (!f) return nullptr;  // an instance added directly cannot be made again
    g->added.push_back(f(log_, g->suffix));
    g->all.push_back(g->added.back().get());
  }
  g->all.push_back(g->audit.get());
  return g;
}

std::size_t ProjectionSet::add(Factory make) {
  Generation* g = live();
  g->added.push_back(make(log_, g->suffix));
  // Before the audit index: a projection that refuses a request must do so before
  // one that cannot refuse has put it in its overlay.
  g->all.insert(g->all.end() - 1, g->added.back().get());
  factories_.push_back(std::move(make));
  return factories_.size() - 1;
}

std::size_t ProjectionSet::add(std::unique_ptr<DurableProjection> p) {
  Generation* g = live();
  g->all.insert(g->all.end() - 1, p.get());
  g->added.push_back(std::move(p));
  factories_.push_back(nullptr);
  return factories_.size() - 1;
}

void ProjectionSet::add_view(View& v) { views_.push_back(&v); }

std::string ProjectionSet::checkpoint_key() { return "checkpoint"; }

std::string ProjectionSet::checkpoint_key(std::string_view projection) {
  return "checkpoint/" + std::string(projection);
}

Status ProjectionSet::expand(log::AppendRequest& req) {
  for (DurableProjection* p : live()->all) OMNI_RETURN_IF_ERROR(p->expand(req));
  return Status();
}

Status ProjectionSet::stage(log::AppendRequest& req, Seq first_seq, rocksdb::WriteBatch* batch) {
  for (DurableProjection* p : live()->all) OMNI_RETURN_IF_ERROR(p->stage(req, first_seq, batch));
  for (View* v : views_) v->staging(req, first_seq);
  return Status();
}

void ProjectionSet::before_write(Seq last_seq, rocksdb::WriteBatch* batch) {
  // Not every group: one more column-family insert per write cost 10 % of no-sync
  // throughput (0.56 -> 0.50 of a raw Put). Every kCheckpointEvery events, and at
  // close (save_checkpoint), is enough: after a crash catch_up() re-applies at most
  // that many events, and applying an event twice leaves the same rows.
  if (last_seq < checkpointed_ + kCheckpointEvery) return;
  batch->Put(meta_, checkpoint_key(), log::EventLog::seq_key(last_seq));
  checkpointed_ = last_seq;  // a failed write only makes the next one come sooner
}

Status ProjectionSet::save_checkpoint() {
  const Seq head = log_.head_seq();
  rocksdb::Status s =
      log_.db()->Put(rocksdb::WriteOptions(), meta_, checkpoint_key(), log::EventLog::seq_key(head));
  if (!s.ok()) return log::from_rocks(s, "recording the projections' checkpoint");
  return Status();
}

void ProjectionSet::finish_group(bool committed) {
  for (DurableProjection* p : live()->all) p->finish_group(committed);
  for (View* v : views_) v->finish_group(committed);
}


Result<Seq> ProjectionSet::replay(const std::vector<DurableProjection*>& targets, Seq from, Seq to,
                                  bool checkpoints, const Progress& progress) {
  Seq next = from;
  while (next <= to) {
    OMNI_ASSIGN_OR_RETURN(log::EventBatch b, log_.read_from(next, {.max_events = 4096}));
    if (b.events.empty()) break;
    rocksdb::WriteBatch batch;
    for (const log::Event& e : b.events) {
      if (e.seq > to) break;
      for (DurableProjection* p : targets) OMNI_RETURN_IF_ERROR(p->apply(e, &batch));
      next = e.seq + 1;
    }
    // Each target's own row records how far it got, so an interrupted catch-up
    // resumes instead of starting over. (A rebuild's targets are not live: their
    // rows are written at the swap.)
    if (checkpoints) {
      for (DurableProjection* p : targets) {
        batch.Put(meta_, checkpoint_key(p->name()), log::EventLog::seq_key(next - 1));
      }
    }
    rocksdb::Status s = log_.db()->Write(rocksdb::WriteOptions(), &batch);
    if (!s.ok()) return log::from_rocks(s, "replaying the log into the projections");
    if (progress) progress(next - 1, to, false);
  }
  return next - 1;
}

Result<Seq> ProjectionSet::bulk_replay(const Generation& g, Seq to, const Progress& progress) {
  std::vector<rocksdb::ColumnFamilyHandle*> families;
  for (const std::string& base : column_families()) families.push_back(log_.column_family(base + g.suffix));
  BulkLoader loader(log_, families, /*expected_rows=*/to);
  std::vector<DurableProjection*> bulk, direct;
  for (DurableProjection* p : g.all) (p->bulk_loadable() ? bulk : direct).push_back(p);

  // Two threads: this one reads and decodes the log (the larger half of the work);
  // an applier runs the projections over the decoded events, in seq order.
  // Decoded events travel in a few reused slots, so the strings keep their capacity.
  struct Slot {
    std::vector<log::Event> events = std::vector<log::Event>(1024);
    std::size_t size = 0;
  };
  std::vector<Slot> slots(4);
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Slot*> full, free;  // guarded by mu
  for (Slot& slot : slots) free.push_back(&slot);
  bool read_all = false;   // guarded by mu
  bool stopped = false;    // guarded by mu: the applier failed (apply_error)
  Status apply_error;      // written by the applier before it sets stopped
  std::atomic<Seq> applied{0};

  std::thread applier([&] {
    rocksdb::WriteBatch written;
    auto fail = [&](Status st) {
      std::lock_guard l(mu);
      apply_error = std::move(st);
      stopped = true;
      cv.notify_all();
    };
    for (;;) {
      Slot* slot;
      {
        std::unique_lock l(mu);
        cv.wait(l, [&] { return !full.empty() || read_all; });
        if (full.empty()) break;
        slot = full.front();
        full.pop_front();
      }
      for (std::size_t i = 0; i < slot->size; ++i) {
        const log::Event& e = slot->events[i];
        Status st;
        for (DurableProjection* p : bulk) {
          if (st.ok()) st = p->apply_rows(e, loader);
        }
        for (DurableProjection* p : direct) {
          if (st.ok()) st = p->apply(e, &written);
        }
        if (!st.ok()) return fail(std::move(st));
      }
      if (written.Count() > 0) {
        rocksdb::Status ws = log_.db()->Write(rocksdb::WriteOptions(), &written);
        if (!ws.ok()) return fail(log::from_rocks(ws, "replaying the log into the projections"));
        written.Clear();
      }
      if (slot->size > 0) applied.store(slot->events[slot->size - 1].seq, std::memory_order_relaxed);
      std::lock_guard l(mu);
      free.push_back(slot);
      cv.notify_all();
    }
  });

  Slot* filling = nullptr;
  auto hand_over = [&]() -> Status {
    std::unique_lock l(mu);
    if (filling != nullptr) full.push_back(filling);
    filling = nullptr;
    cv.notify_all();
    cv.wait(l, [&] { return !free.empty() || stopped; });
    if (stopped) return Status::internal("the applier stopped");  // its own error is returned
    filling = free.front();
    free.pop_front();
    filling->size = 0;
    return Status();
  };
  // Events are decoded straight into the slots (no copy).
  Status scanned = hand_over();
  const bool payloads = std::any_of(g.all.begin(), g.all.end(), [](DurableProjection* p) { return p->reads_payloads(); });
  log::EventReader reader(log_, 1, to, payloads);
  for (Seq read = 1; scanned.ok(); ++read) {
    if (filling->size == filling->events.size()) {
      scanned = hand_over();
      if (!scanned.ok()) break;
    }
    Result<bool> more = reader.next(&filling->events[filling->size]);
    if (!more.ok()) scanned = more.status();
    if (!more.ok() || !*more) break;
    ++filling->size;
    if (read % 65536 == 0 && progress) progress(applied.load(std::memory_order_relaxed), to, false);
  }
  {
    std::lock_guard l(mu);
    if (filling != nullptr && scanned.ok()) full.push_back(filling);
    read_all = true;
    cv.notify_all();
  }
  applier.join();
  if (stopped) return apply_error;
  OMNI_RETURN_IF_ERROR(scanned);
  OMNI_RETURN_IF_ERROR(loader.finish());
  if (progress) progress(to, to, false);
  return to;
}

Status ProjectionSet::verify_or_rebuild() {
  const Seq head = log_.head_seq();
  if (head == 0) return Status();
  std::vector<log::Event> newest;
  for (Seq next = head > kVerifyWindow ? head - kVerifyWindow + 1 : 1; next <= head;) {
    Result<log::EventBatch> b = log_.read_from(next, {.max_events = kVerifyWindow});
    if (!b.ok() && b.status().code() == StatusCode::kCorruption) {
      // A damaged event is reported when it is read, and the rest of the store is
      // served; but without it the newest events no longer fix the rows exactly.
      findings_.push_back("projections not verified at open: " + b.status().message());
      return Status();
    }
    if (!b.ok()) return b.status();
    if (b->events.empty()) break;
    next = b->next;
    for (log::Event& e : b->events) newest.push_back(std::move(e));
  }
  for (DurableProjection* p : live()->all) {
    Status v = p->verify(newest);
    if (v.ok()) continue;
    if (v.code() != StatusCode::kCorruption) return v;
    rocksdb::WriteBatch clear;
    p->clear(&clear);
    rocksdb::Status s = log_.db()->Write(rocksdb::WriteOptions(), &clear);
    if (!s.ok()) return log::from_rocks(s, "clearing projection '" + std::string(p->name()) + "'");
    OMNI_RETURN_IF_ERROR(replay({p}, 1, head).status());
    if (Status again = p->verify(newest); !again.ok()) {
      return Status::corruption("projection '" + std::string(p->name()) +
                                "' still disagrees with the log after a rebuild: " + again.message());
    }
    findings_.push_back("projection '" + std::string(p->name()) + "' did not match the log (" +
                       v.message() + "); rebuilt from the log's " + std::to_string(head) + " event(s)");
  }
  return Status();
}

Status ProjectionSet::catch_up() {
  const Seq head = log_.head_seq();
  OMNI_ASSIGN_OR_RETURN(const std::optional<Seq> shared, read_seq(log_, meta_, checkpoint_key()));
  // The shared checkpoint trails the head by up to kCheckpointEvery events after a
  // crash (before_write); those are re-applied below.
  if (shared && *shared > head) {
    return Status::corruption("the projections hold events up to seq " + std::to_string(*shared) +
                              " but the log ends at seq " + std::to_string(head) +
                              ": the log lost events (refusing to serve projections it cannot back)");
  }
  // The shared checkpoint stands for every projection that joined; a projection
  // without a row of its own is new (or the store predates checkpoints) and starts
  // from its own row, or from the beginning.
  for (DurableProjection* p : live()->all) {
    OMNI_ASSIGN_OR_RETURN(const std::optional<Seq> own, read_seq(log_, meta_, checkpoint_key(p->name())));
    Seq at = 0;
    if (own) at = std::max(*own, shared.value_or(0));
    // A family open had to create (it was dropped behind the store's back) holds
    // none of the rows its checkpoint vouches for: the projection starts over.
    if (lost_family(p->name())) {
      if (own && head > 0) {
        findings_.push_back("projection '" + std::string(p->name()) +
                            "' lost its column family; rebuilt from the log's " + std::to_string(head) +
                            " event(s)");
      }
      rocksdb::WriteBatch clear;
      p->clear(&clear);  // the sibling family of a pair may still hold rows
      rocksdb::Status cs = log_.db()->Write(rocksdb::WriteOptions(), &clear);
      if (!cs.ok()) return log::from_rocks(cs, "clearing projection '" + std::string(p->name()) + "'");
      at = 0;
    }
    // A projection's own row can pass the shared one only by its join; never the head.
    if (at > head) {
      return Status::corruption("projection '" + std::string(p->name()) + "' is at seq " +
                                std::to_string(at) + " but the log ends at seq " + std::to_string(head));
    }
    if (at < head) OMNI_RETURN_IF_ERROR(replay({p}, at + 1, head).status());
    if (!own) {  // joins now (replay() wrote the row if it replayed anything)
      rocksdb::Status s = log_.db()->Put(rocksdb::WriteOptions(), meta_, checkpoint_key(p->name()),
                                         log::EventLog::seq_key(head));
      if (!s.ok()) return log::from_rocks(s, "recording a projection's checkpoint");
    }
  }
  OMNI_RETURN_IF_ERROR(verify_or_rebuild());
  OMNI_RETURN_IF_ERROR(drop_other_generations());
  if (!log_.read_only()) BulkLoader::remove_leftovers(log_);  // of a rebuild a crash interrupted
  checkpointed_ = head;
  OMNI_RETURN_IF_ERROR(save_checkpoint());
  for (View* v : views_) OMNI_RETURN_IF_ERROR(v->load(log_));
  return Status();
}

bool ProjectionSet::lost_family(std::string_view projection) const {
  // Which families each projection keeps (its name() -> base family names).
  static const std::vector<std::pair<std::string_view, std::string_view>> kFamilies = {
      {kStateCf, kStateCf},           {kKeyIndexCf, kKeyIndexCf}, {"relationships", kRelFwdCf},
      {"relationships", kRelRevCf},   {kVersionsCf, kVersionsCf}, {kPolicyCf, kPolicyCf}};
  const std::vector<std::string>& created = log_.created_at_open();
  for (const auto& [name, base] : kFamilies) {
    if (name != projection) continue;
    const std::string family = std::string(base) + live()->suffix;
    if (std::find(created.begin(), created.end(), family) != created.end()) return true;
    if (std::find(created_.begin(), created_.end(), family) != created_.end()) return true;
  }
  return false;
}

Status ProjectionSet::drop_other_generations(bool first_too) {
  const std::string live_suffix = live()->suffix;
  std::vector<std::string> drop;
  for (const std::string& name : log_.column_family_names()) {
    for (const std::string& base : column_families()) {
      // The first generation's families are opened (empty) by every open, so they
      // are dropped only right after a swap away from them.
      if (first_too && name == base && !live_suffix.empty()) drop.push_back(name);
      if (name.size() <= base.size() || name.compare(0, base.size(), base) != 0 || name[base.size()] != '@') {
        continue;
      }
      if (name.substr(base.size()) != live_suffix) drop.push_back(name);
    }
  }
  return log_.drop_column_families(drop);
}

Status ProjectionSet::rebuild(const Progress& progress) {
  std::unique_lock lock(rebuild_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return Status::conflict("a rebuild of the projections is already running");
  Generation* old = live();
  const Seq number = old->number + 1;
  const std::string suffix = suffix_of(number);
  // Fresh families: one an interrupted rebuild left behind is emptied first.
  std::vector<std::string> fresh_names;
  for (const std::string& base : column_families()) fresh_names.push_back(base + suffix);
  OMNI_RETURN_IF_ERROR(log_.drop_column_families(fresh_names));
  OMNI_RETURN_IF_ERROR(log_.create_column_families(fresh_names));
  std::unique_ptr<Generation> next = make_generation(number);
  if (!next) {
    return Status::invalid_argument("a projection was added as an instance, not a factory: it cannot be rebuilt");
  }
  // The bulk of the log, while writers go on against the live generation.
  Seq applied = 0;
  Seq target = log_.head_seq();
  if (target > 0) {
    OMNI_ASSIGN_OR_RETURN(applied, bulk_replay(*next, target, progress));
  }
  // Catch up until little is left, so the exclusive step below is short.
  while (log_.head_seq() > applied + kCheckpointEvery) {
    target = log_.head_seq();
    OMNI_ASSIGN_OR_RETURN(applied, replay(next->all, applied + 1, target, false, progress));
  }
  Generation* fresh = next.get();
  Status swapped = log_.exclusive([&]() -> Status {
    // No group is in flight: the head and the live generation stand still.
    const Seq head = log_.head_seq();
    if (applied < head) {
      OMNI_ASSIGN_OR_RETURN(applied, replay(fresh->all, applied + 1, head, false));
    }
    rocksdb::WriteBatch batch;
    batch.Put(meta_, generation_key(), log::EventLog::seq_key(number));
    batch.Put(meta_, checkpoint_key(), log::EventLog::seq_key(head));
    for (DurableProjection* p : fresh->all) batch.Put(meta_, checkpoint_key(p->name()), log::EventLog::seq_key(head));
    rocksdb::WriteOptions wo;
    wo.sync = true;  // the swap is durable before the old families go
    rocksdb::Status s = log_.db()->Write(wo, &batch);
    if (!s.ok()) return log::from_rocks(s, "recording the rebuilt generation");
    for (std::size_t i = 0; i < fresh->all.size(); ++i) fresh->all[i]->inherit(*old->all[i]);
    checkpointed_ = head;
    generations_.push_back(std::move(next));
    live_.store(fresh, std::memory_order_release);
    return Status();
  });
  if (!swapped.ok()) {
    (void)log_.drop_column_families(fresh_names);
    return swapped;
  }
  if (progress) progress(applied, applied, true);
  // The old generation's rows go only now; readers holding its handles still read
  // them until close.
  return drop_other_generations(/*first_too=*/true);
}

}  // namespace omni::projections
