// omni::Storage - the embedded event-sourced store.
//
//   store_data / delete_data / store_batch
//        │ validate ─ encode event ─ group commit (one WriteBatch: events, hash chain,
//        ▼                                         state, audit index)
//   RocksDB log ──► LRU view ──► data_changed callbacks (sync, then async)
//   load_data: LRU view ─► state projection
//
// Every write is an event in a SHA-256-chained log; the current value of a key, its
// audit trail and the cache are derived from it. Every method is thread-safe.
// Errors are values (Status / Result); nothing throws across this API.
#pragma once

#include <utility>  // before Asio: Boost 1.74's coroutine headers miss it with g++ 12

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/system_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "omni/backend.h"
#include "omni/error.h"
#include "omni/options.h"
#include "omni/status.h"
#include "omni/sync_strategy.h"
#include "omni/types.h"

namespace omni {

class Storage;
namespace detail {
class StorageImpl;
}

// storage->cache(): the LRU view in front of the state projection.
// After close(): configure and put fail with kUnavailable, get returns nullopt,
// invalidate false; statistics() stays readable.
class Cache {
 public:
  // Applies the set fields of `config`; preload_keys are loaded now.
  Status configure(const CacheConfig& config);
  // The cached document of key; nullopt when not cached (the store is not consulted).
  std::optional<Json> get(std::string_view key);
  // Puts a document into the view only (not the log): load_data returns it until the
  // key is written again or it is evicted. kInvalidArgument for a bad key/document.
  // A write of the key (or of a key sharing its bucket) that is committing at the
  // same moment wins: the put then counts as made just before it, and is dropped.
  Status put(std::string_view key, Json doc);
  // Drops key from the view (the stored value is untouched). Returns whether it was cached.
  bool invalidate(std::string_view key);
  CacheStatistics statistics() const;

 private:
  friend class Storage;
  explicit Cache(detail::StorageImpl& impl) : impl_(impl) {}
  detail::StorageImpl& impl_;
};

// storage->audit(): what get_audit_trail() returns (see AuditConfig).
class Audit {
 public:
  // Applies the set fields. kInvalidArgument for a negative retention;
  // kUnavailable after close().
  Status configure(const AuditConfig& config);
  AuditConfig config() const;  // every field set
  // Runs the retention pass now (it also runs in the background after writes,
  // at most once per Options::audit_prune_interval).
  Status apply_retention();

 private:
  friend class Storage;
  explicit Audit(detail::StorageImpl& impl) : impl_(impl) {}
  detail::StorageImpl& impl_;
};

// storage->versioning(): limits of store_version()'s history.
// After close(): configure fails with kUnavailable; config() stays readable.
class Versioning {
 public:
  // Applies the set fields. A lower max_versions_per_key prunes on the next write
  // of each key and in the next background pass (every cleanup_interval).
  // kInvalidArgument for a zero cleanup_interval.
  Status configure(const VersioningConfig& config);
  VersioningConfig config() const;  // every field set
  // Runs the pruning pass now: every key beyond the limit loses its oldest versions
  // (one versions_pruned event per key).
  Status cleanup();

 private:
  friend class Storage;
  explicit Versioning(detail::StorageImpl& impl) : impl_(impl) {}
  detail::StorageImpl& impl_;
};

// storage->policy_cache(): the in-memory cache of authorization decisions.
// After close(): configure fails with kUnavailable; statistics() stays readable.
class PolicyCache {
 public:
  // Applies the set fields (default_ttl: 1 s .. 100 years; max_entries: 1 .. 2^32).
  Status configure(const PolicyCacheConfig& config);
  PolicyCacheConfig config() const;  // every field set
  PolicyCacheStatistics statistics() const;

 private:
  friend class Storage;
  explicit PolicyCache(detail::StorageImpl& impl) : impl_(impl) {}
  detail::StorageImpl& impl_;
};

// storage->notifications(): change callbacks.
// [Threading] Sync callbacks run on the writing thread after the write committed,
// with no engine lock held; a callback may call back into the store (close()
// included). Async callbacks run on the engine's executor one at a time, in
// commit (seq) order across all writers; a slow one never blocks writers. A
// callback sees the writes that start after it was added. Callbacks must not
// throw: anything thrown is logged and dropped, never propagated.
// After close(): add_* fail with kUnavailable and remove_callback returns false.
class Notifications {
 public:
  using DataChangedFn = std::function<void(const DataChanged&)>;
  // The reference README's form: fn(key, old_data, new_data).
  using KeyOldNewFn = std::function<void(const std::string& key, const std::optional<Json>& old_data,
                                         const std::optional<Json>& new_data)>;
  using RelationshipChangedFn = std::function<void(const RelationshipChanged&)>;
  // The reference README's form: fn(subject, predicate, object, operation).
  using EdgeFn = std::function<void(const std::string& subject, const std::string& predicate,
                                    const std::string& object, const std::string& operation)>;
  using CallbackId = std::uint64_t;

  // event must be "data_changed" for the data forms and "relationship_changed" for
  // the relationship forms; anything else is kInvalidArgument.
  Result<CallbackId> add_callback(std::string_view event, DataChangedFn fn);
  Result<CallbackId> add_callback(std::string_view event, KeyOldNewFn fn);
  Result<CallbackId> add_async_callback(std::string_view event, DataChangedFn fn);
  Result<CallbackId> add_async_callback(std::string_view event, KeyOldNewFn fn);
  Result<CallbackId> add_callback(std::string_view event, RelationshipChangedFn fn);
  Result<CallbackId> add_callback(std::string_view event, EdgeFn fn);
  Result<CallbackId> add_async_callback(std::string_view event, RelationshipChangedFn fn);
  Result<CallbackId> add_async_callback(std::string_view event, EdgeFn fn);
  // True if it was registered. Once it returns, the callback is not called again
  // (deliveries already queued skip it; one already running finishes).
  bool remove_callback(CallbackId id);

 private:
  friend class Storage;
  explicit Notifications(detail::StorageImpl& impl) : impl_(impl) {}
  detail::StorageImpl& impl_;
};

// storage->dead_letters(): changes a backend rejected for good (after
// ReplicationOptions::max_attempts); its worker moved past them. Durable.
class DeadLetters {
 public:
  // Oldest first per backend; every backend's when `backend` is empty.
  Result<std::vector<DeadLetter>> list(std::string_view backend = {});
  // Applies the change again now (the backend must be added): OK removes the dead
  // letter; an error is returned and recorded in it. kNotFound when absent.
  Status retry(std::string_view backend, Seq seq);
  // Forgets it (the backend never gets that change). kNotFound when absent.
  Status drop(std::string_view backend, Seq seq);

 private:
  friend class Storage;
  explicit DeadLetters(detail::StorageImpl& impl) : impl_(impl) {}
  detail::StorageImpl& impl_;
};

class Storage {
 public:
  // Opens (creating if missing) the store at options.path, recovering the log after
  // a crash; a torn WAL tail is dropped. Errors: kInvalidArgument for bad options,
  // kIOError, kCorruption.
  static Result<std::unique_ptr<Storage>> open(Options options);

  Storage(const Storage&) = delete;  // owns the database and its threads
  Storage& operator=(const Storage&) = delete;
  // Calls close(); if in-flight writes outlast close_timeout, waits for them anyway.
  // Destroyed on its own executor or inside its own callback, it finishes closing
  // on a detached thread of its own instead of waiting for itself.
  ~Storage();

  // Stops accepting operations (they fail with kUnavailable, async ones complete
  // with it), waits up to close_timeout for in-flight operations and queued async
  // callbacks (callbacks still queued then are dropped), flushes, then closes the
  // database. kTimedOut when operations were still running (the store stays
  // closing; call again). Idempotent, and safe from any thread at any time:
  // concurrent calls wait for one another, and a call from the store's own
  // executor or from inside one of its callbacks (which cannot wait for itself)
  // starts the close, returns OK at once, and the close completes on a thread of
  // its own as soon as that callback returns; a later close() or the destructor
  // waits for it.
  Status close();

  // Stores doc (a JSON object) under key. Returns the event's seq, which is also the
  // key's new version. kInvalidArgument (bad key or document), kConflict
  // (expected_version mismatch); nothing is written on error.
  // Given an rvalue, the document moves into the LRU view, so reading it back is a
  // hit; given an lvalue, nothing is copied and the key is cached on its next load.
  Result<Seq> store_data(std::string_view key, Json&& doc, const WriteOptions& wo = {});
  Result<Seq> store_data(std::string_view key, const Json& doc, const WriteOptions& wo = {});
  // The document stored under key, or nullopt. kInvalidArgument for a bad key,
  // kCorruption when the stored bytes do not parse.
  Result<std::optional<Json>> load_data(std::string_view key);
  // With ro.as_of: the document as it was right after that seq (nullopt if absent
  // then), from the key's audit trail and the log. kInvalidArgument for a seq past
  // the head; kNotFound when audit retention no longer keeps the key's history
  // that far back.
  Result<std::optional<Json>> load_data(std::string_view key, const ReadOptions& ro);
  // As load_data, without copying: the immutable document shared with the LRU view
  // (null when absent). For hot read paths; nlohmann::json copies are expensive.
  Result<std::shared_ptr<const Json>> load_shared(std::string_view key);
  // Deletes key; returns the delete event's seq (recorded even if the key was
  // absent, so the audit trail shows the attempt). expected_version as for stores.
  // Every relationship naming key (as subject or object) is removed in the same
  // atomic group: one relationship_removed event per edge, after the delete.
  Result<Seq> delete_data(std::string_view key, const WriteOptions& wo = {});
  // Stores all items atomically in one log group: all are written, with consecutive
  // seqs, or none is (any bad item or version conflict fails the whole batch).
  // wo.expected_version must be unset: use BatchItem::expected_version.
  // Returns the seq of the last item.
  Result<Seq> store_batch(std::vector<BatchItem> items, const WriteOptions& wo = {});

  // The current version of key (seq of its last write), 0 when absent.
  Result<Seq> get_version(std::string_view key);

  // --- Relationships (engine/relationships.cc): directed edges
  // subject --predicate--> object, indexed both ways. Subjects and objects follow
  // the key rules; predicates are 1..256 bytes of printable UTF-8 (no NUL or
  // control characters). Storing an existing edge is recorded and changes nothing;
  // removing an absent one is recorded too. Both return the event's seq.
  Result<Seq> store_relationship(std::string_view subject, std::string_view predicate,
                                 std::string_view object, const WriteOptions& wo = {});
  Result<Seq> remove_relationship(std::string_view subject, std::string_view predicate,
                                  std::string_view object, const WriteOptions& wo = {});
  // Objects of subject's edges with this predicate, in byte order.
  Result<std::vector<std::string>> get_related(std::string_view subject, std::string_view predicate,
                                               const ListOptions& lo = {});
  // As of a seq (see load_data with ReadOptions).
  Result<std::vector<std::string>> get_related(std::string_view subject, std::string_view predicate,
                                               const ReadOptions& ro, const ListOptions& lo = {});
  // Subjects with an edge of this predicate to object, in byte order.
  Result<std::vector<std::string>> get_related_reverse(std::string_view object,
                                                       std::string_view predicate,
                                                       const ListOptions& lo = {});
  // Every edge where key is the subject or the object, ordered by (subject,
  // predicate, object); a self-loop once. ListOptions::start_after takes the
  // relationship_cursor() of the previous page's last edge.
  Result<std::vector<Relationship>> get_relationships(std::string_view key, const ListOptions& lo = {});

  // --- Versions (engine/versions.cc): labelled snapshots of a key, independent of
  // store_data. Labels: 1..128 bytes of printable ASCII without '/' or whitespace.
  // kConflict when the label exists and !vo.overwrite.
  Result<Seq> store_version(std::string_view key, std::string_view label, const Json& doc,
                            const VersionWriteOptions& vo = {});
  // Oldest first (by the seq that stored each label).
  Result<std::vector<VersionInfo>> list_versions(std::string_view key);
  // The newest version's document, or nullopt when the key has none.
  Result<std::optional<Json>> load_version(std::string_view key);
  Result<std::optional<Json>> load_version(std::string_view key, std::string_view label);

  // --- Policy cache (engine/policy.cc): authorization decisions. Each is a
  // policy_decided event (the log is the decision log); the cache is in memory,
  // refilled at open from the unexpired decisions. A relationship change or
  // delete_data naming the identity, the resource or a depends_on key drops the
  // decision before that write returns.
  Result<Seq> cache_policy_decision(std::string_view identity, std::string_view action,
                                    std::string_view resource, bool allowed,
                                    const PolicyOptions& po = {});
  // nullopt: not cached, expired or dropped.
  Result<std::optional<bool>> get_cached_policy(std::string_view identity, std::string_view action,
                                                std::string_view resource);

  // Rebuilds every derived index (state, audit index, relationships, versions,
  // policy decisions) from the log into fresh column families while reads and
  // writes go on, catches up with the writes that arrived meanwhile and swaps
  // atomically. kUnavailable after close; one rebuild at a time (kConflict).
  Status rebuild_projections(const RebuildOptions& options = {});

  // The key's history, oldest first, within the audit configuration.
  Result<std::vector<AuditEntry>> get_audit_trail(std::string_view key);

  // Waits until every write up to seq is committed and visible to load_data.
  // Saturating: milliseconds::max() waits as long as it takes; close() ends the
  // wait with kUnavailable.
  Status wait_for(Seq seq, std::chrono::milliseconds timeout);
  // The Asio form: completes with (error_code) once the head reaches seq, on the
  // handler's executor (the engine's by default), with no thread blocked
  // meanwhile; kUnavailable when the store closes first. Readers of the log (sinks)
  // wait for new events this way.
  template <typename Token>
  auto async_wait_for(Seq seq, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [impl = impl_.get(), ex = executor()](auto handler, Seq seq) {
          if (!async_begin(impl)) {
            auto hex = boost::asio::get_associated_executor(handler, boost::asio::system_executor());
            boost::asio::post(hex, [h = std::move(handler)]() mutable {
              std::move(h)(make_error_code(StatusCode::kUnavailable));
            });
            async_end(impl);
            return;
          }
          auto work = boost::asio::make_work_guard(boost::asio::get_associated_executor(handler, ex));
          // Shared: the log keeps the callback in a std::function, which must be
          // copyable; handlers need not be.
          auto state = std::make_shared<std::pair<decltype(handler), decltype(work)>>(std::move(handler),
                                                                                     std::move(work));
          notify_when(impl, seq, [impl, state](const Status& s) {
            const boost::system::error_code ec = s.ok() ? boost::system::error_code() : make_error_code(s.code());
            auto hex = state->second.get_executor();
            boost::asio::post(hex, [impl, state, ec]() mutable {
              std::move(state->first)(ec);
              state->second.reset();
              async_end(impl);
            });
          });
        },
        token, seq);
  }

  // --- Backends (engine/backends.cc). Each added backend gets a sink worker that
  // replays the log into it from its position (its own watermark, or the store's
  // cursor for it), so a backend added to an existing store is seeded from the
  // current state, and one added again resumes. Lower priority = asked first
  // (writes that wait, read fallback). Names: 1..128 bytes of [A-Za-z0-9_.-];
  // a duplicate is kInvalidArgument. Backends are not remembered across opens:
  // add them after each open.
  Status add_backend(std::string_view name, std::unique_ptr<Backend> backend, int priority = 100);
  // Stops its worker (kNotFound when absent). Its position and dead letters stay.
  Status remove_backend(std::string_view name);
  // What later writes wait for (see SyncStrategy). kInvalidArgument for bad options.
  Status set_sync_strategy(SyncStrategy strategy, const StrategyOptions& options = {});
  // A custom strategy, active from now on: fn decides per write which backends
  // must have applied it before the call returns (SyncPlan::apply_now); the
  // others catch up from the log.
  Status set_sync_strategy(std::string_view name, CustomStrategyFn fn);
  // Offline mode: writes succeed locally and do not wait for backends; workers
  // pause. Disabling it lets them drain from where they stopped.
  void enable_offline_mode();
  void disable_offline_mode();
  bool is_offline();
  // Read-your-writes through a backend: waits until `name` applied every event up
  // to seq. kNotFound (no such backend), kInvalidArgument (seq past the head),
  // kTimedOut, kUnavailable (closing).
  Status wait_for_backend(std::string_view name, Seq seq, std::chrono::milliseconds timeout);
  DeadLetters& dead_letters() { return dead_letters_; }

  // kDegraded also when a backend is unhealthy; kOffline in offline mode. Probes
  // each backend (its health_check()) on this thread.
  Health check_health();
  Statistics get_statistics();
  Metrics get_metrics();
  // get_metrics() and statistics in Prometheus text exposition format. The library
  // opens no port: serve this from your own endpoint.
  std::string metrics_text();
  // fn(op, key, duration) runs after every operation on the calling thread. It must
  // be cheap and must not throw.
  std::uint64_t add_instrumentation_callback(InstrumentationFn fn);

  Cache& cache() { return cache_; }
  Audit& audit() { return audit_; }
  Notifications& notifications() { return notifications_; }
  Versioning& versioning() { return versioning_; }
  PolicyCache& policy_cache() { return policy_cache_; }

  // The engine's executor (a thread pool of Options::executor_threads).
  boost::asio::any_io_executor executor();

  // Asio forms: any completion token; complete with (error_code, T) where the
  // error_code's value is an omni::StatusCode in omni::error_category().
  template <typename Token>
  auto async_store_data(std::string key, Json doc, WriteOptions wo, Token&& token) {
    return run_async<Seq>(
        [this, key = std::move(key), doc = std::move(doc), wo = std::move(wo)]() mutable {
          return store_data(key, std::move(doc), wo);
        },
        std::forward<Token>(token));
  }
  template <typename Token>
  auto async_load_data(std::string key, Token&& token) {
    return run_async<std::optional<Json>>(
        [this, key = std::move(key)] { return load_data(key); }, std::forward<Token>(token));
  }
  template <typename Token>
  auto async_delete_data(std::string key, WriteOptions wo, Token&& token) {
    return run_async<Seq>(
        [this, key = std::move(key), wo = std::move(wo)] { return delete_data(key, wo); },
        std::forward<Token>(token));
  }

 private:
  explicit Storage(std::unique_ptr<detail::StorageImpl> impl);

  // Counts an async operation in (close() waits for it); false when the store is
  // closing: the operation then completes with kUnavailable without running.
  static bool async_begin(detail::StorageImpl* impl);
  static void async_end(detail::StorageImpl* impl);
  // fn(status) once the head reaches seq, or with kUnavailable at close; called on
  // a committing thread, so it must only post.
  static void notify_when(detail::StorageImpl* impl, Seq seq, std::function<void(const Status&)> fn);

  // Runs fn on the engine's executor and completes the handler on its associated
  // executor (the engine's by default). After close() the handler completes with
  // kUnavailable on its own associated executor, or Asio's system executor when
  // it has none (the engine's is stopped).
  template <typename T, typename Fn, typename Token>
  auto run_async(Fn fn, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, T)>(
        [impl = impl_.get(), ex = executor()](auto handler, Fn fn) {
          if (!async_begin(impl)) {
            auto hex = boost::asio::get_associated_executor(handler, boost::asio::system_executor());
            boost::asio::post(hex, [h = std::move(handler)]() mutable {
              std::move(h)(make_error_code(StatusCode::kUnavailable), T{});
            });
            async_end(impl);
            return;
          }
          auto work = boost::asio::make_work_guard(boost::asio::get_associated_executor(handler, ex));
          boost::asio::post(ex, [impl, h = std::move(handler), fn = std::move(fn),
                                 work = std::move(work)]() mutable {
            Result<T> r = fn();
            boost::system::error_code ec;
            T value{};
            if (r.ok()) {
              value = std::move(*r);
            } else {
              ec = make_error_code(r.status().code());
            }
            auto hex = work.get_executor();
            boost::asio::dispatch(hex, [h = std::move(h), ec, value = std::move(value)]() mutable {
              std::move(h)(ec, std::move(value));
            });
            work.reset();
            async_end(impl);
          });
        },
        token, std::move(fn));
  }

  std::unique_ptr<detail::StorageImpl> impl_;
  Cache cache_;
  Audit audit_;
  Notifications notifications_;
  Versioning versioning_;
  PolicyCache policy_cache_;
  DeadLetters dead_letters_;
};

// The ListOptions::start_after that continues get_relationships() after r.
std::string relationship_cursor(const Relationship& r);

}  // namespace omni
