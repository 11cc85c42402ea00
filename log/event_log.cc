#include "omni/log/event_log.h"

#include <rocksdb/options.h>

#include <algorithm>
#include <chrono>

namespace omni::log {
namespace {

constexpr std::string_view kEventsCf = "events";

Status from_rocks(const rocksdb::Status& s, std::string_view what) {
  std::string m = std::string(what) + ": " + s.ToString();
  if (s.IsCorruption()) return Status::corruption(std::move(m));
  if (s.IsNotFound()) return Status::not_found(std::move(m));
  return Status::io_error(std::move(m));
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct EventLog::Writer {
  AppendRequest* req;
  Status status;
  bool done = false;
  std::condition_variable cv;
  std::size_t bytes = 0;
};

std::string EventLog::seq_key(Seq seq) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i) {
    k[i] = static_cast<char>(seq & 0xff);
    seq >>= 8;
  }
  return k;
}

Seq EventLog::decode_seq_key(std::string_view key) {
  Seq v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint8_t>(key[i]);
  return v;
}

Result<std::unique_ptr<EventLog>> EventLog::open(EventLogOptions options) {
  rocksdb::DBOptions dbo;
  dbo.create_if_missing = true;
  dbo.create_missing_column_families = true;
  // A torn or corrupt WAL tail (crash mid-write) is dropped; everything before it
  // is recovered. Acknowledged sync writes are never in a torn tail.
  dbo.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  dbo.IncreaseParallelism(2);

  rocksdb::ColumnFamilyOptions cfo;
  cfo.write_buffer_size = options.write_buffer_size;

  std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName, std::string(kEventsCf)};
  for (const auto& n : options.extra_column_families) {
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const auto& n : names) descs.emplace_back(n, cfo);

  std::unique_ptr<EventLog> log(new EventLog());
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(dbo, options.path, descs, &log->handles_, &raw);
  if (!s.ok()) return from_rocks(s, "opening the log at '" + options.path + "'");
  log->db_.reset(raw);
  log->handle_names_ = names;
  log->events_cf_ = log->handles_[1];
  log->max_group_bytes_ = options.max_group_bytes;

  // The head is derived from the newest event rather than stored separately: the
  // seq is its key, the hash is the SHA-256 of its bytes. One row less per group,
  // and nothing that could disagree with the log.
  std::unique_ptr<rocksdb::Iterator> it(log->db_->NewIterator(rocksdb::ReadOptions(),
                                                             log->events_cf_));
  it->SeekToLast();
  if (!it->status().ok()) return from_rocks(it->status(), "reading the newest event");
  if (it->Valid()) {
    if (it->key().size() != 8) {
      return Status::corruption("newest event key has " + std::to_string(it->key().size()) +
                                " bytes, expected 8");
    }
    log->head_seq_.store(decode_seq_key(it->key().ToStringView()));
    log->head_hash_ = sha256(it->value().ToStringView());
  }
  return log;
}

EventLog::~EventLog() {
  if (db_) {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close().PermitUncheckedError();
  }
}

rocksdb::ColumnFamilyHandle* EventLog::column_family(std::string_view name) const {
  for (std::size_t i = 0; i < handle_names_.size(); ++i) {
    if (handle_names_[i] == name) return handles_[i];
  }
  return nullptr;
}

Hash EventLog::head_hash() const {
  std::lock_guard l(mu_);
  return head_hash_;
}

Status EventLog::append(AppendRequest* req) {
  if (req->events.empty()) return Status::invalid_argument("append of an empty request");
  Writer w;
  w.req = req;
  for (const auto& e : req->events) w.bytes += e.key.size() + e.payload.size() + 128;

  std::unique_lock l(mu_);
  writers_.push_back(&w);
  while (!w.done && &w != writers_.front()) w.cv.wait(l);
  if (w.done) return w.status;

  // We lead. Take a group: everyone queued behind us, up to max_group_bytes, and no
  // sync writer when we are not syncing.
  std::vector<Writer*> group;
  std::size_t bytes = 0;
  for (Writer* x : writers_) {
    if (!group.empty()) {
      if (x->req->sync && !w.req->sync) break;
      if (bytes + x->bytes > max_group_bytes_) break;
    }
    group.push_back(x);
    bytes += x->bytes;
  }
  l.unlock();

  // Only the front writer runs this, so the head and the projector are ours.
  Status group_status = write_group(group);

  l.lock();
  for (Writer* x : group) {
    writers_.pop_front();
    if (x != &w) {
      if (!group_status.ok() && x->status.ok()) x->status = group_status;
      x->done = true;
      x->cv.notify_one();
    }
  }
  if (!writers_.empty()) writers_.front()->cv.notify_one();
  committed_cv_.notify_all();
  if (!group_status.ok() && w.status.ok()) w.status = group_status;
  return w.status;
}

Status EventLog::write_group(std::vector<Writer*>& group) {
  rocksdb::WriteBatch batch;
  Seq seq = head_seq_.load(std::memory_order_relaxed);
  Hash hash;
  {
    std::lock_guard l(mu_);
    hash = head_hash_;
  }
  const std::int64_t ts = now_ns();
  bool sync = false;
  bool any = false;
  std::string encoded;
  encoded.reserve(512);

  for (Writer* w : group) {
    AppendRequest& req = *w->req;
    const Seq first = seq + 1;
    const Hash hash_before = hash;
    batch.SetSavePoint();
    for (std::size_t i = 0; i < req.events.size(); ++i) {
      const EventDraft& d = req.events[i];
      EventView v{first + i, ts, d.type, req.identity, d.key, d.payload, &hash};
      encode_event(v, &encoded);
      batch.Put(events_cf_, seq_key(first + i), encoded);
      hash = sha256(encoded);
    }
    Status st = projector_ ? projector_->stage(req, first, &batch) : Status();
    if (!st.ok()) {
      batch.RollbackToSavePoint().PermitUncheckedError();
      hash = hash_before;
      w->status = st;
      continue;
    }
    batch.PopSavePoint().PermitUncheckedError();
    seq = first + req.events.size() - 1;
    req.first_seq = first;
    req.timestamp_ns = ts;
    sync = sync || req.sync;
    any = true;
  }
  if (!any) {
    if (projector_) projector_->finish_group(false);
    return Status();  // every writer failed its own precondition
  }

  rocksdb::WriteOptions wo;
  wo.sync = sync;
  rocksdb::Status s = db_->Write(wo, &batch);
  groups_.fetch_add(1, std::memory_order_relaxed);
  if (projector_) projector_->finish_group(s.ok());
  if (!s.ok()) {
    for (Writer* w : group) {
      if (w->status.ok()) w->req->first_seq = 0;
    }
    return from_rocks(s, "writing a group of " + std::to_string(group.size()) + " writer(s)");
  }
  {
    std::lock_guard l(mu_);
    head_hash_ = hash;
  }
  head_seq_.store(seq, std::memory_order_release);
  return Status();
}

Result<Event> EventLog::read(Seq seq) const {
  rocksdb::PinnableSlice v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), events_cf_, seq_key(seq), &v);
  if (s.IsNotFound()) return Status::not_found("no event with seq " + std::to_string(seq));
  if (!s.ok()) return from_rocks(s, "reading event seq " + std::to_string(seq));
  return decode_event(v.ToStringView(), seq);
}

Status EventLog::scan(Seq from, const std::function<bool(const Event&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_cf_));
  for (it->Seek(seq_key(from)); it->Valid(); it->Next()) {
    if (it->key().size() != 8) {
      return Status::corruption("event key of " + std::to_string(it->key().size()) + " bytes");
    }
    Result<Event> e = decode_event(it->value().ToStringView(), decode_seq_key(it->key().ToStringView()));
    if (!e.ok()) return e.status();
    if (!fn(*e)) return Status();
  }
  if (!it->status().ok()) return from_rocks(it->status(), "scanning the log");
  return Status();
}

Status EventLog::wait_for(Seq seq, std::chrono::nanoseconds timeout) const {
  std::unique_lock l(mu_);
  if (committed_cv_.wait_for(l, timeout, [&] { return head_seq() >= seq; })) return Status();
  return Status::timed_out("seq " + std::to_string(seq) + " not committed within " +
                           std::to_string(timeout.count() / 1000000) + " ms (head is " +
                           std::to_string(head_seq()) + ")");
}

Result<ChainCheck> EventLog::verify_chain() const {
  ChainCheck c;
  Hash prev{};
  Seq expect = 1;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_cf_));
  auto fail = [&](Seq at, std::string problem) {
    c.first_bad_seq = at;
    c.problem = std::move(problem);
    return c;
  };
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const Seq seq = it->key().size() == 8 ? decode_seq_key(it->key().ToStringView()) : 0;
    if (seq != expect) {
      return fail(expect, "expected seq " + std::to_string(expect) + ", found " +
                              (seq == 0 ? std::string("a malformed key") : std::to_string(seq)));
    }
    std::string_view bytes = it->value().ToStringView();
    Result<Event> e = decode_event(bytes, seq);
    if (!e.ok()) return fail(seq, e.status().message());
    if (e->prev_hash != prev) {
      return fail(seq, "prev_hash " + to_hex(e->prev_hash) + " does not match the hash of seq " +
                           std::to_string(seq - 1) + " (" + to_hex(prev) + ")");
    }
    prev = sha256(bytes);
    ++c.events_checked;
    ++expect;
  }
  if (!it->status().ok()) return from_rocks(it->status(), "verifying the log");
  c.head_hash = prev;
  if (c.events_checked != head_seq()) {
    return fail(expect, "the log ends at seq " + std::to_string(c.events_checked) +
                            " but its head is seq " + std::to_string(head_seq()));
  }
  return c;
}

}  // namespace omni::log
