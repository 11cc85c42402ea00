// The policy cache: decisions as policy_decided events, the durable PolicyIndex
// and the in-memory PolicyCacheView, through the Storage API and, for what the
// relationship calls will drive once they land, through the log directly.
#include "omni/projections/policy_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <thread>
#include <tuple>
#include <vector>

#include "omni/projections/policy_index.h"
#include "omni/projections/projection_set.h"
#include "omni/storage.h"
#include "test_util.h"

namespace omni {
namespace {

using namespace std::chrono_literals;
using log::EventType;
using omni::testing::TempDir;
using projections::Decision;
using projections::PolicyCacheView;
using projections::PolicyIndex;

// A wall clock the test moves forward: system time plus an offset.
struct TestClock {
  std::shared_ptr<std::atomic<std::int64_t>> offset_s = std::make_shared<std::atomic<std::int64_t>>(0);
  void advance(std::chrono::seconds s) { offset_s->fetch_add(s.count()); }
  std::function<std::chrono::system_clock::time_point()> fn() const {
    return [o = offset_s] { return std::chrono::system_clock::now() + std::chrono::seconds(o->load()); };
  }
};

std::unique_ptr<Storage> open_store(const std::string& path, Options o = {}) {
  o.path = path;
  auto r = Storage::open(std::move(o));
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? std::move(*r) : nullptr;
}

// get_cached_policy, which must succeed.
std::optional<bool> get(Storage& s, std::string_view who, std::string_view action, std::string_view what) {
  Result<std::optional<bool>> r = s.get_cached_policy(who, action, what);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : std::nullopt;
}

TEST(PolicyCacheTest, DecisionIsCachedAllowedAndDenied) {
  TempDir dir;
  auto s = open_store(dir.path());
  Result<Seq> a = s->cache_policy_decision("user:alice", "read", "doc:1", true);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  Result<Seq> b = s->cache_policy_decision("user:bob", "read", "doc:1", false);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, *a + 1);
  EXPECT_EQ(get(*s, "user:alice", "read", "doc:1"), true);
  EXPECT_EQ(get(*s, "user:bob", "read", "doc:1"), false);
  EXPECT_EQ(get(*s, "user:alice", "write", "doc:1"), std::nullopt);
  EXPECT_EQ(get(*s, "user:carol", "read", "doc:1"), std::nullopt);
  // The decision is an event of the resource's audit trail (the decision log).
  Result<std::vector<AuditEntry>> trail = s->get_audit_trail("doc:1");
  ASSERT_TRUE(trail.ok());
  ASSERT_EQ(trail->size(), 2u);
  EXPECT_EQ((*trail)[0].operation, "policy_decided");
}

TEST(PolicyCacheTest, TtlExpiresByTheInjectedClock) {
  TempDir dir;
  TestClock clock;
  Options o;
  o.clock = clock.fn();
  auto s = open_store(dir.path(), o);
  ASSERT_TRUE(s->cache_policy_decision("user:alice", "read", "doc:1", true, {.ttl = 60s}).ok());
  ASSERT_TRUE(s->cache_policy_decision("user:alice", "read", "doc:2", true, {.ttl = 600s}).ok());
  clock.advance(30s);
  EXPECT_EQ(get(*s, "user:alice", "read", "doc:1"), true);
  clock.advance(31s);
  EXPECT_EQ(get(*s, "user:alice", "read", "doc:1"), std::nullopt);
  EXPECT_EQ(get(*s, "user:alice", "read", "doc:2"), true);
  const PolicyCacheStatistics st = s->policy_cache().statistics();
  EXPECT_EQ(st.expirations, 1u);
  EXPECT_EQ(st.size, 1u);  // the expired one was dropped
  EXPECT_EQ(get(*s, "user:alice", "read", "doc:1"), std::nullopt);
  EXPECT_EQ(s->policy_cache().statistics().misses, 1u);
}

TEST(PolicyCacheTest, DefaultTtlFromOptionsAndFromConfigure) {
  TempDir dir;
  TestClock clock;
  Options o;
  o.clock = clock.fn();
  o.default_ttl = 100s;
  auto s = open_store(dir.path(), o);
  EXPECT_EQ(s->policy_cache().config().default_ttl, 100s);
  ASSERT_TRUE(s->cache_policy_decision("u", "read", "r1", true).ok());
  ASSERT_TRUE(s->policy_cache().configure({.default_ttl = 1000s}).ok());
  EXPECT_EQ(s->policy_cache().config().default_ttl, 1000s);
  ASSERT_TRUE(s->cache_policy_decision("u", "read", "r2", true).ok());
  clock.advance(101s);
  EXPECT_EQ(get(*s, "u", "read", "r1"), std::nullopt);  // Options::default_ttl
  EXPECT_EQ(get(*s, "u", "read", "r2"), true);          // the configured one
  clock.advance(900s);
  EXPECT_EQ(get(*s, "u", "read", "r2"), std::nullopt);
}

TEST(PolicyCacheTest, DeleteDataOfIdentityResourceOrDependencyInvalidates) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->cache_policy_decision("user:a", "read", "doc:1", true).ok());
  ASSERT_TRUE(s->cache_policy_decision("user:b", "read", "doc:2", true).ok());
  ASSERT_TRUE(s->cache_policy_decision("user:c", "read", "doc:3", true, {.depends_on = {"team:x"}}).ok());
  ASSERT_TRUE(s->cache_policy_decision("user:d", "read", "doc:4", true).ok());

  ASSERT_TRUE(s->delete_data("doc:1").ok());  // the resource (absent: still recorded)
  EXPECT_EQ(get(*s, "user:a", "read", "doc:1"), std::nullopt);
  ASSERT_TRUE(s->delete_data("user:b").ok());  // the identity
  EXPECT_EQ(get(*s, "user:b", "read", "doc:2"), std::nullopt);
  ASSERT_TRUE(s->delete_data("team:x").ok());  // a depends_on key
  EXPECT_EQ(get(*s, "user:c", "read", "doc:3"), std::nullopt);
  EXPECT_EQ(get(*s, "user:d", "read", "doc:4"), true);  // named by none of them
  EXPECT_EQ(s->policy_cache().statistics().invalidations, 3u);
}

TEST(PolicyCacheTest, StoreDataDoesNotInvalidate) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->cache_policy_decision("user:a", "read", "doc:1", true, {.depends_on = {"team:x"}}).ok());
  ASSERT_TRUE(s->store_data("doc:1", {{"v", 1}}).ok());
  ASSERT_TRUE(s->store_data("user:a", {{"v", 1}}).ok());
  ASSERT_TRUE(s->store_data("team:x", {{"v", 1}}).ok());
  EXPECT_EQ(get(*s, "user:a", "read", "doc:1"), true);
  EXPECT_EQ(s->policy_cache().statistics().invalidations, 0u);
}

TEST(PolicyCacheTest, NewerDecisionReplacesTheOlderAndItsNames) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->cache_policy_decision("user:a", "read", "doc:1", true, {.depends_on = {"team:x"}}).ok());
  ASSERT_TRUE(s->cache_policy_decision("user:a", "read", "doc:1", false).ok());
  EXPECT_EQ(get(*s, "user:a", "read", "doc:1"), false);
  EXPECT_EQ(s->policy_cache().statistics().size, 1u);
  // Only the older decision depended on team:x.
  ASSERT_TRUE(s->delete_data("team:x").ok());
  EXPECT_EQ(get(*s, "user:a", "read", "doc:1"), false);
  s.reset();
  s = open_store(dir.path());
  EXPECT_EQ(get(*s, "user:a", "read", "doc:1"), false);
  EXPECT_EQ(s->policy_cache().statistics().size, 1u);
}

TEST(PolicyCacheTest, ReopenRefillsUnexpiredAndKeepsInvalidationsAndExpiries) {
  TempDir dir;
  TestClock clock;
  Options o;
  o.clock = clock.fn();
  {
    auto s = open_store(dir.path(), o);
    ASSERT_TRUE(s->cache_policy_decision("user:a", "read", "doc:live", true, {.ttl = 3600s}).ok());
    ASSERT_TRUE(s->cache_policy_decision("user:a", "read", "doc:gone", true, {.ttl = 3600s}).ok());
    ASSERT_TRUE(s->cache_policy_decision("user:a", "read", "doc:short", false, {.ttl = 60s}).ok());
    ASSERT_TRUE(s->delete_data("doc:gone").ok());
  }
  clock.advance(120s);
  auto s = open_store(dir.path(), o);
  EXPECT_EQ(s->policy_cache().statistics().size, 1u);  // loaded: only the unexpired, live one
  EXPECT_EQ(get(*s, "user:a", "read", "doc:live"), true);
  EXPECT_EQ(get(*s, "user:a", "read", "doc:gone"), std::nullopt);
  EXPECT_EQ(get(*s, "user:a", "read", "doc:short"), std::nullopt);
  EXPECT_EQ(s->policy_cache().statistics().expirations, 0u);  // never loaded
}

TEST(PolicyCacheTest, LruBoundAndShrinking) {
  TempDir dir;
  Options o;
  o.policy_cache_size = 3;
  auto s = open_store(dir.path(), o);
  EXPECT_EQ(s->policy_cache().config().max_entries, 3u);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(s->cache_policy_decision("u", "read", "r" + std::to_string(i), true).ok());
  }
  EXPECT_EQ(get(*s, "u", "read", "r0"), true);  // now the most recent
  ASSERT_TRUE(s->cache_policy_decision("u", "read", "r3", true).ok());
  EXPECT_EQ(s->policy_cache().statistics().size, 3u);
  EXPECT_EQ(get(*s, "u", "read", "r1"), std::nullopt);  // the least recent went
  EXPECT_EQ(get(*s, "u", "read", "r0"), true);
  EXPECT_EQ(get(*s, "u", "read", "r2"), true);
  EXPECT_EQ(get(*s, "u", "read", "r3"), true);
  // Hits between two inserts count as equally recent (policy_cache.h); a newer
  // insert is more recent than all of them, so shrinking to 1 keeps r4.
  ASSERT_TRUE(s->cache_policy_decision("u", "read", "r4", true).ok());
  ASSERT_TRUE(s->policy_cache().configure({.max_entries = 1}).ok());
  const PolicyCacheStatistics st = s->policy_cache().statistics();
  EXPECT_EQ(st.size, 1u);
  EXPECT_EQ(st.capacity, 1u);
  EXPECT_EQ(get(*s, "u", "read", "r4"), true);
  EXPECT_EQ(get(*s, "u", "read", "r3"), std::nullopt);
  // At open the newest decisions are loaded, up to the capacity.
  s.reset();
  o.policy_cache_size = 2;
  s = open_store(dir.path(), o);
  EXPECT_EQ(s->policy_cache().statistics().size, 2u);
  EXPECT_EQ(get(*s, "u", "read", "r4"), true);
  EXPECT_EQ(get(*s, "u", "read", "r3"), true);
  EXPECT_EQ(get(*s, "u", "read", "r2"), std::nullopt);
}

TEST(PolicyCacheTest, StatisticsCount) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->cache_policy_decision("u", "read", "r", true).ok());
  ASSERT_TRUE(s->cache_policy_decision("u", "read", "q", true).ok());
  get(*s, "u", "read", "r");
  get(*s, "u", "read", "r");
  get(*s, "u", "read", "nothing");
  ASSERT_TRUE(s->delete_data("r").ok());
  get(*s, "u", "read", "r");
  const PolicyCacheStatistics st = s->policy_cache().statistics();
  EXPECT_EQ(st.hits, 2u);
  EXPECT_EQ(st.misses, 2u);
  EXPECT_EQ(st.invalidations, 1u);
  EXPECT_EQ(st.expirations, 0u);
  EXPECT_EQ(st.size, 1u);
  EXPECT_EQ(st.capacity, 10000u);
  const Statistics all = s->get_statistics();
  EXPECT_EQ(all.policy_cache.hits, 2u);
  EXPECT_EQ(all.policy_cache.size, 1u);
}

TEST(PolicyCacheTest, BadInputIsRefusedAndChangesNothing) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->cache_policy_decision("u", "read", "r", true).ok());
  const Seq head = s->get_statistics().head_seq;
  const std::string nul("a\0b", 3);
  std::vector<std::string> too_many(65, "k");
  const std::vector<std::function<Result<Seq>()>> bad = {
      [&] { return s->cache_policy_decision("", "read", "r", true); },
      [&] { return s->cache_policy_decision(nul, "read", "r", true); },
      [&] { return s->cache_policy_decision("u", "", "r", true); },
      [&] { return s->cache_policy_decision("u", "re\nad", "r", true); },
      [&] { return s->cache_policy_decision("u", std::string(257, 'a'), "r", true); },
      [&] { return s->cache_policy_decision("u", "read", "", true); },
      [&] { return s->cache_policy_decision("u", "read", std::string(1025, 'k'), true); },
      [&] { return s->cache_policy_decision("u", "read", "r", false, {.ttl = 0s}); },
      [&] { return s->cache_policy_decision("u", "read", "r", false, {.ttl = std::chrono::seconds(-5)}); },
      [&] { return s->cache_policy_decision("u", "read", "r", false, {.depends_on = {"ok", ""}}); },
      [&] { return s->cache_policy_decision("u", "read", "r", false, {.depends_on = too_many}); },
  };
  for (std::size_t i = 0; i < bad.size(); ++i) {
    Result<Seq> r = bad[i]();
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << "case " << i;
  }
  EXPECT_EQ(s->get_cached_policy("", "read", "r").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->get_cached_policy("u", "", "r").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->get_cached_policy("u", "read", nul).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->policy_cache().configure({.default_ttl = 0s}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->policy_cache().configure({.max_entries = 0}).code(), StatusCode::kInvalidArgument);
  // Refused as a whole: the valid field is not applied either.
  EXPECT_EQ(s->policy_cache().configure({.default_ttl = 5s, .max_entries = 0}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(s->get_statistics().head_seq, head);  // nothing written
  EXPECT_EQ(get(*s, "u", "read", "r"), true);     // the decision is unchanged
  EXPECT_EQ(s->policy_cache().config().default_ttl, 3600s);
  EXPECT_EQ(s->policy_cache().config().max_entries, 10000u);
  EXPECT_EQ(s->policy_cache().statistics().size, 1u);
  // After close configure is refused; statistics still answer.
  ASSERT_TRUE(s->close().ok());
  EXPECT_EQ(s->policy_cache().configure({.max_entries = 5}).code(), StatusCode::kUnavailable);
  EXPECT_EQ(s->cache_policy_decision("u", "read", "r", true).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(s->policy_cache().statistics().size, 1u);
}

// The view's own table (open addressing, grown as it fills, entries removed by
// shifting their probe run back): thousands of decisions inserted, replaced and
// invalidated, then every triple answers as a plain map of the same operations
// says, also for triples whose parts split the same bytes differently.
TEST(PolicyCacheTest, ManyDecisionsInsertedReplacedAndDroppedAnswerLikeAMap) {
  TempDir dir;
  Options o;
  o.policy_cache_size = 100000;
  auto s = open_store(dir.path(), o);
  std::map<std::tuple<std::string, std::string, std::string>, bool> model;
  auto decide = [&](const std::string& who, const std::string& what, const std::string& res,
                    bool allowed) {
    ASSERT_TRUE(s->cache_policy_decision(who, what, res, allowed).ok());
    model[{who, what, res}] = allowed;
  };
  for (int i = 0; i < 3000; ++i) {
    decide("u" + std::to_string(i % 37), i % 2 ? "read" : "write", "r" + std::to_string(i),
           i % 3 == 0);
  }
  // The same bytes split differently: ("ab", "c", r) is not ("a", "bc", r).
  decide("ab", "c", "r0", true);
  decide("a", "bc", "r0", false);
  for (int i = 0; i < 3000; i += 7)
    decide("u" + std::to_string(i % 37), i % 2 ? "read" : "write", "r" + std::to_string(i),
           i % 3 != 0);
  for (int i = 0; i < 3000; i += 5) {
    const std::string res = "r" + std::to_string(i);
    ASSERT_TRUE(s->delete_data(res).ok());
    for (auto it = model.begin(); it != model.end();) {
      it = std::get<2>(it->first) == res ? model.erase(it) : std::next(it);
    }
  }
  EXPECT_EQ(s->policy_cache().statistics().size, model.size());
  for (const auto& [k, allowed] : model) {
    EXPECT_EQ(get(*s, std::get<0>(k), std::get<1>(k), std::get<2>(k)), allowed)
        << std::get<0>(k) << " " << std::get<1>(k) << " " << std::get<2>(k);
  }
  for (int i = 0; i < 3000; i += 5) {
    EXPECT_EQ(
        get(*s, "u" + std::to_string(i % 37), i % 2 ? "read" : "write", "r" + std::to_string(i)),
        std::nullopt);
  }
  EXPECT_EQ(s->get_cached_policy("abc", "", "r0").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(get(*s, "u1", "read", "r999999"), std::nullopt);
}

// Without an injected clock the view reads the coarse wall clock and adds its
// resolution: a decision is a hit right after it was made and is gone once its
// TTL has passed by the precise clock (never served late).
TEST(PolicyCacheTest, TtlByTheWallClockIsNeverLate) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->cache_policy_decision("user:a", "read", "doc:1", true, {.ttl = 1s}).ok());
  const auto decided = std::chrono::system_clock::now();
  EXPECT_EQ(get(*s, "user:a", "read", "doc:1"), true);
  std::this_thread::sleep_until(decided + 1s + 5ms);
  EXPECT_EQ(get(*s, "user:a", "read", "doc:1"), std::nullopt);
  EXPECT_EQ(s->policy_cache().statistics().expirations, 1u);
}

// Once a delete_data returned, no reader gets the decision it revoked.
TEST(PolicyCacheTest, NoRevokedDecisionAfterTheInvalidatingWriteReturned) {
  TempDir dir;
  auto s = open_store(dir.path());
  constexpr int kRounds = 200;
  std::vector<std::string> res;
  for (int i = 0; i < kRounds; ++i) res.push_back("doc:" + std::to_string(i));
  std::atomic<int> revoked{-1};  // every resource up to this one was deleted
  std::atomic<bool> stop{false};
  std::atomic<int> stale{0};
  std::atomic<std::uint64_t> hits{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      for (unsigned n = t; !stop.load(); ++n) {
        const int upto = revoked.load(std::memory_order_acquire);
        const int i = static_cast<int>(n % kRounds);
        Result<std::optional<bool>> r = s->get_cached_policy("user:a", "read", res[i]);
        if (!r.ok()) continue;
        if (r->has_value()) {
          hits.fetch_add(1);
          if (i <= upto) stale.fetch_add(1);
        }
      }
    });
  }
  for (int i = 0; i < kRounds; ++i) {
    ASSERT_TRUE(s->cache_policy_decision("user:a", "read", res[i], true).ok());
  }
  for (int i = 0; i < kRounds; ++i) {
    ASSERT_TRUE(s->delete_data(res[i]).ok());
    revoked.store(i, std::memory_order_release);
    // Keep the cache busy: decisions are inserted while others are dropped.
    ASSERT_TRUE(s->cache_policy_decision("user:b", "read", res[i], true).ok());
  }
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(stale.load(), 0);
  EXPECT_EQ(s->policy_cache().statistics().invalidations, static_cast<std::uint64_t>(kRounds));
  for (int i = 0; i < kRounds; ++i) EXPECT_EQ(get(*s, "user:b", "read", res[i]), true);
}

// Relationship changes through the Storage API (run once relationships are merged).
TEST(PolicyCacheTest, RelationshipChangeOfIdentityOrResourceInvalidates) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->cache_policy_decision("user:a", "read", "doc:1", true).ok());
  ASSERT_TRUE(s->cache_policy_decision("user:b", "read", "doc:2", true).ok());
  ASSERT_TRUE(s->cache_policy_decision("user:c", "read", "doc:3", true, {.depends_on = {"team:x"}}).ok());
  ASSERT_TRUE(s->cache_policy_decision("user:d", "read", "doc:4", true).ok());
  if (!s->store_relationship("user:a", "member_of", "team:y").ok()) GTEST_SKIP() << "relationships not merged yet";
  EXPECT_EQ(get(*s, "user:a", "read", "doc:1"), std::nullopt);  // the identity as subject
  ASSERT_TRUE(s->store_relationship("folder:f", "contains", "doc:2").ok());
  EXPECT_EQ(get(*s, "user:b", "read", "doc:2"), std::nullopt);  // the resource as object
  ASSERT_TRUE(s->remove_relationship("user:z", "member_of", "team:x").ok());
  EXPECT_EQ(get(*s, "user:c", "read", "doc:3"), std::nullopt);  // depends_on, by a removal
  EXPECT_EQ(get(*s, "user:d", "read", "doc:4"), true);
  s.reset();
  s = open_store(dir.path());
  EXPECT_EQ(get(*s, "user:a", "read", "doc:1"), std::nullopt);
  EXPECT_EQ(get(*s, "user:d", "read", "doc:4"), true);
}

// --- The projections directly: a log with the policy index and the cache view,
// fed drafts (relationship events included) as the engine will.

struct Fixture {
  TempDir dir;
  std::int64_t now_ns = 0;
  std::unique_ptr<log::EventLog> log;
  std::unique_ptr<projections::ProjectionSet> proj;
  PolicyIndex* index = nullptr;
  std::unique_ptr<PolicyCacheView> view;

  explicit Fixture(bool with_policy = true) { open(with_policy); }
  void open(bool with_policy = true) {
    view.reset();
    proj.reset();
    log.reset();
    log::EventLogOptions o;
    o.path = dir.path();
    o.extra_column_families = projections::column_families();
    auto l = log::EventLog::open(o);
    ASSERT_TRUE(l.ok()) << l.status().to_string();
    log = std::move(*l);
    proj = std::make_unique<projections::ProjectionSet>(*log);
    index = nullptr;
    if (with_policy) {
      auto p = std::make_unique<PolicyIndex>(*log);
      index = p.get();
      proj->add(std::move(p));
      view = std::make_unique<PolicyCacheView>(*index, 100, [this] { return now_ns; });
      proj->add_view(*view);
    }
    log->set_projector(proj.get());
    ASSERT_TRUE(proj->catch_up().ok());
  }
  static log::EventDraft decision(std::string who, std::string action, std::string what, bool allowed,
                                  std::vector<std::string> depends_on = {}) {
    log::EventDraft d;
    d.type = EventType::PolicyDecided;
    d.key = std::move(what);
    d.attrs.principal = std::move(who);
    d.attrs.action = std::move(action);
    d.attrs.allowed = allowed;
    d.attrs.ttl_ns = std::int64_t{3600} * 1000000000;
    d.attrs.names = std::move(depends_on);
    return d;
  }
  static log::EventDraft edge(EventType type, std::string subject, std::string object) {
    log::EventDraft d;
    d.type = type;
    d.key = std::move(subject);
    d.attrs.predicate = "member_of";
    d.attrs.object = std::move(object);
    return d;
  }
  static log::EventDraft data(EventType type, std::string key) {
    return {type, std::move(key), type == EventType::DataStored ? "{}" : ""};
  }
  Seq append(std::vector<log::EventDraft> events) {
    log::AppendRequest req;
    req.events = std::move(events);
    req.identity = "test";
    Status s = log->append(&req);
    EXPECT_TRUE(s.ok()) << s.to_string();
    return req.first_seq;
  }
  // The live decisions; with_expiry = false zeroes expires_ns (it depends on when
  // the events were written, not on the log's order).
  std::vector<Decision> live(bool with_expiry = true) const {
    std::vector<Decision> out;
    EXPECT_TRUE(index->for_each([&](const Decision& d) {
                  out.push_back(d);
                  if (!with_expiry) out.back().expires_ns = 0;
                  return true;
                }).ok());
    return out;
  }
};

TEST(PolicyIndexTest, RelationshipEventsInvalidateBothEndsAndDependencies) {
  Fixture f;
  f.append({Fixture::decision("user:a", "read", "doc:1", true)});
  f.append({Fixture::decision("user:b", "read", "doc:2", true)});
  f.append({Fixture::decision("user:c", "read", "doc:3", true, {"team:x", "org:o"})});
  f.append({Fixture::decision("user:d", "read", "doc:4", false)});
  ASSERT_EQ(f.live().size(), 4u);
  EXPECT_EQ(f.view->lookup("user:c", "read", "doc:3"), true);

  f.append({Fixture::edge(EventType::RelationshipAdded, "user:a", "team:y")});  // identity as subject
  EXPECT_FALSE(f.index->get("user:a", "read", "doc:1")->has_value());
  EXPECT_EQ(f.view->lookup("user:a", "read", "doc:1"), std::nullopt);
  f.append({Fixture::edge(EventType::RelationshipRemoved, "folder:f", "doc:2")});  // resource as object
  EXPECT_FALSE(f.index->get("user:b", "read", "doc:2")->has_value());
  EXPECT_EQ(f.view->lookup("user:b", "read", "doc:2"), std::nullopt);
  f.append({Fixture::edge(EventType::RelationshipAdded, "org:o", "org:p")});  // a depends_on key
  EXPECT_FALSE(f.index->get("user:c", "read", "doc:3")->has_value());
  EXPECT_EQ(f.view->lookup("user:c", "read", "doc:3"), std::nullopt);
  f.append({Fixture::data(EventType::DataStored, "user:d")});  // a store names nothing
  ASSERT_EQ(f.live().size(), 1u);
  EXPECT_EQ(f.live()[0].principal, "user:d");
  EXPECT_EQ(f.view->lookup("user:d", "read", "doc:4"), false);
  EXPECT_EQ(f.view->statistics().invalidations, 3u);
}

TEST(PolicyIndexTest, DecisionsAndInvalidationsOfOneRequestApplyInOrder) {
  Fixture f;
  // Decided, then revoked in the same request: stays dropped in both.
  f.append({Fixture::decision("user:a", "read", "doc:1", true), Fixture::data(EventType::DataDeleted, "doc:1")});
  EXPECT_FALSE(f.index->get("user:a", "read", "doc:1")->has_value());
  EXPECT_EQ(f.view->lookup("user:a", "read", "doc:1"), std::nullopt);
  // Revoked, then decided: the decision holds.
  f.append({Fixture::data(EventType::DataDeleted, "doc:2"), Fixture::decision("user:a", "read", "doc:2", true)});
  EXPECT_TRUE(f.index->get("user:a", "read", "doc:2")->has_value());
  EXPECT_EQ(f.view->lookup("user:a", "read", "doc:2"), true);
  // A replaced decision's names are gone with it.
  f.append({Fixture::decision("user:a", "write", "doc:3", true, {"team:x"}),
            Fixture::decision("user:a", "write", "doc:3", false)});
  f.append({Fixture::data(EventType::DataDeleted, "team:x")});
  ASSERT_TRUE(f.index->get("user:a", "write", "doc:3")->has_value());
  EXPECT_FALSE((*f.index->get("user:a", "write", "doc:3"))->allowed);
  EXPECT_EQ(f.view->lookup("user:a", "write", "doc:3"), false);
}

TEST(PolicyIndexTest, DecisionRowHoldsItsFieldsAndExpiry) {
  Fixture f;
  const Seq s = f.append({Fixture::decision("user:a", "read", "doc:1", true, {"k1", "k2"})});
  const log::Event e = *f.log->read(s);
  auto d = f.index->get("user:a", "read", "doc:1");
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_EQ((*d)->seq, s);
  EXPECT_TRUE((*d)->allowed);
  EXPECT_EQ((*d)->depends_on, (std::vector<std::string>{"k1", "k2"}));
  EXPECT_EQ((*d)->expires_ns, e.timestamp_ns + std::int64_t{3600} * 1000000000);
  // The view judges expiry by its clock.
  f.now_ns = (*d)->expires_ns - 1;
  EXPECT_EQ(f.view->lookup("user:a", "read", "doc:1"), true);
  f.now_ns = (*d)->expires_ns;
  EXPECT_EQ(f.view->lookup("user:a", "read", "doc:1"), std::nullopt);
  EXPECT_EQ(f.view->statistics().expirations, 1u);
}

// A store written before the policy index existed: catch-up (apply) builds the
// same rows that staging would have.
TEST(PolicyIndexTest, CatchUpBuildsWhatStagingBuilds) {
  auto workload = [](Fixture& f) {
    for (int i = 0; i < 50; ++i) {
      const std::string r = "doc:" + std::to_string(i % 20);
      const std::string u = "user:" + std::to_string(i % 7);
      f.append({Fixture::decision(u, "read", r, i % 2 == 0, {"team:" + std::to_string(i % 5)})});
      if (i % 6 == 0) f.append({Fixture::edge(EventType::RelationshipAdded, u, "team:z")});
      if (i % 9 == 0) f.append({Fixture::data(EventType::DataDeleted, "team:" + std::to_string(i % 5))});
      if (i % 4 == 0) {
        f.append({Fixture::decision(u, "write", r, true), Fixture::data(EventType::DataDeleted, r),
                  Fixture::decision(u, "list", r, true)});
      }
    }
  };
  Fixture staged;
  workload(staged);
  const std::vector<Decision> want = staged.live(false);
  ASSERT_FALSE(want.empty());

  Fixture caught(/*with_policy=*/false);
  workload(caught);
  caught.open(/*with_policy=*/true);  // new projection: replayed from the log
  EXPECT_EQ(caught.live(false), want);
  EXPECT_EQ(caught.view->statistics().size, want.size());
  for (const Decision& d : want) EXPECT_EQ(caught.view->lookup(d.principal, d.action, d.resource), d.allowed);
  // The name rows are rebuilt too: a later invalidation drops what it should.
  const Decision& first = want.front();
  caught.append({Fixture::data(EventType::DataDeleted, first.resource)});
  staged.append({Fixture::data(EventType::DataDeleted, first.resource)});
  EXPECT_EQ(caught.live(false), staged.live(false));
  EXPECT_EQ(caught.view->lookup(first.principal, first.action, first.resource), std::nullopt);
}

}  // namespace
}  // namespace omni
