// RedisBackend: options checked at create(); every call takes a pooled connection
// (redis_pool.h) and, when that connection turns out to have died while idle,
// runs once more on a fresh one: every call here is idempotent (apply by design),
// so a server restart costs no error.
#include "omni/redis_backend.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <deque>
#include <iterator>
#include <mutex>
#include <utility>

#include "redis_apply_script.h"
#include "redis_errors.h"
#include "redis_in_order.h"
#include "redis_layout.h"
#include "redis_pool.h"
#include "redis_script_call.h"

namespace omni {

using sinks::redis::Argv;
using sinks::redis::ChangeEncoder;
using sinks::redis::Connection;
using sinks::redis::Endpoint;
using sinks::redis::Layout;
using sinks::redis::Pool;
using sinks::redis::Reply;
using sinks::redis::reply_text;
using sinks::redis::ScriptCall;

namespace {

// Script calls are split at whichever comes first. One call blocks the (single
// threaded) server while it runs: 1,000 stores take about 2 ms (bench/redis_bench),
// and more per call gains nothing measurable.
constexpr std::size_t kMaxChangesPerCall = 1000;
constexpr std::size_t kMaxBytesPerCall = 4 << 20;
// An in-order block (up to the same limits) is planned and sent in chunks of
// this many changes, so the client plans one while Redis applies the one before:
// a block planned whole left Redis idle for a third of the time (bench/README.md).
constexpr std::size_t kInOrderChunk = 250;

Status check_options(const RedisOptions& o) {
  if (o.max_connections < 1 || o.max_connections > 256) {
    return Status::invalid_argument("redis: max_connections is " + std::to_string(o.max_connections) +
                                    "; it must be 1..256");
  }
  if (o.connect_timeout.count() <= 0) {
    return Status::invalid_argument("redis: connect_timeout must be > 0 (it is " +
                                    std::to_string(o.connect_timeout.count()) + " ms)");
  }
  if (o.command_timeout.count() <= 0) {
    return Status::invalid_argument("redis: command_timeout must be > 0 (it is " +
                                    std::to_string(o.command_timeout.count()) + " ms)");
  }
  if (o.in_order_min_changes < 1) {
    return Status::invalid_argument("redis: in_order_min_changes must be >= 1");
  }
  if (o.version_ttl.count() < 0) {
    return Status::invalid_argument("redis: version_ttl must be >= 0 (it is " +
                                    std::to_string(o.version_ttl.count()) + " s)");
  }
  return Status();
}

}  // namespace

struct RedisBackend::Impl {
  Impl(Endpoint endpoint, const RedisOptions& o)
      : layout(o.key_prefix),
        encoder(layout, o.version_ttl),
        pool(std::move(endpoint), {o.connect_timeout, o.command_timeout}, o.max_connections,
             sinks::redis::kApplyScript),
        applies_key(o.count_applies ? layout.applies() : std::string()),
        where(pool.endpoint().describe()),
        max_scratch(o.max_connections),
        in_order_pipeline(o.in_order_pipeline),
        in_order_min_changes(o.in_order_min_changes),
        known(o.known_field_sets) {}

  // f(Connection&) -> Status on a pooled connection; once more on a fresh one when
  // a reused connection failed in transport (not by timing out).
  template <typename F>
  Status with_connection(F&& f) {
    for (int attempt = 0;; ++attempt) {
      OMNI_ASSIGN_OR_RETURN(Pool::Lease lease, pool.acquire());
      Status s = f(*lease);
      if (s.ok() || !lease->broken() || !lease.reused() || lease->timed_out() || attempt > 0) return s;
      pool.drop_idle();  // its idle siblings died with it, most likely
    }
  }

  // What one EVALSHA of the apply script is told (redis_apply_script.h's ARGV).
  struct Target {
    std::string_view wkey;     // "": leave the watermark alone (store_data/delete_data)
    std::string_view through;  // "": do not move it
    bool reseed = false;
    std::string_view expect;   // "": no check; "-": none; else the decimal it must be
  };
  // Runs `call`; *after (when not null) receives the watermark after it ("": none).
  Status run(const ScriptCall& call, const Target& t, std::string* after = nullptr);
  Status run_on(Connection& c, const ScriptCall& call, const Target& t, std::string* after = nullptr);
  Status script_error(const ScriptCall& call, std::string_view text) const;
  // Plans and runs an in-order block (redis_in_order.h) from the batch's change
  // `first`, expecting the watermark `expect` ("-": none). *applied: it applied
  // [first, block.end) and moved the watermark to block.through; false (with an
  // OK status): nothing was sent, because the first document is not a compact
  // object or a key of the first chunk holds something other than a hash, which
  // the script path refuses precisely.
  Status run_in_order(const ChangeBatch& batch, std::size_t first, std::string_view expect,
                      sinks::redis::InOrderBlock& block, bool* applied);
  // The replies to block.reply_change[first_reply, ...): the first refused store's error.
  Status check_stores(const ChangeBatch& batch, const sinks::redis::InOrderBlock& block,
                      const std::vector<Reply>& replies, std::size_t first_reply) const;
  // The script call's keys may now hold something KnownFields does not know of.
  void forget_keys(const ScriptCall& call) {
    for (const ScriptCall::Record& r : call.records) {
      if (r.type == ChangeType::kStore || r.type == ChangeType::kDelete) known.forget(r.key);
    }
  }
  // kNotFound: the watermark is `now`, not `expected` ("-": absent).
  Status watermark_mismatch(std::string_view now, std::string_view expected) const {
    auto text = [](std::string_view w) { return w == "-" ? std::string("absent") : sinks::redis::printable(w); };
    return Status::not_found(where + ": the watermark is " + text(now) + ", not " + text(expected) +
                             " as expected (the target was wiped or lost writes); nothing was applied");
  }
  // A reply of an unexpected type: the server is not behaving as Redis does.
  Status not_redis(Connection& c, std::string_view what) const {
    c.discard();
    return Status::unavailable(where + ": protocol error: unexpected answer to " + std::string(what) +
                               " (is this Redis?)");
  }

  // An empty ScriptCall, with the memory of an earlier batch when one is free:
  // allocating a batch's few hundred KB afresh each time cost as much client time
  // (page faults, copies) as encoding it. Given back by the deleter.
  struct GiveBack {
    Impl* impl;
    void operator()(ScriptCall* call) const { impl->give_back(call); }
  };
  using Scratch = std::unique_ptr<ScriptCall, GiveBack>;
  Scratch scratch_call() {
    std::unique_ptr<ScriptCall> call;
    {
      std::lock_guard lock(scratch_mu);
      if (!scratch.empty()) {
        call = std::move(scratch.back());
        scratch.pop_back();
      }
    }
    if (!call) call = std::make_unique<ScriptCall>();
    return Scratch(call.release(), GiveBack{this});
  }
  void give_back(ScriptCall* raw) {
    std::unique_ptr<ScriptCall> call(raw);
    if (call->body.capacity() > 2 * kMaxBytesPerCall) return;  // one huge document: let it go
    call->body.clear();
    call->records.clear();
    std::lock_guard lock(scratch_mu);
    if (scratch.size() < max_scratch) scratch.push_back(std::move(call));
  }

  const Layout layout;
  const ChangeEncoder encoder;
  Pool pool;
  const std::string applies_key;
  const std::string where;  // "redis 127.0.0.1:6379"
  const std::size_t max_scratch;  // one per connection
  std::mutex scratch_mu;
  std::vector<std::unique_ptr<ScriptCall>> scratch;  // guarded by scratch_mu
  const bool in_order_pipeline;
  const std::size_t in_order_min_changes;
  // Whether Redis may hold stores above its watermark that an in-order batch sent
  // before it failed (or that a crash of Redis kept without the watermark after
  // them; or a process before this one left). While it may, batches go through
  // the script, whose per-key checks apply each change exactly once; the first
  // script call that moves the watermark settles it. False at create(): we do not
  // know how the last process to write this target stopped.
  std::atomic<bool> in_order_trusted{false};
  sinks::redis::KnownFields known;
};

Status RedisBackend::Impl::run(const ScriptCall& call, const Target& t, std::string* after) {
  // The script may have skipped changes: the in-order path asks the fields of
  // these keys again before it trusts them.
  forget_keys(call);
  return with_connection([&](Connection& c) { return run_on(c, call, t, after); });
}

Status RedisBackend::Impl::run_on(Connection& c, const ScriptCall& call, const Target& t, std::string* after) {
  for (bool reloaded = false;; reloaded = true) {
    const Argv head{"EVALSHA",  c.script_sha(), "0",        t.wkey, t.through,
                    t.reseed ? "1" : "0",       applies_key, t.expect};
    OMNI_ASSIGN_OR_RETURN(Reply r, c.call({&head, &call.body}, "applying changes"));
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_INTEGER &&
        r->element[1]->type == REDIS_REPLY_STRING) {
      if (after) after->assign(reply_text(*r->element[1]));
      return Status();
    }
    if (r->type != REDIS_REPLY_ERROR) return not_redis(c, "EVALSHA");
    const std::string_view text = reply_text(*r);
    // The server lost its scripts (SCRIPT FLUSH, a restart behind a proxy): the
    // script did not run, so loading it again and retrying is safe.
    if (!reloaded && sinks::redis::error_code(text) == "NOSCRIPT") {
      OMNI_RETURN_IF_ERROR(c.load_script());
      continue;
    }
    if (text.starts_with("OMNIWM ")) {
      const std::string_view now = text.substr(7);
      return watermark_mismatch(now, t.expect);
    }
    return script_error(call, text);
  }
}

Status RedisBackend::Impl::script_error(const ScriptCall& call, std::string_view text) const {
  using sinks::redis::is_transient_error;
  using sinks::redis::printable;
  // "OMNI <i> <error>": the script refused record i (0: the batch's own keys) and
  // wrote nothing.
  if (text.starts_with("OMNI ")) {
    std::size_t i = 0;
    const char* begin = text.data() + 5;
    auto [end, ec] = std::from_chars(begin, text.data() + text.size(), i);
    if (ec == std::errc() && end < text.data() + text.size() && i <= call.records.size()) {
      const std::string_view error = text.substr(static_cast<std::size_t>(end - text.data()) + 1);
      if (i == 0) {
        // The watermark or the counter key is in the way: nothing wrong with any
        // change, so not a reason to dead-letter them.
        return Status::unavailable(where + ": the batch is refused: " + printable(error));
      }
      std::string m = where + ": " + call.describe(i) + " refused: " + printable(error);
      if (is_transient_error(error)) return Status::unavailable(std::move(m));
      return Status::backend(std::move(m));
    }
  }
  return sinks::redis::reply_error(where, "the apply script failed", text);
}

Status RedisBackend::Impl::check_stores(const ChangeBatch& batch, const sinks::redis::InOrderBlock& block,
                                        const std::vector<Reply>& replies, std::size_t first_reply) const {
  using sinks::redis::printable;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    const redisReply* bad = replies[i].get();
    if (bad->type == REDIS_REPLY_ARRAY) {  // an EXEC: its commands' replies
      bad = nullptr;
      for (std::size_t e = 0; e < replies[i]->elements && !bad; ++e) {
        if (replies[i]->element[e]->type == REDIS_REPLY_ERROR) bad = replies[i]->element[e];
      }
      if (!bad) continue;
    }
    if (bad->type != REDIS_REPLY_ERROR) continue;
    const std::string text(reply_text(*bad));
    const Change& ch = batch.changes[block.reply_change[first_reply + i]];
    std::string m = where + ": change seq " + std::to_string(ch.seq) + " (store of '" + printable(ch.key) +
                    "') refused: " + printable(text);
    if (sinks::redis::is_transient_error(text)) return Status::unavailable(std::move(m));
    return Status::backend(std::move(m));
  }
  return Status();
}

Status RedisBackend::Impl::run_in_order(const ChangeBatch& batch, std::size_t first, std::string_view expect,
                                        sinks::redis::InOrderBlock& block, bool* applied) {
  using sinks::redis::InOrderBlock;
  using sinks::redis::Resp;
  *applied = false;
  sinks::redis::start_in_order(first, &block);
  // The block's chunks, as the ends of their stores and of their unknown keys
  // (block.stores / block.unknown).
  struct Chunk {
    std::size_t stores_end, unknown_end;
  };
  std::vector<Chunk> chunks;
  bool more = true;  // the block may take another chunk
  auto plan_chunk = [&]() -> bool {
    const std::size_t planned = block.end - block.first;
    more = planned < kMaxChangesPerCall &&
           sinks::redis::plan_in_order(layout, known, batch, std::min(kInOrderChunk, kMaxChangesPerCall - planned),
                                       kMaxBytesPerCall, &block) > 0;
    if (more) chunks.push_back({block.stores.size(), block.unknown.size()});
    return more;
  };
  if (!plan_chunk()) return Status();  // not a compact object: the script path reports it
  const std::string wkey = layout.watermark();
  bool clash = false;  // a key of the first chunk is not a hash: nothing was sent
  bool sent = false;   // stores went out: a retry on a fresh connection must not send them again
  Status s = with_connection([&](Connection& c) -> Status {
    if (sent) return Status::unavailable(where + ": the connection failed while a batch was being applied");
    // Replies still to be read, in order: a chunk's stores (`count` replies from
    // block.reply_change[first]) or the HKEYS of block.unknown[first, first + count).
    struct Pending {
      bool stores;
      std::size_t first, count;
    };
    std::deque<Pending> pending;
    // Whatever ends the block early (a refused store, a watermark not expected),
    // the connection goes back to the pool with no reply left unread.
    struct Drain {
      Connection& c;
      std::deque<Pending>& pending;
      ~Drain() {
        for (; !pending.empty() && !c.broken(); pending.pop_front()) {
          c.receive(pending.front().count, "applying changes").status().ok();
        }
      }
    } drain{c, pending};
    std::vector<Reply> held;  // the HKEYS replies, which existing[u] views into
    std::vector<std::vector<std::string_view>> existing;
    std::size_t fields_known = 0;  // block.unknown[0, fields_known) are in existing
    // The fields Redis holds of block.unknown[from, from + r.size()); when one is
    // not a hash (WRONGTYPE), the block ends before its chunk, which the next call
    // sends through the script (refusing it precisely, naming the change).
    auto take_fields = [&](std::size_t from, std::vector<Reply>&& r) -> Status {
      existing.resize(block.unknown.size());
      for (std::size_t i = 0; i < r.size(); ++i) {
        const redisReply& h = *r[i];
        if (h.type == REDIS_REPLY_ERROR) {
          if (sinks::redis::error_code(reply_text(h)) != "WRONGTYPE") {
            return sinks::redis::reply_error(where, "HKEYS", reply_text(h));
          }
          std::size_t j = 0;
          while (chunks[j].unknown_end <= from + i) ++j;
          sinks::redis::truncate_in_order(batch, j == 0 ? 0 : chunks[j - 1].stores_end, &block);
          chunks.resize(j);
          more = false;
          break;
        }
        if (h.type != REDIS_REPLY_ARRAY) return not_redis(c, "HKEYS");
        for (std::size_t f = 0; f < h.elements; ++f) {
          if (h.element[f]->type != REDIS_REPLY_STRING) return not_redis(c, "HKEYS");
          existing[from + i].push_back(reply_text(*h.element[f]));
        }
      }
      fields_known = std::min(block.unknown.size(), from + r.size());  // less when cut off
      std::move(r.begin(), r.end(), std::back_inserter(held));
      return Status();
    };
    auto ask_fields = [&](std::size_t from, Resp* ask) {
      for (std::size_t u = from; u < block.unknown.size(); ++u) {
        ask->command(2);
        ask->arg("HKEYS");
        const InOrderBlock::Store& st = block.stores[block.unknown[u]];
        ask->arg(st.head, st.key);
      }
    };
    // HKEYS of block.unknown[asked, ...), whose replies come after what was sent before.
    auto ask_new = [&](std::size_t asked) -> Status {
      if (block.unknown.size() == asked) return Status();
      Resp ask;
      ask_fields(asked, &ask);
      OMNI_RETURN_IF_ERROR(c.send(ask, "reading the fields of hashes"));
      pending.push_back({false, asked, block.unknown.size() - asked});
      return Status();
    };
    // 1. The watermark and the fields of the hashes planned so far we do not
    // know; the second chunk is planned while Redis answers.
    const std::size_t asked = block.unknown.size();
    {
      Resp ask;
      ask.command(2);
      ask.arg("GET");
      ask.arg(wkey);
      ask_fields(0, &ask);
      OMNI_RETURN_IF_ERROR(c.send(ask, "reading the watermark"));
    }
    if (more && chunks.size() == 1 && plan_chunk()) OMNI_RETURN_IF_ERROR(ask_new(asked));
    {
      OMNI_ASSIGN_OR_RETURN(std::vector<Reply> head, c.receive(1 + asked, "reading the watermark"));
      const redisReply& wm = *head[0];
      if (wm.type == REDIS_REPLY_ERROR) return sinks::redis::reply_error(where, "GET the watermark", reply_text(wm));
      if (wm.type != REDIS_REPLY_NIL && wm.type != REDIS_REPLY_STRING) return not_redis(c, "GET");
      const std::string now = wm.type == REDIS_REPLY_NIL ? std::string("-") : std::string(reply_text(wm));
      if (now != expect) return watermark_mismatch(now, expect);
      head.erase(head.begin());
      OMNI_RETURN_IF_ERROR(take_fields(0, std::move(head)));
      if (chunks.empty()) {
        clash = true;
        return Status();
      }
    }
    // 2. The stores, a chunk at a time, each sent as soon as it is encoded. After
    // each, one more chunk is planned and its unknown keys' HKEYS asked, so the
    // client plans while Redis applies, and a chunk's fields are answered while
    // Redis still has the chunk before it to apply. The HKEYS may be answered
    // before stores sent earlier: none of those touches these keys (a key stored
    // earlier in the block is planned from that store, not asked).
    auto next_reply = [&]() -> Status {
      const Pending p = pending.front();
      pending.pop_front();
      OMNI_ASSIGN_OR_RETURN(std::vector<Reply> r, c.receive(p.count, "applying changes"));
      if (p.stores) return check_stores(batch, block, r, p.first);
      if (p.first >= block.unknown.size()) return Status();  // of a chunk cut off
      return take_fields(p.first, std::move(r));
    };
    for (std::size_t j = 0; j < chunks.size(); ++j) {
      // A refused store stops the block before the watermark.
      while (j < chunks.size() && fields_known < chunks[j].unknown_end) OMNI_RETURN_IF_ERROR(next_reply());
      if (j == chunks.size()) break;  // the chunk was cut off
      const std::size_t from = j == 0 ? 0 : chunks[j - 1].stores_end;
      const std::size_t replies = block.reply_change.size();
      block.commands.clear();
      sinks::redis::encode_in_order(batch, existing, applies_key, from, chunks[j].stores_end, &block);
      sent = true;
      OMNI_RETURN_IF_ERROR(c.send(block.commands, "applying changes"));
      pending.push_back({true, replies, block.reply_change.size() - replies});
      const std::size_t known_before = block.unknown.size();
      if (more && chunks.size() == j + 2 && plan_chunk()) OMNI_RETURN_IF_ERROR(ask_new(known_before));
    }
    while (!pending.empty()) OMNI_RETURN_IF_ERROR(next_reply());
    // 3. The watermark, only if it is still the expected one (the script, with no
    // changes, as a compare-and-set).
    ScriptCall none;
    Status moved = run_on(c, none, {wkey, block.through, false, expect});
    if (moved.code() == StatusCode::kNotFound) {
      // Wiped (or written) while the stores went in: take them out again, so a
      // wiped target is left empty for the re-seed.
      Resp undo;
      for (const InOrderBlock::Store& st : block.stores) {
        undo.command(2);
        undo.arg("DEL");
        undo.arg(st.head, st.key);
      }
      OMNI_RETURN_IF_ERROR(c.pipeline(undo, "deleting a batch written into a wiped target").status());
    }
    return moved;
  });
  if (!s.ok() || clash) {
    known.clear();  // whatever Redis holds now, we no longer know it for sure
    // Part of the block may be in Redis above the watermark: until a script call
    // (per-key checks) has moved the watermark again, nothing else may be sent
    // twice.
    if (!s.ok()) in_order_trusted = false;
    return s;
  }
  *applied = true;
  // As in plan_in_order: the buckets left the cache while Redis worked.
  for (const InOrderBlock::Store& st : block.stores) {
    if (!st.known) known.prefetch(st.id);
  }
  for (const InOrderBlock::Store& st : block.stores) {
    if (!st.known) known.put(st.id, st.fingerprint);
  }
  return Status();
}

RedisBackend::RedisBackend(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RedisBackend::~RedisBackend() = default;

Result<std::unique_ptr<RedisBackend>> RedisBackend::create(RedisOptions options) {
  OMNI_RETURN_IF_ERROR(check_options(options));
  OMNI_ASSIGN_OR_RETURN(Endpoint endpoint, sinks::redis::resolve_endpoint(options));
  auto impl = std::make_unique<Impl>(std::move(endpoint), options);
  return std::unique_ptr<RedisBackend>(new RedisBackend(std::move(impl)));
}

Status RedisBackend::apply(const ChangeBatch& batch) {
  if (batch.through > sinks::redis::kMaxSeq) {
    return Status::invalid_argument("redis: batch through seq " + std::to_string(batch.through) +
                                    " is 2^53 or more, which the Lua script cannot hold exactly");
  }
  const std::vector<Change>& changes = batch.changes;
  // A call before the last raises the watermark to just below the oldest change
  // still to come (changes out of log order wait for the last call).
  std::vector<Seq> min_after(changes.size() + 1, batch.through + 1);
  for (std::size_t i = changes.size(); i-- > 0;) min_after[i] = std::min(min_after[i + 1], changes[i].seq);

  const std::string wkey = impl_->layout.watermark();
  // Each call after the first expects what the one before it left.
  std::string expect;
  if (batch.expected_watermark) {
    expect = *batch.expected_watermark ? std::to_string(**batch.expected_watermark) : "-";
  }
  std::string after;
  std::size_t next = 0;
  const bool in_order = impl_->in_order_pipeline && impl_->in_order_trusted &&
                        sinks::redis::in_order_eligible(batch, impl_->in_order_min_changes);
  // Per thread (in practice the sink worker's), so its buffers of a few hundred
  // KB are not allocated and faulted in afresh for every batch.
  thread_local sinks::redis::InOrderBlock block;
  do {
    if (in_order) {
      bool applied = false;
      OMNI_RETURN_IF_ERROR(impl_->run_in_order(batch, next, expect, block, &applied));
      if (applied) {
        next = block.end;
        expect = block.through;
        continue;
      }
    }
    Impl::Scratch scratch = impl_->scratch_call();
    ScriptCall& call = *scratch;
    // Sized once: growing a buffer of a few hundred KB by doubling cost more
    // client time (copies) than encoding the changes.
    std::size_t bytes = 0;
    const std::size_t last = std::min(changes.size(), next + kMaxChangesPerCall);
    for (std::size_t i = next; i < last; ++i) bytes += changes[i].json.size() + 3 * changes[i].key.size() + 64;
    call.body.reserve(16 * (last - next), std::min(bytes, kMaxBytesPerCall + (1 << 16)));
    call.records.reserve(last - next);
    while (next < changes.size() && call.records.size() < kMaxChangesPerCall &&
           call.body.bytes() < kMaxBytesPerCall) {
      OMNI_RETURN_IF_ERROR(impl_->encoder.add(changes[next], &call));
      ++next;
    }
    std::string through;  // through 0 moves nothing
    if (batch.through > 0) {
      if (next == changes.size()) {
        through = std::to_string(batch.through);
      } else if (!batch.reseed && min_after[next] > 1) {
        through = std::to_string(std::min(min_after[next] - 1, batch.through));
      }
    }
    const Status st = impl_->run(call, {wkey, through, batch.reseed, expect}, &after);
    // A watermark other than expected: Redis lost writes (or was wiped), and an
    // in-order batch may have left some of its stores above the watermark.
    if (st.code() == StatusCode::kNotFound) impl_->in_order_trusted = false;
    OMNI_RETURN_IF_ERROR(st);
    // The script moved the watermark, checking every change against its key's
    // seq: whatever an in-order batch cut short had left is settled.
    if (!through.empty()) impl_->in_order_trusted = true;
    if (!expect.empty()) expect = after.empty() ? "-" : after;
  } while (next < changes.size());
  return Status();
}

Status RedisBackend::store_data(std::string_view key, const Json& doc, Seq seq) {
  ScriptCall call;
  OMNI_RETURN_IF_ERROR(impl_->encoder.add_store(key, doc, seq, &call));
  return impl_->run(call, {});
}

Status RedisBackend::delete_data(std::string_view key, Seq seq) {
  ScriptCall call;
  OMNI_RETURN_IF_ERROR(impl_->encoder.add_delete(key, seq, &call));
  return impl_->run(call, {});
}

Result<std::optional<Json>> RedisBackend::load_data(std::string_view key) {
  using sinks::redis::printable;
  const std::string name = impl_->layout.document(key);
  std::optional<Json> out;
  Status s = impl_->with_connection([&](Connection& c) -> Status {
    OMNI_ASSIGN_OR_RETURN(Reply r, c.call(Argv{"HGETALL", name}, "loading a document"));
    if (r->type == REDIS_REPLY_ERROR) {
      return sinks::redis::reply_error(impl_->where, "HGETALL " + printable(name), reply_text(*r));
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0) return impl_->not_redis(c, "HGETALL");
    if (r->elements == 0) return Status();  // absent
    Json doc = Json::object();
    for (std::size_t i = 0; i < r->elements; i += 2) {
      const redisReply& f = *r->element[i];
      const redisReply& v = *r->element[i + 1];
      if (f.type != REDIS_REPLY_STRING || v.type != REDIS_REPLY_STRING) return impl_->not_redis(c, "HGETALL");
      const std::string_view field = reply_text(f);
      if (field == Layout::kDeletedField) return Status();  // a tombstone
      const std::optional<std::string_view> user = Layout::user_field(field);
      if (!user) continue;  // _seq
      Json value = Json::parse(reply_text(v), nullptr, /*allow_exceptions=*/false);
      if (value.is_discarded()) {
        return Status::backend(impl_->where + ": field '" + printable(field) + "' of " + printable(name) +
                               " is not JSON (was the hash written by something else?)");
      }
      doc[std::string(*user)] = std::move(value);
    }
    out = std::move(doc);
    return Status();
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::optional<Seq>> RedisBackend::watermark() {
  using sinks::redis::printable;
  std::optional<Seq> out;
  Status s = impl_->with_connection([&](Connection& c) -> Status {
    OMNI_ASSIGN_OR_RETURN(Reply r, c.call(Argv{"GET", impl_->layout.watermark()}, "reading the watermark"));
    if (r->type == REDIS_REPLY_NIL) return Status();
    if (r->type == REDIS_REPLY_ERROR) {
      return sinks::redis::reply_error(impl_->where, "GET the watermark", reply_text(*r));
    }
    if (r->type != REDIS_REPLY_STRING) return impl_->not_redis(c, "GET");
    const std::string_view text = reply_text(*r);
    Seq seq = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seq);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
      return Status::backend(impl_->where + ": the watermark " + printable(impl_->layout.watermark()) +
                             " holds '" + printable(text) + "', not a seq");
    }
    out = seq;
    return Status();
  });
  if (!s.ok()) return s;
  return out;
}

Status RedisBackend::health_check() {
  return impl_->with_connection([&](Connection& c) -> Status {
    OMNI_ASSIGN_OR_RETURN(Reply r, c.call(Argv{"PING"}, "PING"));
    if (r->type == REDIS_REPLY_STATUS && reply_text(*r) == "PONG") return Status();
    if (r->type == REDIS_REPLY_ERROR) {
      // Whatever the server refuses, it is not healthy: never kBackend here.
      return Status::unavailable(impl_->where + ": PING refused: " + sinks::redis::printable(reply_text(*r)));
    }
    return impl_->not_redis(c, "PING");
  });
}

}  // namespace omni
