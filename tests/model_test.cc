// A randomized model test: 20,000 random operations (store, delete, relate,
// unrelate, version, decide, batch) against Omni and against a plain in-memory
// model of what they mean. After the run, after rebuild_projections() and after
// close/reopen every projection
// (state, relationships both ways, versions, policy cache) must equal the model,
// and throughout the run the policy cache must never answer a decision the model
// says was invalidated. The seed is printed; OMNI_MODEL_SEED=<n> replays one.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "omni/storage.h"
#include "test_util.h"

namespace omni {
namespace {

using omni::testing::TempDir;
using Edge = std::tuple<std::string, std::string, std::string>;
using Triple = std::tuple<std::string, std::string, std::string>;  // identity, action, resource

constexpr int kKeys = 40;
constexpr std::size_t kMaxVersions = 4;

struct Decision {
  bool allowed;
  std::vector<std::string> names;  // identity, resource, depends_on
};

struct Model {
  std::map<std::string, Json> state;
  std::set<Edge> edges;
  std::map<std::string, std::vector<std::pair<std::string, Json>>> versions;  // oldest first
  std::map<Triple, Decision> decisions;  // live ones
  std::set<Triple> dropped;              // invalidated and not decided again since

  void invalidate(const std::string& name) {
    for (auto it = decisions.begin(); it != decisions.end();) {
      const auto& n = it->second.names;
      if (std::find(n.begin(), n.end(), name) != n.end()) {
        dropped.insert(it->first);
        it = decisions.erase(it);
      } else {
        ++it;
      }
    }
  }
  void relate(const Edge& e, bool add) {
    if (add) {
      edges.insert(e);
    } else {
      edges.erase(e);
    }
    invalidate(std::get<0>(e));
    invalidate(std::get<2>(e));
  }
  void remove_key(const std::string& k) {
    state.erase(k);
    invalidate(k);
    // The cascade: each removed edge names both of its ends.
    for (auto it = edges.begin(); it != edges.end();) {
      if (std::get<0>(*it) == k || std::get<2>(*it) == k) {
        const Edge e = *it;
        it = edges.erase(it);
        invalidate(std::get<0>(e));
        invalidate(std::get<2>(e));
      } else {
        ++it;
      }
    }
  }
};

class ModelTest : public ::testing::Test {
 protected:
  std::unique_ptr<Storage> open(const std::string& path) {
    Options o;
    o.path = path;
    o.max_versions_per_key = kMaxVersions;
    o.policy_cache_size = 1 << 20;  // no eviction: every live decision must be answered
    auto r = Storage::open(std::move(o));
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? std::move(*r) : nullptr;
  }

  static void expect_equal(Storage& s, const Model& m, const std::string& when) {
    SCOPED_TRACE(when);
    const std::vector<std::string> preds = {"p0", "p1", "p2"};
    for (int i = 0; i < kKeys; ++i) {
      const std::string k = "k" + std::to_string(i);
      auto doc = s.load_data(k);
      ASSERT_TRUE(doc.ok()) << doc.status().to_string();
      auto it = m.state.find(k);
      if (it == m.state.end()) {
        EXPECT_FALSE(doc->has_value()) << k;
      } else {
        EXPECT_EQ(doc->value_or(Json()), it->second) << k;
      }
      for (const auto& p : preds) {
        std::vector<std::string> fwd, rev;
        for (const auto& [a, b, c] : m.edges) {
          if (a == k && b == p) fwd.push_back(c);
          if (c == k && b == p) rev.push_back(a);
        }
        std::sort(rev.begin(), rev.end());
        EXPECT_EQ(*s.get_related(k, p), fwd) << k << " " << p;
        EXPECT_EQ(*s.get_related_reverse(k, p), rev) << k << " " << p;
      }
      auto vs = s.list_versions(k);
      ASSERT_TRUE(vs.ok()) << vs.status().to_string();
      std::vector<std::string> labels, want;
      for (const auto& v : *vs) labels.push_back(v.label);
      if (auto mv = m.versions.find(k); mv != m.versions.end()) {
        for (const auto& [l, d] : mv->second) {
          want.push_back(l);
          EXPECT_EQ(s.load_version(k, l)->value_or(Json()), d) << k << " " << l;
        }
      }
      EXPECT_EQ(labels, want) << k;
    }
    for (const auto& [t, d] : m.decisions) {
      auto [id, action, res] = t;
      EXPECT_EQ(*s.get_cached_policy(id, action, res), std::optional<bool>(d.allowed))
          << id << " " << action << " " << res;
    }
    for (const auto& t : m.dropped) {
      auto [id, action, res] = t;
      EXPECT_EQ(*s.get_cached_policy(id, action, res), std::nullopt) << id << " " << action << " " << res;
    }
  }
};

TEST_F(ModelTest, RandomOperationsMatchAnInMemoryModel) {
  const char* env = std::getenv("OMNI_MODEL_SEED");
  const unsigned seed = env ? static_cast<unsigned>(std::strtoul(env, nullptr, 10)) : std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (OMNI_MODEL_SEED=" + std::to_string(seed) + " replays it)");
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  auto key = [&] { return "k" + std::to_string(pick(kKeys)); };

  TempDir dir;
  auto s = open(dir.path());
  ASSERT_TRUE(s);
  Model m;
  for (int op = 0; op < 20000 && !::testing::Test::HasFailure(); ++op) {
    const int what = pick(100);
    std::vector<Triple> before_dropped;
    if (what < 25) {  // store
      const std::string k = key();
      Json doc = {{"op", op}};
      ASSERT_TRUE(s->store_data(k, doc).ok());
      m.state[k] = doc;
    } else if (what < 33) {  // delete (cascades)
      const std::string k = key();
      ASSERT_TRUE(s->delete_data(k).ok());
      m.remove_key(k);
    } else if (what < 50) {  // relate
      Edge e{key(), "p" + std::to_string(pick(3)), key()};
      ASSERT_TRUE(s->store_relationship(std::get<0>(e), std::get<1>(e), std::get<2>(e)).ok());
      m.relate(e, true);
    } else if (what < 58) {  // unrelate (often of an absent edge)
      Edge e{key(), "p" + std::to_string(pick(3)), key()};
      ASSERT_TRUE(s->remove_relationship(std::get<0>(e), std::get<1>(e), std::get<2>(e)).ok());
      m.relate(e, false);
    } else if (what < 72) {  // version
      const std::string k = key();
      const std::string label = "v" + std::to_string(pick(8));
      const bool overwrite = pick(2) == 0;
      Json doc = {{"version", op}};
      auto& vs = m.versions[k];
      auto it = std::find_if(vs.begin(), vs.end(), [&](const auto& v) { return v.first == label; });
      Result<Seq> r = s->store_version(k, label, doc, {.overwrite = overwrite});
      if (it != vs.end() && !overwrite) {
        ASSERT_EQ(r.status().code(), StatusCode::kConflict) << r.status().to_string();
      } else {
        ASSERT_TRUE(r.ok()) << r.status().to_string();
        if (it != vs.end()) vs.erase(it);
        vs.emplace_back(label, doc);
        while (vs.size() > kMaxVersions) vs.erase(vs.begin());
      }
    } else if (what < 92) {  // decide
      const std::string id = key(), res = key(), action = pick(2) ? "read" : "write";
      std::vector<std::string> deps;
      for (int d = pick(3); d > 0; --d) deps.push_back(key());
      const bool allowed = pick(2) == 0;
      ASSERT_TRUE(s->cache_policy_decision(id, action, res, allowed, {.depends_on = deps}).ok());
      Decision dec{allowed, {id, res}};
      dec.names.insert(dec.names.end(), deps.begin(), deps.end());
      m.decisions[{id, action, res}] = dec;
      m.dropped.erase({id, action, res});
    } else {  // batch of stores
      std::vector<BatchItem> items;
      for (int n = 1 + pick(3); n > 0; --n) items.push_back({key(), Json{{"batch", op}}, std::nullopt});
      ASSERT_TRUE(s->store_batch(items).ok());
      for (const auto& it : items) m.state[it.key] = it.doc;
    }
    // Never a decision the model dropped (checked for a sample after every op).
    if (!m.dropped.empty()) {
      auto it = m.dropped.begin();
      std::advance(it, pick(static_cast<int>(m.dropped.size())));
      auto [id, action, res] = *it;
      ASSERT_EQ(*s->get_cached_policy(id, action, res), std::nullopt)
          << "op " << op << ": invalidated decision " << id << " " << action << " " << res;
    }
  }
  expect_equal(*s, m, "after the run");
  ASSERT_TRUE(s->rebuild_projections().ok());
  expect_equal(*s, m, "after rebuild_projections()");
  ASSERT_TRUE(s->close().ok());
  s = open(dir.path());
  ASSERT_TRUE(s);
  expect_equal(*s, m, "after close and reopen");
  EXPECT_EQ(s->check_health().status, HealthStatus::kHealthy) << s->check_health().detail;
}

}  // namespace
}  // namespace omni
