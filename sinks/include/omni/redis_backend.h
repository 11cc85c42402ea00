// omni::RedisBackend: replicates the log into Redis (hiredis), idempotently.
//
// Layout under key_prefix (P), readable with redis-cli. <n> is the byte length of
// the name that follows it, in decimal, so names holding ':' split exactly:
//   P<key>                      hash: each top-level field of the document -> its
//                               value as compact JSON text (a string keeps its
//                               quotes), plus the reserved field "_seq" (the
//                               event that wrote it). A field whose name starts
//                               with '_' is stored with one more leading '_'
//                               ("_id" -> "__id"); load_data() strips it again.
//   P<key> after a delete       hash {"_seq": seq, "_deleted": "1"}: a tombstone,
//                               so a replayed older store is still refused.
//   Prel:<n>:<subject>:<predicate>   sorted set of objects (score: seq)
//   Prrev:<n>:<object>:<predicate>   sorted set of subjects (score: seq)
//   Pver:<key>                  sorted set of version labels (score: seq)
//   Pverdoc:<n>:<key>:<label>   string: the version's JSON; with version_ttl > 0
//                               it expires at the event's time + version_ttl
//   Ppolicy:<n>:<principal>:<n>:<action>:<resource>
//                               string "1" (allowed) / "0" (denied), expiring at
//                               the decision's time + its ttl (absent once expired)
//   Ppolicyby:<name>            set of the Ppolicy: keys whose decision names
//                               <name> (principal, resource, depends_on): a
//                               delete of <name>, or a relationship change with
//                               <name> as subject or object, drops them, as the
//                               store's policy cache does. It expires with its
//                               longest-lived decision. A name's set may outlive a
//                               decision that was replaced, so Redis may drop a
//                               decision the store still holds (a cache miss),
//                               never keep one the store dropped.
//   Psink:applied               string: the watermark (every event up to it is in)
//   Papplies                    hash key -> changes applied (count_applies only)
// A document key that starts with '_' or could be mistaken for one of the names
// above (it starts with "rel:", "rrev:", "ver:", "verdoc:", "policy:" or
// "policyby:", or it is "sink:applied" or "applies") is stored with one more
// leading '_': key "ver:1" is the hash P_ver:1, key "_x" the hash P__x.
// Keys, fields and values are binary-safe (NUL and 0xFF bytes round-trip).
//
// Applying: every batch is one Lua script call (loaded once per connection with
// SCRIPT LOAD, run with EVALSHA, loaded again after a NOSCRIPT), so it is atomic.
// The script first compares the watermark with batch.expected_watermark when that
// is set (a mismatch: nothing is written, kNotFound); then checks that every key
// it will write is absent or of its type (if one is not, WRONGTYPE: a key someone
// else wrote, it writes nothing). Then it applies each change only if its seq is
// newer than the item's stored one (documents: "_seq"; relationships and
// versions: the member's score; a policy decision: only if its value or expiry
// differs) and, unless batch.reseed (changes out of log order), only if its seq
// is above the watermark; finally it raises the watermark to batch.through (a
// reseed batch sets it to through as it is; through 0 leaves it). Replaying a
// batch therefore leaves Redis byte-for-byte unchanged. A batch of more than
// 1,000 changes (or 4 MiB) is split into several script calls, run in order; each
// raises the watermark only past what it applied, and each after the first
// expects the watermark the one before it left. Seqs must be below 2^53 (Lua
// numbers are doubles).
//
// The in-order path (RedisOptions::in_order_pipeline): a batch of at least
// in_order_min_changes changes that is not a re-seed, knows the expected
// watermark and holds only stores above it is sent
// as GET of the watermark (kNotFound on a mismatch, nothing written) with HKEYS
// of each hash this backend does not know the fields of, then one HSET P<key>
// _seq <seq> <fields...> per store, pipelined (HSET + HDEL of the fields the
// new document lacks, in a MULTI/EXEC of its own, when the hash held others),
// then the script with no changes as a compare-and-set of the watermark. Each
// document changes in one step, but a batch is not all-or-nothing: a reader may
// see part of it. A store Redis refuses leaves the watermark where it was
// (kBackend naming it; the worker retries change by change). A watermark that
// changed while the stores went in (a FLUSHALL) is kNotFound, and the batch's
// documents are deleted again so a wiped target stays empty for the re-seed.
// Exactly once: after an in-order batch failed, a watermark other than expected,
// or at create() (how did the last writer stop?), batches take the script until
// one of its calls has moved the watermark, so stores a cut-short batch left
// above the watermark are not applied again.
// redis_in_order.h says why this equals the script's result.

// Errors (see omni::Backend::apply): no connection, a timeout, a refused password
// (NOAUTH/WRONGPASS), LOADING, BUSY, OOM, READONLY, or an answer that is not Redis
// are kUnavailable, and the message says which ("redis 127.0.0.1:6380:
// authentication failed (WRONGPASS)"); the password is never in a message. A
// change Redis refuses for good (WRONGTYPE) is kBackend naming its seq; a change
// that cannot be encoded (a document that is not a JSON object, a seq of 2^53 or
// more) is kInvalidArgument; a watermark other than batch.expected_watermark is
// kNotFound. A failed script call writes nothing.
//
// Timeouts: connect_timeout bounds connecting; command_timeout bounds each wait
// for the socket (hiredis sets SO_RCVTIMEO/SO_SNDTIMEO), not a whole call. A
// connection that failed is closed, never reused; an idle pooled connection the
// server dropped (a restart) is noticed on use, and the call is retried once on a
// fresh connection (every call here is idempotent).
//
// [Threading] Every method is thread-safe: each call checks a connection out of a
// pool of at most max_connections (waiting when all are busy).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "omni/backend.h"

namespace omni {

struct RedisOptions {
  // redis://[:password@]host[:port][/db] (port 6379 and db 0 by default; the
  // password may be %-encoded) or unix://[:password@]/path/to/redis.sock[?db=N].
  // When set it replaces host, port, db, password and unix_socket (what it does not
  // name takes its default: no password, db 0); malformed is kInvalidArgument at
  // create().
  std::string url;
  std::string host = "127.0.0.1";
  int port = 6379;          // 1..65535
  std::string unix_socket;  // set: connect here instead of host:port
  int db = 0;               // SELECT db (0..15 on a default server); >= 0
  std::string password;     // AUTH; never logged, never in an error or statistic
  std::string key_prefix = "omni:";
  std::size_t max_connections = 4;  // the pool: 1..256 contexts
  std::chrono::milliseconds connect_timeout{1000};  // > 0
  std::chrono::milliseconds command_timeout{5000};  // > 0
  std::chrono::seconds version_ttl{0};  // 0: versions never expire; >= 0
  // Test aid: the script also counts, in the hash P"applies" (field: the change's
  // key), every change it actually applied, so a test can prove that no event was
  // applied twice. Costs one more write per change; leave it off in production.
  bool count_applies = false;
  // Batches the sink worker sends in log order from the watermark, holding only
  // document stores, are applied as pipelined HSETs instead of through the
  // script: the same result (each change is newer than its key's, so the
  // script's check would pass) for a third of the server's CPU, but not
  // all-or-nothing per batch (see above). false: every batch through the script.
  bool in_order_pipeline = true;
  // The in-order path takes three round trips where the script takes one: a
  // smaller batch (a write_through store, a change retried alone) goes through
  // the script, whose round trips cost less than its CPU. >= 1.
  std::size_t in_order_min_changes = 32;
  // The in-order path remembers, for about this many document keys, the field
  // names it last wrote, so it need not ask Redis (HKEYS) before an HSET that
  // rewrites the same fields (16 bytes each, allocated at create(); the default
  // is 4 MiB). 0: always ask.
  std::size_t known_field_sets = 262144;
};

class RedisBackend : public Backend {
 public:
  // kInvalidArgument for a malformed url or an option out of range (the message
  // names which). Does not connect: an unreachable server is the backend's health,
  // not an error here.
  static Result<std::unique_ptr<RedisBackend>> create(RedisOptions options);
  RedisBackend(const RedisBackend&) = delete;  // owns a pool of connections
  RedisBackend& operator=(const RedisBackend&) = delete;
  ~RedisBackend() override;

  // A one-change apply() that leaves the watermark alone (neither checked nor
  // moved): only the key's "_seq" decides.
  Status store_data(std::string_view key, const Json& doc, Seq seq) override;
  // nullopt when the key is absent or a tombstone.
  Result<std::optional<Json>> load_data(std::string_view key) override;
  Status delete_data(std::string_view key, Seq seq) override;
  // PING on a pooled connection (connecting, AUTH, SELECT and SCRIPT LOAD first
  // if need be): OK, or kUnavailable saying why not.
  Status health_check() override;
  Status apply(const ChangeBatch& batch) override;
  bool keeps_watermark() const override { return true; }
  // GET P"sink:applied": nullopt when absent (an empty or FLUSHALLed Redis).
  Result<std::optional<Seq>> watermark() override;

  struct Impl;

 private:
  explicit RedisBackend(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace omni
