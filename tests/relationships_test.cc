// Relationships: the forward and reverse index, idempotence, paging, cycles, the
// cascade of delete_data, relationship_changed notifications, bad input, reopen
// and catch-up at open.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "omni/projections/projection_set.h"
#include "omni/projections/relationships.h"
#include "omni/storage.h"
#include "test_util.h"

namespace omni {
namespace {

using namespace std::chrono_literals;
using omni::testing::TempDir;
using Strings = std::vector<std::string>;
using Triple = std::tuple<std::string, std::string, std::string>;

template <typename Pred>
bool eventually(Pred pred, std::chrono::seconds limit = 30s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

std::unique_ptr<Storage> open_store(const std::string& path, std::size_t threads = 2) {
  auto s = Storage::open({.path = path, .executor_threads = threads});
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  return std::move(*s);
}

Strings related(Storage& s, std::string_view subj, std::string_view pred, const ListOptions& lo = {}) {
  auto r = s.get_related(subj, pred, lo);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : Strings{};
}
Strings reverse(Storage& s, std::string_view obj, std::string_view pred, const ListOptions& lo = {}) {
  auto r = s.get_related_reverse(obj, pred, lo);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : Strings{};
}
std::vector<Triple> edges_of(Storage& s, std::string_view key, const ListOptions& lo = {}) {
  auto r = s.get_relationships(key, lo);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  std::vector<Triple> out;
  if (r.ok()) for (const Relationship& e : *r) out.emplace_back(e.subject, e.predicate, e.object);
  return out;
}

// Every forward row has its reverse row and vice versa (read with RocksDB
// directly; the store must be closed). Returns the forward edges.
std::set<Triple> raw_edges_agree(const std::string& path) {
  std::set<Triple> fwd, rev;
  omni::testing::with_raw_db(path, [&](rocksdb::DB* db, const auto& cf) {
    for (auto [name, out, reversed] : {std::tuple{projections::kRelFwdCf, &fwd, false},
                                       std::tuple{projections::kRelRevCf, &rev, true}}) {
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf(name)));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        std::string k = it->key().ToString();
        const auto i = k.find('\0'), j = k.find('\0', i + 1);
        std::string a = k.substr(0, i), p = k.substr(i + 1, j - i - 1), b = k.substr(j + 1);
        out->emplace(reversed ? b : a, p, reversed ? a : b);
      }
    }
  });
  EXPECT_EQ(fwd, rev) << "forward and reverse indexes disagree";
  return fwd;
}

TEST(RelationshipsTest, StoreGetReverseAndGetRelationships) {
  TempDir dir;
  auto s = open_store(dir.path());
  auto a = s->store_relationship("alice", "member_of", "team-b");
  auto b = s->store_relationship("alice", "member_of", "team-a");
  auto c = s->store_relationship("bob", "member_of", "team-a");
  auto d = s->store_relationship("team-a", "owns", "alice");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok());
  EXPECT_EQ(*b, *a + 1);
  EXPECT_EQ(related(*s, "alice", "member_of"), (Strings{"team-a", "team-b"}));  // byte order
  EXPECT_EQ(related(*s, "alice", "owns"), Strings{});
  EXPECT_EQ(reverse(*s, "team-a", "member_of"), (Strings{"alice", "bob"}));
  EXPECT_EQ(reverse(*s, "alice", "owns"), Strings{"team-a"});
  auto all = s->get_relationships("alice");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::vector<Relationship>{{"alice", "member_of", "team-a", *b},
                                             {"alice", "member_of", "team-b", *a},
                                             {"team-a", "owns", "alice", *d}}));
  auto rm = s->remove_relationship("alice", "member_of", "team-a");
  ASSERT_TRUE(rm.ok());
  EXPECT_EQ(*rm, *d + 1);
  EXPECT_EQ(related(*s, "alice", "member_of"), Strings{"team-b"});
  EXPECT_EQ(reverse(*s, "team-a", "member_of"), Strings{"bob"});
  // Storing the inverse by hand still works.
  ASSERT_TRUE(s->store_relationship("team-b", "has_member", "alice").ok());
  EXPECT_EQ(related(*s, "team-b", "has_member"), Strings{"alice"});
}

TEST(RelationshipsTest, ReaddingIsIdempotentAndRemovingAnAbsentEdgeIsRecorded) {
  TempDir dir;
  auto s = open_store(dir.path());
  auto first = s->store_relationship("a", "p", "b");
  auto again = s->store_relationship("a", "p", "b");
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(*again, *first + 1);
  EXPECT_EQ(related(*s, "a", "p"), Strings{"b"});  // one row
  auto rels = s->get_relationships("a");
  ASSERT_TRUE(rels.ok());
  ASSERT_EQ(rels->size(), 1u);
  EXPECT_EQ((*rels)[0].seq, *first) << "a re-add changed the row";
  auto trail = s->get_audit_trail("a");
  ASSERT_TRUE(trail.ok());
  ASSERT_EQ(trail->size(), 2u);  // two events
  EXPECT_EQ((*trail)[1].operation, "relationship_added");

  auto absent = s->remove_relationship("x", "p", "y");
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(*absent, *again + 1);
  EXPECT_EQ(s->get_statistics().head_seq, *absent);
  auto xt = s->get_audit_trail("y");
  ASSERT_TRUE(xt.ok());
  ASSERT_EQ(xt->size(), 1u);
  EXPECT_EQ((*xt)[0].operation, "relationship_removed");
  EXPECT_EQ(related(*s, "a", "p"), Strings{"b"});
  // Removed twice: the second removal is recorded and changes nothing.
  ASSERT_TRUE(s->remove_relationship("a", "p", "b").ok());
  ASSERT_TRUE(s->remove_relationship("a", "p", "b").ok());
  EXPECT_EQ(related(*s, "a", "p"), Strings{});
  ASSERT_TRUE(s->close().ok());
  EXPECT_TRUE(raw_edges_agree(dir.path()).empty());
}

std::string num(int i) {
  char b[16];
  std::snprintf(b, sizeof b, "n%05d", i);
  return b;
}

TEST(RelationshipsTest, PagingWalksEveryEdgeOnceInByteOrder) {
  TempDir dir;
  auto s = open_store(dir.path());
  constexpr int kN = 1000;
  for (int i = kN - 1; i >= 0; --i) {  // stored out of order
    ASSERT_TRUE(s->store_relationship("hub", "links", num(i)).ok());
    ASSERT_TRUE(s->store_relationship(num(i), "links", "hub").ok());
  }
  ASSERT_TRUE(s->store_relationship("hub", "other", "zz").ok());
  Strings all = related(*s, "hub", "links");
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kN));
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
  EXPECT_EQ(related(*s, "hub", "links", {.limit = 3}), (Strings{num(0), num(1), num(2)}));
  EXPECT_EQ(related(*s, "hub", "links", {.limit = 2, .start_after = num(10)}), (Strings{num(11), num(12)}));
  EXPECT_EQ(related(*s, "hub", "links", {.start_after = num(kN - 1)}), Strings{});
  for (auto* fn : {&related, &reverse}) {
    Strings paged;
    ListOptions lo{.limit = 77};
    for (;;) {
      Strings page = (*fn)(*s, "hub", "links", lo);
      ASSERT_LE(page.size(), 77u);
      paged.insert(paged.end(), page.begin(), page.end());
      if (page.size() < 77) break;
      lo.start_after = page.back();
    }
    EXPECT_EQ(paged, all);
  }
  // get_relationships: 2,001 edges, both directions merged in (s, p, o) order.
  auto full = s->get_relationships("hub");
  ASSERT_TRUE(full.ok());
  ASSERT_EQ(full->size(), 2u * kN + 1);
  std::vector<Relationship> paged;
  ListOptions lo{.limit = 64};
  for (int pages = 0; pages < 100; ++pages) {
    auto page = s->get_relationships("hub", lo);
    ASSERT_TRUE(page.ok());
    paged.insert(paged.end(), page->begin(), page->end());
    if (page->size() < 64) break;
    lo.start_after = relationship_cursor(page->back());
  }
  EXPECT_EQ(paged, *full);
  std::vector<std::string> cursors;
  for (const Relationship& r : *full) cursors.push_back(relationship_cursor(r));
  EXPECT_TRUE(std::is_sorted(cursors.begin(), cursors.end()));
  EXPECT_EQ(std::set<std::string>(cursors.begin(), cursors.end()).size(), cursors.size());
  // The hub's own edges sit between the subjects before and after "hub".
  EXPECT_EQ((*full)[0].subject, "hub");  // "hub" < "n00000"
  EXPECT_EQ((*full)[kN].object, "zz");
  EXPECT_EQ((*full)[kN + 1].subject, num(0));
}

TEST(RelationshipsTest, CyclesArePlainDataAndEveryQueryTerminates) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->store_relationship("self", "knows", "self").ok());
  ASSERT_TRUE(s->store_relationship("x", "knows", "y").ok());
  ASSERT_TRUE(s->store_relationship("y", "knows", "x").ok());
  constexpr int kRing = 100;
  for (int i = 0; i < kRing; ++i) {
    ASSERT_TRUE(s->store_relationship(num(i), "next", num((i + 1) % kRing)).ok());
  }
  EXPECT_EQ(related(*s, "self", "knows"), Strings{"self"});
  EXPECT_EQ(reverse(*s, "self", "knows"), Strings{"self"});
  EXPECT_EQ(edges_of(*s, "self"), (std::vector<Triple>{{"self", "knows", "self"}}));  // once
  EXPECT_EQ(edges_of(*s, "x"), (std::vector<Triple>{{"x", "knows", "y"}, {"y", "knows", "x"}}));
  EXPECT_EQ(edges_of(*s, "y"), (std::vector<Triple>{{"x", "knows", "y"}, {"y", "knows", "x"}}));
  // Walk the ring by queries: back at the start after exactly kRing steps.
  std::string at = num(0);
  int steps = 0;
  do {
    Strings next = related(*s, at, "next");
    ASSERT_EQ(next.size(), 1u);
    at = next[0];
    ++steps;
  } while (at != num(0) && steps <= kRing);
  EXPECT_EQ(steps, kRing);
  EXPECT_EQ(edges_of(*s, num(0)), (std::vector<Triple>{{num(0), "next", num(1)}, {num(kRing - 1), "next", num(0)}}));
  EXPECT_EQ(reverse(*s, num(0), "next"), Strings{num(kRing - 1)});
  // Deleting a node of each cycle removes its edges only.
  ASSERT_TRUE(s->delete_data("self").ok());
  ASSERT_TRUE(s->delete_data("x").ok());
  ASSERT_TRUE(s->delete_data(num(50)).ok());
  EXPECT_EQ(edges_of(*s, "self"), std::vector<Triple>{});
  EXPECT_EQ(edges_of(*s, "y"), std::vector<Triple>{});
  EXPECT_EQ(related(*s, num(49), "next"), Strings{});
  EXPECT_EQ(related(*s, num(51), "next"), Strings{num(52)});
  ASSERT_TRUE(s->close().ok());
  EXPECT_EQ(raw_edges_agree(dir.path()).size(), static_cast<std::size_t>(kRing - 2));
}

TEST(RelationshipsTest, DeleteCascadesToEveryEdgeOfTheKeyInOneGroup) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->store_data("k", {{"v", 1}}).ok());
  ASSERT_TRUE(s->store_relationship("k", "likes", "a").ok());
  ASSERT_TRUE(s->store_relationship("k", "likes", "b").ok());
  ASSERT_TRUE(s->store_relationship("c", "follows", "k").ok());
  ASSERT_TRUE(s->store_relationship("k", "self", "k").ok());
  ASSERT_TRUE(s->store_relationship("a", "likes", "b").ok());  // not k's
  auto del = s->delete_data("k");
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(s->get_statistics().head_seq, *del + 4) << "the delete, then four removals";
  EXPECT_EQ(edges_of(*s, "k"), std::vector<Triple>{});
  EXPECT_EQ(reverse(*s, "a", "likes"), Strings{});
  EXPECT_EQ(related(*s, "a", "likes"), Strings{"b"});
  EXPECT_EQ(reverse(*s, "b", "likes"), Strings{"a"});

  auto trail = s->get_audit_trail("k");
  ASSERT_TRUE(trail.ok());
  std::vector<std::pair<Seq, Triple>> removed;
  for (const AuditEntry& e : *trail) {
    if (e.operation == "relationship_removed") removed.push_back({e.seq, {e.subject, e.predicate, e.object}});
  }
  ASSERT_EQ(removed.size(), 4u);
  for (std::size_t i = 0; i < removed.size(); ++i) EXPECT_EQ(removed[i].first, *del + 1 + i);
  std::set<Triple> got;
  for (auto& r : removed) got.insert(r.second);
  EXPECT_EQ(got, (std::set<Triple>{{"k", "likes", "a"}, {"k", "likes", "b"}, {"c", "follows", "k"}, {"k", "self", "k"}}));
  EXPECT_EQ(trail->back().seq, *del + 4);
  // The other ends' trails show their edge's removal.
  for (const char* other : {"a", "b", "c"}) {
    auto t = s->get_audit_trail(other);
    ASSERT_TRUE(t.ok());
    const bool found = std::any_of(t->begin(), t->end(), [&](const AuditEntry& e) {
      return e.operation == "relationship_removed" && e.seq > *del && (e.subject == "k" || e.object == "k");
    });
    EXPECT_TRUE(found) << other;
  }
  // Deleting it again (no edges) appends nothing.
  auto again = s->delete_data("k");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(s->get_statistics().head_seq, *again);
}

// At the log: a request deleting both ends of edges removes each edge once, a
// request that relates and then deletes removes that edge too, and the delete and
// its removals are one group.
TEST(RelationshipsTest, ExpandRemovesEachEdgeOnceAcrossTheDeletesOfOneRequest) {
  TempDir dir;
  log::EventLogOptions lo;
  lo.path = dir.path();
  lo.extra_column_families = projections::column_families();
  auto lg = std::move(*log::EventLog::open(lo));
  projections::ProjectionSet proj(*lg);
  auto owned = std::make_unique<projections::RelationshipIndex>(*lg);
  projections::RelationshipIndex& rel = *owned;
  proj.add(std::move(owned));
  lg->set_projector(&proj);
  ASSERT_TRUE(proj.catch_up().ok());
  auto edge = [](log::EventType t, std::string s, std::string p, std::string o) {
    log::EventDraft d;
    d.type = t;
    d.key = std::move(s);
    d.attrs.predicate = std::move(p);
    d.attrs.object = std::move(o);
    return d;
  };
  auto del = [](std::string k) { return log::EventDraft{log::EventType::DataDeleted, std::move(k), {}, {}}; };
  const auto add = log::EventType::RelationshipAdded;
  {
    log::AppendRequest req;
    req.events = {edge(add, "a", "p", "b"), edge(add, "b", "p", "a"), edge(add, "a", "p", "a"),
                  edge(add, "b", "q", "c")};
    ASSERT_TRUE(lg->append(&req).ok());
  }
  const std::uint64_t groups = lg->group_count();
  log::AppendRequest req;
  // Relates a -r-> d and then deletes a and b in one request.
  req.events = {edge(add, "a", "r", "d"), del("a"), del("b")};
  ASSERT_TRUE(lg->append(&req).ok());
  EXPECT_EQ(lg->group_count(), groups + 1);
  std::set<Triple> removed;
  ASSERT_EQ(req.events.size(), 3u + 5u) << "a-p-b, b-p-a, a-p-a, a-r-d, b-q-c, once each";
  for (std::size_t i = 3; i < req.events.size(); ++i) {
    const log::EventDraft& d = req.events[i];
    EXPECT_EQ(d.type, log::EventType::RelationshipRemoved);
    removed.emplace(d.key, d.attrs.predicate, d.attrs.object);
  }
  EXPECT_EQ(removed, (std::set<Triple>{{"a", "p", "b"}, {"b", "p", "a"}, {"a", "p", "a"}, {"a", "r", "d"}, {"b", "q", "c"}}));
  for (const char* k : {"a", "b", "c", "d"}) EXPECT_TRUE(rel.edges(k)->empty()) << k;
  // A request without a delete is left alone.
  log::AppendRequest plain;
  plain.events = {log::EventDraft{log::EventType::DataStored, "a", "{}", {}}};
  ASSERT_TRUE(lg->append(&plain).ok());
  EXPECT_EQ(plain.events.size(), 1u);
  // Replaying the log into an emptied index gives the same rows (and verify agrees).
  rocksdb::WriteBatch clear;
  rel.clear(&clear);
  ASSERT_TRUE(lg->db()->Write(rocksdb::WriteOptions(), &clear).ok());
  rocksdb::WriteBatch b;
  ASSERT_TRUE(lg->scan(1, [&](const log::Event& e) { return rel.apply(e, &b).ok(); }).ok());
  ASSERT_TRUE(lg->db()->Write(rocksdb::WriteOptions(), &b).ok());
  std::vector<log::Event> all;
  ASSERT_TRUE(lg->scan(1, [&](const log::Event& e) { all.push_back(e); return true; }).ok());
  EXPECT_TRUE(rel.verify(all).ok());
  for (const char* k : {"a", "b", "c", "d"}) EXPECT_TRUE(rel.edges(k)->empty()) << k;
}

// verify() names the edge whose rows disagree with the log's newest event of it.
TEST(RelationshipsTest, VerifyNamesAnEdgeWhoseRowsDisagree) {
  TempDir dir;
  log::EventLogOptions lo;
  lo.path = dir.path();
  lo.extra_column_families = projections::column_families();
  auto lg = std::move(*log::EventLog::open(lo));
  projections::RelationshipIndex rel(*lg);
  log::Event added;
  added.seq = 1;
  added.type = log::EventType::RelationshipAdded;
  added.key = "s";
  added.attrs.predicate = "p";
  added.attrs.object = "o";
  Status v = rel.verify({added});
  EXPECT_EQ(v.code(), StatusCode::kCorruption);
  EXPECT_NE(v.message().find("'s' -p-> 'o'"), std::string::npos) << v.to_string();
  rocksdb::WriteBatch b;
  ASSERT_TRUE(rel.apply(added, &b).ok());
  ASSERT_TRUE(lg->db()->Write(rocksdb::WriteOptions(), &b).ok());
  EXPECT_TRUE(rel.verify({added}).ok());
  log::Event removed = added;
  removed.seq = 2;
  removed.type = log::EventType::RelationshipRemoved;
  EXPECT_EQ(rel.verify({added, removed}).code(), StatusCode::kCorruption);
  // Only the reverse row missing.
  ASSERT_TRUE(lg->db()->Delete(rocksdb::WriteOptions(), lg->column_family(projections::kRelRevCf),
                               std::string("o\0p\0s", 5)).ok());
  v = rel.verify({added});
  EXPECT_EQ(v.code(), StatusCode::kCorruption);
  EXPECT_NE(v.message().find("reverse row is missing"), std::string::npos) << v.to_string();
}

// Concurrent writers relate to K while another thread deletes K: afterwards every
// edge of K must have been added after the last delete that touched it.
TEST(RelationshipsTest, ConcurrentAddsAndDeleteLeaveNoEdgeOlderThanTheDelete) {
  TempDir dir;
  auto s = open_store(dir.path(), 4);
  constexpr int kThreads = 4, kEdges = 300;
  std::atomic<bool> go{false};
  std::vector<std::thread> ts;
  std::mutex mu;
  std::vector<std::pair<Seq, Triple>> added;  // seq of each add
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      while (!go) std::this_thread::yield();
      for (int i = 0; i < kEdges; ++i) {
        Triple e = i % 2 ? Triple{"K", "p" + std::to_string(t), num(i)} : Triple{num(i), "p" + std::to_string(t), "K"};
        auto r = s->store_relationship(std::get<0>(e), std::get<1>(e), std::get<2>(e));
        ASSERT_TRUE(r.ok()) << r.status().to_string();
        std::lock_guard l(mu);
        added.push_back({*r, e});
      }
    });
  }
  std::vector<Seq> deletes;
  ts.emplace_back([&] {
    while (!go) std::this_thread::yield();
    for (int i = 0; i < 200; ++i) {
      auto r = s->delete_data("K");
      ASSERT_TRUE(r.ok());
      deletes.push_back(*r);
    }
  });
  go = true;
  for (auto& t : ts) t.join();
  // Every delete: K's trail right after it (its group's removals, consecutive
  // seqs) leaves no edge of K, whatever was added in the same group before it.
  auto trail = s->get_audit_trail("K");
  ASSERT_TRUE(trail.ok());
  std::set<Triple> model;
  int checked = 0, cascaded = 0;
  for (std::size_t i = 0; i < trail->size(); ++i) {
    const AuditEntry& e = (*trail)[i];
    if (e.operation == "relationship_added") model.emplace(e.subject, e.predicate, e.object);
    if (e.operation != "delete") continue;
    std::size_t j = i + 1;
    for (; j < trail->size() && (*trail)[j].seq == e.seq + (j - i) &&
           (*trail)[j].operation == "relationship_removed";
         ++j) {
      model.erase({(*trail)[j].subject, (*trail)[j].predicate, (*trail)[j].object});
      ++cascaded;
    }
    EXPECT_TRUE(model.empty()) << model.size() << " edge(s) of K survived the delete at seq " << e.seq;
    model.clear();
    ++checked;
    i = j - 1;
  }
  EXPECT_EQ(checked, 200);
  EXPECT_GT(cascaded, 0) << "no delete found an edge: the test lost its point";
  const Seq last_delete = deletes.back();
  std::set<Triple> expected;
  for (auto& [seq, e] : added) if (seq > last_delete) expected.insert(e);
  auto got = s->get_relationships("K");
  ASSERT_TRUE(got.ok());
  std::set<Triple> live;
  for (const Relationship& r : *got) {
    live.emplace(r.subject, r.predicate, r.object);
    EXPECT_GT(r.seq, last_delete);
  }
  EXPECT_EQ(live, expected);
  EXPECT_EQ(live, model);
  ASSERT_TRUE(s->close().ok());
  std::set<Triple> raw = raw_edges_agree(dir.path());  // reverse agrees with forward
  EXPECT_EQ(raw, expected);
}

TEST(RelationshipsTest, SyncAndAsyncNotificationsInBothFormsIncludingTheCascade) {
  TempDir dir;
  auto s = open_store(dir.path(), 2);
  std::mutex mu;
  std::vector<RelationshipChanged> sync_seen, async_seen;
  std::vector<std::string> sync_edge, async_edge;
  auto fmt = [](const std::string& a, const std::string& p, const std::string& b, const std::string& op) {
    return a + " " + p + " " + b + " " + op;
  };
  Notifications& n = s->notifications();
  ASSERT_TRUE(n.add_callback("relationship_changed", [&](const RelationshipChanged& c) {
                 std::lock_guard l(mu);
                 sync_seen.push_back(c);
               }).ok());
  ASSERT_TRUE(n.add_callback("relationship_changed",
                             [&](const std::string& a, const std::string& p, const std::string& b,
                                 const std::string& op) {
                               std::lock_guard l(mu);
                               sync_edge.push_back(fmt(a, p, b, op));
                             })
                  .ok());
  ASSERT_TRUE(n.add_async_callback("relationship_changed", [&](const RelationshipChanged& c) {
                 std::lock_guard l(mu);
                 async_seen.push_back(c);
               }).ok());
  ASSERT_TRUE(n.add_async_callback("relationship_changed",
                                   [&](const std::string& a, const std::string& p, const std::string& b,
                                       const std::string& op) {
                                     std::lock_guard l(mu);
                                     async_edge.push_back(fmt(a, p, b, op));
                                   })
                  .ok());
  std::atomic<int> data_changes{0};
  ASSERT_TRUE(n.add_callback("data_changed", [&](const DataChanged&) { ++data_changes; }).ok());

  auto a1 = s->store_relationship("u", "p", "v", {.identity = "writer"});
  ASSERT_TRUE(a1.ok());
  {
    std::lock_guard l(mu);
    ASSERT_EQ(sync_seen.size(), 1u) << "a sync callback runs before the write returns";
    EXPECT_EQ(sync_seen[0].subject, "u");
    EXPECT_EQ(sync_seen[0].predicate, "p");
    EXPECT_EQ(sync_seen[0].object, "v");
    EXPECT_EQ(sync_seen[0].operation, "added");
    EXPECT_EQ(sync_seen[0].seq, *a1);
    EXPECT_EQ(sync_seen[0].identity, "writer");
  }
  ASSERT_TRUE(s->store_relationship("w", "q", "u").ok());
  auto rm = s->remove_relationship("w", "q", "u");
  ASSERT_TRUE(rm.ok());
  auto del = s->delete_data("u");  // removes u -p-> v
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(data_changes.load(), 1);
  const std::vector<std::string> expected = {"u p v added", "w q u added", "w q u removed", "u p v removed"};
  ASSERT_TRUE(eventually([&] {
    std::lock_guard l(mu);
    return async_seen.size() >= 4 && async_edge.size() >= 4;
  }));
  std::lock_guard l(mu);
  EXPECT_EQ(sync_edge, expected);
  EXPECT_EQ(async_edge, expected);
  ASSERT_EQ(sync_seen.size(), 4u);
  ASSERT_EQ(async_seen.size(), 4u);
  EXPECT_EQ(sync_seen[2].seq, *rm);
  EXPECT_EQ(sync_seen[3].seq, *del + 1);
  EXPECT_EQ(sync_seen[3].operation, "removed");
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(async_seen[i].seq, sync_seen[i].seq);
    EXPECT_EQ(async_seen[i].operation, sync_seen[i].operation);
  }
}

TEST(RelationshipsTest, CallbacksForUnknownOrMismatchedEventsAreRefused) {
  TempDir dir;
  auto s = open_store(dir.path());
  Notifications& n = s->notifications();
  auto unknown = n.add_callback("relationship_chnged", [](const RelationshipChanged&) {});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  auto unknown_async = n.add_async_callback(
      "edges", [](const std::string&, const std::string&, const std::string&, const std::string&) {});
  EXPECT_EQ(unknown_async.status().code(), StatusCode::kInvalidArgument);
  auto data_typed = n.add_callback("relationship_changed", [](const DataChanged&) {});
  EXPECT_EQ(data_typed.status().code(), StatusCode::kInvalidArgument);
  auto rel_typed = n.add_async_callback("data_changed", [](const RelationshipChanged&) {});
  EXPECT_EQ(rel_typed.status().code(), StatusCode::kInvalidArgument);
}

TEST(RelationshipsTest, BadInputIsRefusedAndWritesNothing) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_TRUE(s->store_relationship("a", "p", "b").ok());
  const Seq head = s->get_statistics().head_seq;
  const std::string nul("x\0y", 3);
  const std::string ok = "fine";
  struct Case {
    std::string subject, predicate, object;
    WriteOptions wo;
  };
  std::vector<Case> cases = {
      {"", "p", "b", {}},
      {std::string(1025, 'k'), "p", "b", {}},
      {nul, "p", "b", {}},
      {"a\x01", "p", "b", {}},
      {"\xff\xfe", "p", "b", {}},
      {"a", "", "b", {}},
      {"a", std::string(257, 'p'), "b", {}},
      {"a", nul, "b", {}},
      {"a", "p\n", "b", {}},
      {"a", "p", "", {}},
      {"a", "p", std::string(1025, 'o'), {}},
      {"a", "p", nul, {}},
      {"a", "p", "b\x7f", {}},
      {"a", "p", "b", {.identity = nul}},
      {"a", "p", "b", {.identity = "id\x02"}},
      {"a", "p", "b", {.expected_version = 1}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    for (bool add : {true, false}) {
      auto r = add ? s->store_relationship(c.subject, c.predicate, c.object, c.wo)
                   : s->remove_relationship(c.subject, c.predicate, c.object, c.wo);
      ASSERT_FALSE(r.ok()) << "case " << i;
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << "case " << i << ": " << r.status().to_string();
    }
    EXPECT_EQ(s->get_related(c.subject, c.predicate).ok(), !(c.subject.empty() || c.subject.size() > 1024 || c.subject == nul || c.subject.find('\x01') != std::string::npos || c.subject[0] == '\xff' || c.predicate.empty() || c.predicate.size() > 256 || c.predicate == nul || c.predicate == "p\n")) << "case " << i;
  }
  // A predicate of exactly 256 bytes is fine.
  EXPECT_TRUE(s->store_relationship("a", std::string(256, 'p'), "b").ok());
  EXPECT_EQ(s->get_statistics().head_seq, head + 1);
  ASSERT_TRUE(s->remove_relationship("a", std::string(256, 'p'), "b").ok());
  EXPECT_EQ(s->get_statistics().head_seq, head + 2) << "a refused call wrote something";
  EXPECT_EQ(edges_of(*s, "a"), (std::vector<Triple>{{"a", "p", "b"}}));
  EXPECT_EQ(edges_of(*s, "b"), (std::vector<Triple>{{"a", "p", "b"}}));
  auto trail = s->get_audit_trail("a");
  ASSERT_TRUE(trail.ok());
  EXPECT_EQ(trail->size(), 3u);
  EXPECT_EQ(s->get_related_reverse("", "p").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->get_relationships(nul).status().code(), StatusCode::kInvalidArgument);
}

TEST(RelationshipsTest, EdgesSurviveReopen) {
  TempDir dir;
  {
    auto s = open_store(dir.path());
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(s->store_relationship("a", "p", num(i)).ok());
    ASSERT_TRUE(s->remove_relationship("a", "p", num(7)).ok());
    ASSERT_TRUE(s->close().ok());
  }
  auto s = open_store(dir.path());
  Strings r = related(*s, "a", "p");
  EXPECT_EQ(r.size(), 49u);
  EXPECT_EQ(std::count(r.begin(), r.end(), num(7)), 0);
  EXPECT_EQ(reverse(*s, num(8), "p"), Strings{"a"});
  EXPECT_TRUE(s->get_statistics().head_seq > 0);
  EXPECT_EQ(s->check_health().status, HealthStatus::kHealthy);
}

// The relationship column families emptied and the projection's checkpoint row
// removed (as if the store predated relationships): open rebuilds them from the log.
TEST(RelationshipsTest, CatchUpAtOpenRebuildsEmptiedIndexesFromTheLog) {
  TempDir dir;
  std::vector<Relationship> before_a, before_hub;
  {
    auto s = open_store(dir.path());
    for (int i = 0; i < 3000; ++i) {  // beyond the verify window
      ASSERT_TRUE(s->store_relationship("hub", "links", num(i % 1500)).ok());  // re-adds too
      if (i % 3 == 0) {
        ASSERT_TRUE(s->remove_relationship("hub", "links", num((i * 7) % 1500)).ok());
      }
      if (i % 500 == 0) {
        ASSERT_TRUE(s->delete_data(num(i % 1500)).ok());
      }
    }
    ASSERT_TRUE(s->store_relationship("a", "self", "a").ok());
    before_a = *s->get_relationships("a");
    before_hub = *s->get_relationships("hub");
    ASSERT_TRUE(s->close().ok());
  }
  ASSERT_FALSE(before_hub.empty());
  const std::set<Triple> raw_before = raw_edges_agree(dir.path());
  omni::testing::with_raw_db(dir.path(), [&](rocksdb::DB* db, const auto& cf) {
    for (auto name : {projections::kRelFwdCf, projections::kRelRevCf}) {
      ASSERT_TRUE(db->DeleteRange(rocksdb::WriteOptions(), cf(name), "", "\xff").ok());
    }
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), cf("meta"),
                           projections::ProjectionSet::checkpoint_key("relationships")).ok());
  });
  EXPECT_TRUE(raw_edges_agree(dir.path()).empty()) << "the index was not emptied";
  {
    auto s = open_store(dir.path());
    EXPECT_EQ(*s->get_relationships("a"), before_a);
    EXPECT_EQ(*s->get_relationships("hub"), before_hub) << "seqs or edges differ after catch-up";
    ASSERT_TRUE(s->close().ok());
  }
  EXPECT_EQ(raw_edges_agree(dir.path()), raw_before);
}

// Rows lost without the checkpoint knowing: the verification at open finds them
// and rebuilds the index (a finding in the health report).
TEST(RelationshipsTest, LostRowsAreFoundAtOpenAndRebuilt) {
  TempDir dir;
  {
    auto s = open_store(dir.path());
    ASSERT_TRUE(s->store_relationship("a", "p", "b").ok());
    ASSERT_TRUE(s->store_relationship("a", "p", "c").ok());
    ASSERT_TRUE(s->close().ok());
  }
  omni::testing::with_raw_db(dir.path(), [&](rocksdb::DB* db, const auto& cf) {
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), cf(projections::kRelRevCf), std::string("c\0p\0a", 5)).ok());
  });
  auto s = open_store(dir.path());
  EXPECT_EQ(reverse(*s, "c", "p"), Strings{"a"});
  Health h = s->check_health();
  EXPECT_EQ(h.status, HealthStatus::kDegraded) << "a rebuilt projection must be reported";
  EXPECT_NE(h.detail.find("relationships"), std::string::npos) << h.detail;
}

}  // namespace
}  // namespace omni
