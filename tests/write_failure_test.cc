// Failed writes and full disks (the issue's items 6 and 14), through the public API.
//
// Item 6, the sticky write error (LevelDB's rule): after a failed group write every
// later write fails with the original error until RocksDB's Resume() succeeds (the
// log retries it at most once per second, check_health() at once) or the store is
// reopened. No seq or hash is ever reused: the next acknowledged write after a
// resume gets the last acknowledged seq + 1, and a refused write never shows up,
// not even after a reopen or a crash. Reads keep working throughout.
//
// Item 14, a full disk: the process survives, reads keep working, and writes resume
// once space is freed, without a restart. Those tests mount a tmpfs and need root.
//
// Faults are injected with FaultFs (fault_fs.h) through Options::rocksdb_env; the
// RocksDB behaviour they rely on is pinned down in fault_fs_test.cc. Scenarios in
// which RocksDB's assertions (Debian's build keeps them) could abort the process run
// as death tests, in a fresh process each: an abort fails that test, not the binary.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <cstdio>
#include <functional>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fault_fs.h"
#include "omni/log/event_log.h"
#include "omni/projections/projection_set.h"
#include "omni/storage.h"
#include "test_util.h"

namespace omni {
namespace {

using omni::testing::FaultFs;
using omni::testing::make_fault_fs;
using omni::testing::TempDir;
using rocksdb::IOStatus;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// The log retries Resume() at most this often (EventLogOptions::resume_interval,
// not exposed by the engine).
constexpr milliseconds kResumeInterval{1000};

std::string str(const Status& s) { return s.to_string(); }
template <typename T>
std::string str(const Result<T>& r) {
  return r.status().to_string();
}

// Every acknowledged write, and the keys of refused ones.
struct Ledger {
  struct Ack {
    std::string key;
    std::optional<Json> doc;  // nullopt: a delete
    Seq seq = 0;
  };
  std::vector<Ack> acks;
  std::set<std::string> refused;  // keys written only by refused writes

  void add(std::string key, std::optional<Json> doc, Seq seq) {
    acks.push_back({std::move(key), std::move(doc), seq});
  }
  Seq last_seq() const {
    Seq m = 0;
    for (const Ack& a : acks) m = std::max(m, a.seq);
    return m;
  }
  // The acks sorted by seq.
  std::vector<Ack> by_seq() const {
    std::vector<Ack> v = acks;
    std::sort(v.begin(), v.end(), [](const Ack& a, const Ack& b) { return a.seq < b.seq; });
    return v;
  }
};

Json doc_for(const std::string& key, int n) { return Json{{"key", key}, {"n", n}}; }

std::unique_ptr<Storage> open_or_fail(const std::string& path, Options o) {
  o.path = path;
  auto r = Storage::open(std::move(o));
  EXPECT_TRUE(r.ok()) << "open '" << path << "': " << str(r);
  return r.ok() ? std::move(*r) : nullptr;
}

// Stores doc under key, expecting success with seq `expect_seq` (0: any), and
// records it.
void store_ok(Storage& s, Ledger& l, const std::string& key, const Json& doc, Seq expect_seq = 0,
              const WriteOptions& wo = {}) {
  Result<Seq> r = s.store_data(key, doc, wo);
  ASSERT_TRUE(r.ok()) << "store_data('" << key << "'): " << str(r);
  if (expect_seq != 0) {
    EXPECT_EQ(*r, expect_seq) << "store_data('" << key << "')";
  }
  l.add(key, doc, *r);
}

// The store's view of everything in the ledger: seqs dense from 1 to the head, every
// acknowledged write present (document, version, audit trail), no refused key.
void expect_store_matches(Storage& s, const Ledger& l) {
  const std::vector<Ledger::Ack> acks = l.by_seq();
  for (std::size_t i = 0; i < acks.size(); ++i) {
    ASSERT_EQ(acks[i].seq, i + 1) << "acknowledged seqs are not dense from 1 (a seq reused or skipped)";
  }
  Health h = s.check_health();
  EXPECT_EQ(h.head_seq, acks.size()) << h.detail;
  EXPECT_EQ(s.get_statistics().head_seq, acks.size());

  std::map<std::string, std::vector<const Ledger::Ack*>> by_key;
  for (const Ledger::Ack& a : acks) by_key[a.key].push_back(&a);
  for (const auto& [key, writes] : by_key) {
    const Ledger::Ack& last = *writes.back();
    Result<std::optional<Json>> doc = s.load_data(key);
    ASSERT_TRUE(doc.ok()) << "load_data('" << key << "'): " << str(doc);
    if (last.doc) {
      ASSERT_TRUE(doc->has_value()) << "acknowledged key '" << key << "' (seq " << last.seq << ") is missing";
      EXPECT_EQ(**doc, *last.doc) << key;
    } else {
      EXPECT_FALSE(doc->has_value()) << "deleted key '" << key << "' is back: " << (*doc)->dump();
    }
    Result<Seq> v = s.get_version(key);
    ASSERT_TRUE(v.ok()) << str(v);
    EXPECT_EQ(*v, last.doc ? last.seq : 0) << "get_version('" << key << "')";
    Result<std::vector<AuditEntry>> trail = s.get_audit_trail(key);
    ASSERT_TRUE(trail.ok()) << str(trail);
    ASSERT_EQ(trail->size(), writes.size()) << "audit trail of '" << key << "'";
    for (std::size_t i = 0; i < writes.size(); ++i) {
      EXPECT_EQ((*trail)[i].seq, writes[i]->seq) << key << " #" << i;
      EXPECT_EQ((*trail)[i].operation, writes[i]->doc ? "store" : "delete") << key << " #" << i;
    }
  }
  for (const std::string& key : l.refused) {
    if (by_key.count(key)) continue;  // written again later, successfully
    Result<std::optional<Json>> doc = s.load_data(key);
    ASSERT_TRUE(doc.ok()) << str(doc);
    EXPECT_FALSE(doc->has_value()) << "refused write of '" << key << "' is present: " << (*doc)->dump();
    EXPECT_EQ(*s.get_version(key), 0u) << "refused write of '" << key << "' has a version";
    EXPECT_TRUE(s.get_audit_trail(key)->empty()) << "refused write of '" << key << "' is in the audit trail";
  }
}

// The raw log of the closed store at `path`: the chain verifies, holds exactly the
// acknowledged events (seq, key, payload) and no event of a refused key, and the
// state projection equals a replay of the log.
void expect_log_matches(const std::string& path, const Ledger& l) {
  log::EventLogOptions lo;
  lo.path = path;
  lo.extra_column_families = projections::column_families();
  auto lg = log::EventLog::open(lo);
  ASSERT_TRUE(lg.ok()) << str(lg);
  const std::vector<Ledger::Ack> acks = l.by_seq();
  EXPECT_EQ((*lg)->head_seq(), acks.size());
  Result<log::ChainCheck> chain = (*lg)->verify_chain();
  ASSERT_TRUE(chain.ok()) << str(chain);
  EXPECT_EQ(chain->first_bad_seq, 0u) << chain->problem;
  EXPECT_EQ(chain->events_checked, acks.size());
  for (const Ledger::Ack& a : acks) {
    Result<log::Event> e = (*lg)->read(a.seq);
    ASSERT_TRUE(e.ok()) << "acknowledged seq " << a.seq << ": " << str(e);
    EXPECT_EQ(e->key, a.key) << "seq " << a.seq;
    EXPECT_EQ(e->payload, a.doc ? a.doc->dump() : std::string()) << "seq " << a.seq;
  }
  std::vector<std::string> refused_events;
  ASSERT_TRUE((*lg)->scan(1, [&](const log::Event& e) {
                      if (l.refused.count(e.key)) {
                        bool acked = false;
                        for (const Ledger::Ack& a : acks) acked = acked || (a.seq == e.seq && a.key == e.key);
                        if (!acked) refused_events.push_back(e.key + " at seq " + std::to_string(e.seq));
                      }
                      return true;
                    }).ok());
  EXPECT_TRUE(refused_events.empty()) << "refused writes in the log: " << ::testing::PrintToString(refused_events);
  projections::ProjectionSet proj(**lg);
  auto replay = projections::replay_state(**lg);
  ASSERT_TRUE(replay.ok()) << str(replay);
  std::map<std::string, projections::StateEntry> stored;
  ASSERT_TRUE(proj.state().for_each("", [&](std::string_view k, const projections::StateEntry& e) {
                  stored.emplace(std::string(k), e);
                  return true;
                }).ok());
  EXPECT_EQ(stored.size(), replay->size());
  for (const auto& [k, e] : stored) {
    auto it = replay->find(k);
    if (it == replay->end()) {
      ADD_FAILURE() << "state has key '" << k << "' (version " << e.version << ") that the log does not";
    } else {
      EXPECT_EQ(e.version, it->second.version) << "state of '" << k << "'";
    }
  }
}

// Polls until `write` succeeds or `timeout` passes; every failed attempt must fail
// with `code`. Returns the successful result (or the last failure).
Result<Seq> retry_write(const std::function<Result<Seq>()>& write, milliseconds timeout,
                        StatusCode code, int* attempts) {
  const auto deadline = steady_clock::now() + timeout;
  for (;;) {
    ++*attempts;
    Result<Seq> r = write();
    if (r.ok() || steady_clock::now() >= deadline) return r;
    EXPECT_EQ(r.status().code(), code) << "attempt " << *attempts << ": " << str(r);
    std::this_thread::sleep_for(milliseconds(20));
  }
}

// Sets an environment variable for the scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) { ::setenv(name, value.c_str(), 1); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

// --- item 6: the sticky write error -----------------------------------------------

TEST(WriteFailureTest, FailedWriteIsStickyUntilResumed) {
  TempDir dir;
  const std::string path = dir.sub("db");
  auto fs = make_fault_fs();
  Options o;
  o.rocksdb_env = fs->env();
  Ledger l;
  {
    auto s = open_or_fail(path, o);
    ASSERT_TRUE(s);
    for (int i = 1; i <= 5; ++i) store_ok(*s, l, "before:" + std::to_string(i), doc_for("before", i), i);

    // The disk fills up: data writes and syncs fail, creating files still works.
    fs->fail_writes(IOStatus::NoSpace("injected: disk full"), FaultFs::kWrite | FaultFs::kSync);
    const auto failed_at = steady_clock::now();
    Result<Seq> first = s->store_data("refused:1", doc_for("refused", 1));
    ASSERT_FALSE(first.ok()) << "a write on a full disk succeeded with seq " << *first;
    l.refused.insert("refused:1");
    const Status original = first.status();
    EXPECT_EQ(original.code(), StatusCode::kIOError) << str(original);
    EXPECT_NE(original.message().find("injected: disk full"), std::string::npos) << str(original);
    const std::uint64_t injected = fs->injected();
    EXPECT_GE(injected, 1u) << "the failed write never reached the (failing) disk";

    // Sticky: later writes fail with the original error, without touching the disk.
    Result<Seq> second = s->store_data("refused:2", doc_for("refused", 2));
    const auto elapsed = steady_clock::now() - failed_at;
    l.refused.insert("refused:2");
    ASSERT_FALSE(second.ok()) << "a write after a failed one succeeded with seq " << *second;
    EXPECT_EQ(second.status().code(), original.code()) << str(second);
    EXPECT_NE(second.status().message().find(original.message()), std::string::npos)
        << "the refusal does not name the original error\n  refusal:  " << str(second)
        << "\n  original: " << str(original);
    if (elapsed < kResumeInterval - milliseconds(100)) {
      // No resume was due, so nothing was even tried on the disk.
      EXPECT_EQ(fs->injected(), injected) << "the refused write reached the disk: " << fs->last_injected();
    }
    Result<Seq> del = s->delete_data("before:1");
    EXPECT_EQ(del.status().code(), original.code()) << str(del);
    Result<Seq> batch = s->store_batch({{"refused:3", doc_for("refused", 3), std::nullopt},
                                        {"refused:4", doc_for("refused", 4), std::nullopt}});
    EXPECT_EQ(batch.status().code(), original.code()) << str(batch);
    l.refused.insert({"refused:3", "refused:4"});

    // Reads keep working.
    for (int i = 1; i <= 5; ++i) {
      Result<std::optional<Json>> d = s->load_data("before:" + std::to_string(i));
      ASSERT_TRUE(d.ok()) << str(d);
      ASSERT_TRUE(d->has_value());
      EXPECT_EQ(**d, doc_for("before", i));
    }
    EXPECT_FALSE(s->load_data("refused:1")->has_value());
    EXPECT_EQ(*s->get_version("refused:1"), 0u);

    Health h = s->check_health();
    EXPECT_EQ(h.status, HealthStatus::kDegraded) << health_status_name(h.status) << ": " << h.detail;
    EXPECT_NE(h.detail.find("injected: disk full"), std::string::npos) << h.detail;
    EXPECT_EQ(h.head_seq, 5u);

    // Past the resume interval, still full: the retry fails (its probe finds no
    // room) and the error stays recoverable.
    std::this_thread::sleep_for(kResumeInterval + milliseconds(200));
    Result<Seq> third = s->store_data("refused:5", doc_for("refused", 5));
    l.refused.insert("refused:5");
    ASSERT_FALSE(third.ok()) << "a write on a still-full disk succeeded with seq " << *third;
    EXPECT_EQ(third.status().code(), original.code()) << str(third);
    EXPECT_EQ(s->check_health().status, HealthStatus::kDegraded);

    // Space again: within the resume interval (plus a loaded machine's slack) a
    // write goes through, with the next seq, without check_health()'s help.
    fs->heal();
    int attempts = 0;
    Result<Seq> after = retry_write([&] { return s->store_data("after:1", doc_for("after", 1)); },
                                    milliseconds(5000), original.code(), &attempts);
    ASSERT_TRUE(after.ok()) << "writes did not resume within 5 s of healing (" << attempts
                            << " attempts): " << str(after);
    EXPECT_EQ(*after, 6u) << "the first write after resuming must get the last acknowledged seq + 1";
    l.add("after:1", doc_for("after", 1), *after);
    h = s->check_health();
    EXPECT_EQ(h.status, HealthStatus::kHealthy) << h.detail;
    EXPECT_TRUE(h.detail.empty()) << h.detail;
    EXPECT_EQ(h.head_seq, 6u);

    store_ok(*s, l, "before:1", doc_for("before", 100), 7);  // an update
    Result<Seq> d = s->delete_data("before:2");
    ASSERT_TRUE(d.ok()) << str(d);
    EXPECT_EQ(*d, 8u);
    l.add("before:2", std::nullopt, *d);
    store_ok(*s, l, "refused:1", doc_for("refused", 100), 9);  // the key is not poisoned
    expect_store_matches(*s, l);
    Status c = s->close();
    EXPECT_TRUE(c.ok()) << str(c);
  }
  {
    auto s = open_or_fail(path, o);
    ASSERT_TRUE(s);
    expect_store_matches(*s, l);
    store_ok(*s, l, "after:2", doc_for("after", 2), 10);
    EXPECT_TRUE(s->close().ok());
  }
  expect_log_matches(path, l);
}

// Only the WAL sync fails: the refused write's record is in the WAL. After the
// resume (check_health() tries it at once) another write gets its seq; the refused
// one must never come back.
TEST(WriteFailureTest, FailedSyncIsNotReplayedAfterResume) {
  TempDir dir;
  const std::string path = dir.sub("db");
  auto fs = make_fault_fs();
  Options o;
  o.rocksdb_env = fs->env();
  WriteOptions sync;
  sync.sync = true;
  Ledger l;
  {
    auto s = open_or_fail(path, o);
    ASSERT_TRUE(s);
    for (int i = 1; i <= 3; ++i) store_ok(*s, l, "k" + std::to_string(i), doc_for("k", i), i, sync);

    fs->fail_syncs(IOStatus::NoSpace("injected: sync failed"));
    Result<Seq> failed = s->store_data("refused", doc_for("refused", 1), sync);
    l.refused.insert("refused");
    ASSERT_FALSE(failed.ok()) << "a sync write whose fsync failed succeeded with seq " << *failed;
    EXPECT_EQ(failed.status().code(), StatusCode::kIOError) << str(failed);
    EXPECT_GE(fs->injected(), 1u);
    EXPECT_NE(fs->last_injected().find(".log"), std::string::npos)
        << "expected the WAL's sync to fail, not " << fs->last_injected();
    // A write that would not even sync is refused as well.
    Result<Seq> nosync = s->store_data("refused:nosync", doc_for("refused", 2));
    l.refused.insert("refused:nosync");
    EXPECT_EQ(nosync.status().code(), StatusCode::kIOError) << str(nosync);
    EXPECT_FALSE(s->load_data("refused")->has_value());
    EXPECT_EQ(s->check_health().status, HealthStatus::kDegraded);

    fs->heal();
    Health h = s->check_health();  // resumes now
    EXPECT_EQ(h.status, HealthStatus::kHealthy) << h.detail;
    EXPECT_EQ(h.head_seq, 3u);
    store_ok(*s, l, "after", doc_for("after", 1), 4, sync);
    EXPECT_EQ(*s->get_version("refused"), 0u);
    EXPECT_TRUE(s->get_audit_trail("refused")->empty());
    Result<std::vector<AuditEntry>> trail = s->get_audit_trail("after");
    ASSERT_TRUE(trail.ok()) << str(trail);
    ASSERT_EQ(trail->size(), 1u);
    EXPECT_EQ((*trail)[0].seq, 4u);
    expect_store_matches(*s, l);
    EXPECT_TRUE(s->close().ok());
  }
  {
    auto s = open_or_fail(path, o);
    ASSERT_TRUE(s);
    expect_store_matches(*s, l);
    EXPECT_TRUE(s->close().ok());
  }
  expect_log_matches(path, l);
}

// Without a resume the outcome of the refused write stays unknown (LevelDB's rule):
// its record is in the WAL, and a reopen replays it (RocksDB; see fault_fs_test.cc).
// Whether or not it comes back, no seq is used twice: if it is there, it is the
// event right after the last acknowledged one, whole, and the next write follows it.
TEST(WriteFailureTest, FailedSyncWithoutAResumeNeverReusesASeq) {
  TempDir dir;
  const std::string path = dir.sub("db");
  auto fs = make_fault_fs();
  Options o;
  o.rocksdb_env = fs->env();
  WriteOptions sync;
  sync.sync = true;
  Ledger l;
  {
    auto s = open_or_fail(path, o);
    ASSERT_TRUE(s);
    for (int i = 1; i <= 3; ++i) store_ok(*s, l, "k" + std::to_string(i), doc_for("k", i), i, sync);
    fs->fail_syncs(IOStatus::NoSpace("injected: sync failed"));
    Result<Seq> failed = s->store_data("unknown", doc_for("unknown", 1), sync);
    ASSERT_FALSE(failed.ok()) << "a sync write whose fsync failed succeeded with seq " << *failed;
    EXPECT_EQ(failed.status().code(), StatusCode::kIOError) << str(failed);
    fs->heal();
    Status c = s->close();  // writes are still stopped: no resume was tried
    std::printf("[ info     ] close with writes stopped: %s\n", str(c).c_str());
  }
  {
    auto s = open_or_fail(path, o);
    ASSERT_TRUE(s);
    Result<Seq> v = s->get_version("unknown");
    ASSERT_TRUE(v.ok()) << str(v);
    if (*v != 0) {
      EXPECT_EQ(*v, 4u) << "the refused write came back, but not as the next event";
      EXPECT_EQ(*s->load_data("unknown"), std::optional<Json>(doc_for("unknown", 1)));
      l.add("unknown", doc_for("unknown", 1), *v);
    } else {
      l.refused.insert("unknown");
    }
    std::printf("[ info     ] after a reopen the refused write is %s\n", *v ? "back (seq 4)" : "absent");
    store_ok(*s, l, "next", doc_for("next", 1), l.last_seq() + 1);
    expect_store_matches(*s, l);
    EXPECT_TRUE(s->close().ok());
  }
  expect_log_matches(path, l);
}

// Writers on several threads while the disk fails and heals: each write either
// succeeded with a seq of its own or failed; the successes are exactly seqs 1..N;
// after a reopen exactly they exist. The first failing group's writers all got its
// error (the others were refused by the sticky error).
TEST(WriteFailureTest, AGroupWithAFailedWriteFailsEveryWriterInIt) {
  TempDir dir;
  const std::string path = dir.sub("db");
  auto fs = make_fault_fs();
  Options o;
  o.rocksdb_env = fs->env();
  constexpr int kThreads = 4;
  struct Outcome {
    std::string key;
    Json doc;
    Result<Seq> result;
    bool after_heal;
  };
  std::vector<std::vector<Outcome>> outcomes(kThreads);
  std::atomic<int> successes{0}, failures{0}, successes_after_heal{0};
  std::atomic<bool> healed{false}, stop{false};
  Ledger l;
  {
    auto s = open_or_fail(path, o);
    ASSERT_TRUE(s);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        WriteOptions wo;
        wo.sync = true;  // writers queue behind each fsync: groups of several
        for (int n = 0; !stop.load(); ++n) {
          const std::string key = "t" + std::to_string(t) + ":" + std::to_string(n);
          Json doc = doc_for(key, n);
          const bool after_heal = healed.load();
          Result<Seq> r = s->store_data(key, doc, wo);
          if (r.ok()) {
            successes.fetch_add(1);
            if (after_heal) successes_after_heal.fetch_add(1);
          } else {
            failures.fetch_add(1);
          }
          const bool failed = !r.ok();
          outcomes[t].push_back({key, std::move(doc), std::move(r), after_heal});
          if (failed) std::this_thread::sleep_for(milliseconds(2));
        }
      });
    }
    auto wait_until = [](const std::function<bool()>& done, milliseconds timeout) {
      const auto deadline = steady_clock::now() + timeout;
      while (!done() && steady_clock::now() < deadline) std::this_thread::sleep_for(milliseconds(1));
      return done();
    };
    const bool warmed = wait_until([&] { return successes.load() >= 50; }, milliseconds(20000));
    fs->fail_writes(IOStatus::NoSpace("injected: disk full"), FaultFs::kWrite | FaultFs::kSync);
    const bool failed = wait_until([&] { return failures.load() >= 20; }, milliseconds(20000));
    fs->heal();
    healed.store(true);
    const bool resumed = wait_until([&] { return successes_after_heal.load() >= 50; }, milliseconds(20000));
    stop.store(true);
    for (auto& th : threads) th.join();
    ASSERT_TRUE(warmed) << "only " << successes.load() << " writes succeeded before the fault";
    ASSERT_TRUE(failed) << "only " << failures.load() << " writes failed during the fault";
    ASSERT_TRUE(resumed) << "only " << successes_after_heal.load() << " writes succeeded after healing";

    std::set<Seq> seqs;
    std::string group_error;
    std::size_t group_error_count = 0, sticky_count = 0;
    for (const auto& per_thread : outcomes) {
      for (const Outcome& x : per_thread) {
        if (x.result.ok()) {
          EXPECT_TRUE(seqs.insert(*x.result).second) << "seq " << *x.result << " acknowledged twice";
          l.add(x.key, x.doc, *x.result);
          continue;
        }
        l.refused.insert(x.key);
        const Status& st = x.result.status();
        EXPECT_EQ(st.code(), StatusCode::kIOError) << x.key << ": " << str(st);
        EXPECT_NE(st.message().find("injected: disk full"), std::string::npos) << x.key << ": " << str(st);
        if (st.message().starts_with("writing a group of")) {
          if (group_error.empty()) group_error = st.message();
          EXPECT_EQ(st.message(), group_error) << "more than one group failed";
          ++group_error_count;
        } else {
          ++sticky_count;
        }
      }
    }
    // The group's size is in its error: every writer in it got that error.
    ASSERT_FALSE(group_error.empty()) << "no write failed with the group's own error";
    const std::size_t group_size = std::strtoul(group_error.c_str() + std::strlen("writing a group of "), nullptr, 10);
    EXPECT_EQ(group_error_count, group_size) << group_error;
    std::printf("[ info     ] failing group: %zu writer(s); %zu writes refused by the sticky error; "
                "%zu acknowledged\n",
                group_size, sticky_count, seqs.size());
    expect_store_matches(*s, l);
    EXPECT_TRUE(s->close().ok());
  }
  {
    auto s = open_or_fail(path, o);
    ASSERT_TRUE(s);
    expect_store_matches(*s, l);
    EXPECT_TRUE(s->close().ok());
  }
  expect_log_matches(path, l);
}

// --- item 6 on a fresh WAL: after the resume, nothing of the refused write survives --

// The store's state when the scripted fault comes.
enum class Before {
  kUnflushed,        // k1..k3 are in the memtables
  kAfterOpen,        // just reopened: the memtables are empty, the WAL is new
  kAfterAResume,     // a write failed and writes resumed just before (the resume
                     // flushed: the memtables are empty again)
};

// What the death test's child does after the refused write and the resume.
enum class AfterResume {
  kWriteThenCrash,  // writes "after" (sync, seq 4) and dies without closing
  kClose,           // closes cleanly, writing nothing
};

// In a fresh process (the death test's child): opens the store at `path` on a
// FaultFs, writes k1..k3 (sync), brings the store to `before`, fails `ops` (FaultFs
// classes) while a sync write of "refused" runs, heals, resumes through
// check_health(), then does `then`. Exits 0 when everything went as scripted;
// otherwise says why on stderr and exits 1 (or a RocksDB assertion aborts it).
[[noreturn]] void refused_write_child(const std::string& path, unsigned ops, Before before,
                                      AfterResume then) {
  auto fail = [](const std::string& why) {
    std::fprintf(stderr, "child: %s\n", why.c_str());
    std::_Exit(1);
  };
  auto fs = make_fault_fs();
  Options o;
  o.path = path;
  o.rocksdb_env = fs->env();
  WriteOptions sync;
  sync.sync = true;
  auto s = Storage::open(o);
  if (!s.ok()) fail("open: " + str(s));
  for (int i = 1; i <= 3; ++i) {
    auto r = (*s)->store_data("k" + std::to_string(i), doc_for("k", i), sync);
    if (!r.ok() || *r != static_cast<Seq>(i)) fail("write k" + std::to_string(i) + ": " + str(r));
  }
  if (before == Before::kAfterOpen) {
    if (Status c = (*s)->close(); !c.ok()) fail("close: " + str(c));
    s = Storage::open(o);
    if (!s.ok()) fail("reopen: " + str(s));
  } else if (before == Before::kAfterAResume) {
    fs->fail_writes(IOStatus::NoSpace("injected: disk full (earlier)"), FaultFs::kWrite | FaultFs::kSync);
    auto r = (*s)->store_data("refused:earlier", doc_for("refused", 0), sync);
    if (r.ok()) fail("the earlier write on the failing disk succeeded with seq " + std::to_string(*r));
    fs->heal();
    Health h = (*s)->check_health();
    if (h.status != HealthStatus::kHealthy) fail("not healthy after the earlier failure: " + h.detail);
  }
  fs->fail_writes(IOStatus::NoSpace("injected: disk full"), ops);
  auto r = (*s)->store_data("refused", doc_for("refused", 1), sync);
  if (r.ok()) fail("the write on the failing disk succeeded with seq " + std::to_string(*r));
  if (fs->last_injected().find(".log") == std::string::npos) fail("not the WAL failed: " + fs->last_injected());
  std::fprintf(stderr, "child: refused (%s)\n", fs->last_injected().c_str());
  fs->heal();
  Health h = (*s)->check_health();  // resumes now
  if (h.status != HealthStatus::kHealthy) fail("not healthy after healing: " + h.detail);
  if (then == AfterResume::kClose) {
    if (Status c = (*s)->close(); !c.ok()) fail("close after resuming: " + str(c));
    std::_Exit(0);
  }
  std::fprintf(stderr, "child: resumed; writing 'after'\n");
  r = (*s)->store_data("after", doc_for("after", 1), sync);
  if (!r.ok() || *r != 4) fail("write after resuming: " + (r.ok() ? std::to_string(*r) : str(r)));
  (void)s->release();  // never closed: the process dies with it open, its WALs unflushed
  std::_Exit(0);
}

// The refused write failed at the WAL: its Sync (its record is in the WAL) or its
// Append. After the resume, the next write must not bring the process down, and
// neither a crash (the WALs are replayed) nor a clean close + reopen may bring the
// refused write back. Each scenario runs in a fresh process (a death test): RocksDB's
// assertions abort on some of these paths.
TEST(WriteFailureDeathTest, RefusedWriteNeverReappearsAndTheNextWriteDoesNotAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh process, not a fork
  // The child re-runs this test from the top; it reuses the parent's directory.
  static constexpr const char* kDirVar = "OMNI_WRITE_FAILURE_DEATH_DIR";
  const char* inherited = std::getenv(kDirVar);
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<ScopedEnv> env;
  std::string root;
  if (inherited != nullptr) {
    root = inherited;
  } else {
    dir = std::make_unique<TempDir>();
    root = dir->path();
    env = std::make_unique<ScopedEnv>(kDirVar, root);
  }
  const auto* result = ::testing::UnitTest::GetInstance()->current_test_info()->result();
  for (unsigned ops : {FaultFs::kSync, FaultFs::kWrite | FaultFs::kSync}) {
    for (Before before : {Before::kUnflushed, Before::kAfterOpen, Before::kAfterAResume}) {
      for (AfterResume then : {AfterResume::kWriteThenCrash, AfterResume::kClose}) {
        const std::string name = std::string(ops == FaultFs::kSync ? "sync-failed" : "append-failed") +
                                 (before == Before::kUnflushed ? "-unflushed"
                                  : before == Before::kAfterOpen ? "-after-open"
                                                                 : "-after-a-resume") +
                                 (then == AfterResume::kClose ? "-close" : "-write-crash");
        SCOPED_TRACE(name + ": " +
                     (ops == FaultFs::kSync ? "the WAL sync fails (the record is in the WAL)"
                                            : "the WAL append fails (a full disk)") +
                     (before == Before::kUnflushed ? "; on a store with unflushed writes"
                      : before == Before::kAfterOpen
                          ? "; on the first write after an open (empty memtables)"
                          : "; on the first write after an earlier resume (empty memtables)") +
                     (then == AfterResume::kClose ? "; after resuming, a clean close"
                                                  : "; after resuming, a write, then a crash"));
        const std::string path = root + "/" + name;
        const int parts = result->total_part_count();
        EXPECT_EXIT(refused_write_child(path, ops, before, then), ::testing::ExitedWithCode(0), "");
        if (inherited != nullptr) continue;
        const bool child_ok = result->total_part_count() == parts;
        Ledger l;
        for (int i = 1; i <= 3; ++i) l.add("k" + std::to_string(i), doc_for("k", i), i);
        // "after" was acknowledged only if the child got that far.
        if (then == AfterResume::kWriteThenCrash && child_ok) l.add("after", doc_for("after", 1), 4);
        l.refused.insert("refused");
        l.refused.insert("refused:earlier");
        {
          auto s = open_or_fail(path, Options{});
          ASSERT_TRUE(s);
          expect_store_matches(*s, l);
          EXPECT_TRUE(s->close().ok());
        }
        expect_log_matches(path, l);
      }
    }
  }
}

// --- item 14: a real full disk (a small tmpfs) --------------------------------------

// Mounts a tmpfs of `bytes` on `dir` for the scope; unmounts even when the test
// fails (lazily if something still holds it).
class TmpfsMount {
 public:
  TmpfsMount(const std::string& dir, std::size_t bytes) : dir_(dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    const std::string opts = "size=" + std::to_string(bytes) + ",mode=0700";
    if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = "mount -t tmpfs -o " + opts + " tmpfs " + dir + ": " + std::strerror(errno);
    }
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  ~TmpfsMount() {
    if (!mounted_) return;
    if (::umount2(dir_.c_str(), 0) != 0) {
      std::fprintf(stderr, "umount %s: %s; detaching it\n", dir_.c_str(), std::strerror(errno));
      ::umount2(dir_.c_str(), MNT_DETACH);
    }
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

std::uint64_t free_bytes(const std::string& dir) {
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) return 0;
  return static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize;
}

// Writes a file of up to `bytes` (all it can when the disk fills first); returns
// how many bytes it holds.
std::uint64_t write_filler(const std::string& file, std::uint64_t bytes) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  std::vector<char> block(64 << 10, 'x');
  std::uint64_t written = 0;
  while (written < bytes) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), bytes - written));
    const ssize_t w = ::write(fd, block.data(), n);
    if (w <= 0) break;  // ENOSPC
    written += static_cast<std::uint64_t>(w);
  }
  ::close(fd);
  return written;
}

// Fills the disk of `file` to the last byte it will take.
void fill_disk(const std::string& file) {
  write_filler(file, std::uint64_t{1} << 40);
  // Smaller writes for the last partial block.
  const int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return;
  char c = 'x';
  while (::write(fd, &c, 1) == 1) {
  }
  ::close(fd);
}

// A random (incompressible) document of about `bytes`.
Json big_doc(std::mt19937_64& rng, int n, std::size_t bytes) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string pad(bytes, ' ');
  for (char& c : pad) c = kAlphabet[rng() % (sizeof kAlphabet - 1)];
  return Json{{"n", n}, {"pad", pad}};
}

#define SKIP_UNLESS_ROOT()                                                  \
  do {                                                                      \
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";    \
  } while (0)

TEST(FullDiskTest, FullDiskIsSurvivedAndWritesResumeWhenSpaceIsFreed) {
  SKIP_UNLESS_ROOT();
  TempDir dir;
  const std::string mnt = dir.sub("mnt");
  TmpfsMount mount(mnt, 16u << 20);
  if (!mount.mounted()) GTEST_SKIP() << "cannot mount a tmpfs: " << mount.error();
  const std::string filler = mnt + "/filler";
  ASSERT_EQ(write_filler(filler, 6u << 20), 6u << 20);
  const std::string path = mnt + "/db";
  Options o;
  o.write_buffer_size = 256u << 10;  // flushes (and compactions) while filling
  o.cache_size = 0;                  // reads go to RocksDB
  std::mt19937_64 rng(42);
  Ledger l;
  {
    auto s = open_or_fail(path, o);
    ASSERT_TRUE(s);
    Status full;
    int n = 0;
    for (; n < 20000; ++n) {
      const std::string key = "doc:" + std::to_string(n);
      Json doc = big_doc(rng, n, 4000);
      Result<Seq> r = s->store_data(key, doc);
      if (!r.ok()) {
        full = r.status();
        l.refused.insert(key);
        break;
      }
      ASSERT_EQ(*r, l.acks.size() + 1) << key;
      l.add(key, std::move(doc), *r);
    }
    ASSERT_FALSE(full.ok()) << "20000 writes of 4 KB fit on a 16 MiB tmpfs?";
    EXPECT_EQ(full.code(), StatusCode::kIOError) << str(full);
    std::printf("[ info     ] the disk filled after %zu writes (%llu bytes free): %s\n", l.acks.size(),
                static_cast<unsigned long long>(free_bytes(mnt)), str(full).c_str());
    ASSERT_GT(l.acks.size(), 10u);

    // Alive; reads work; health says why; writes stay refused.
    for (const Ledger::Ack& a : l.acks) {
      Result<std::optional<Json>> d = s->load_data(a.key);
      ASSERT_TRUE(d.ok()) << a.key << ": " << str(d);
      ASSERT_TRUE(d->has_value()) << a.key;
      ASSERT_EQ(**d, *a.doc) << a.key;
    }
    Health h = s->check_health();
    EXPECT_EQ(h.status, HealthStatus::kDegraded) << h.detail;
    EXPECT_FALSE(h.detail.empty());
    std::printf("[ info     ] health: %s\n", h.detail.c_str());
    EXPECT_EQ(h.head_seq, l.acks.size());
    for (int i = 0; i < 3; ++i) {
      Result<Seq> r = s->store_data("refused:" + std::to_string(i), Json{{"i", i}});
      l.refused.insert("refused:" + std::to_string(i));
      EXPECT_FALSE(r.ok()) << "a write on a full disk succeeded with seq " << *r;
      EXPECT_EQ(r.status().code(), StatusCode::kIOError) << str(r);
    }
    EXPECT_EQ(s->check_health().status, HealthStatus::kDegraded);

    // Free space: writes resume by themselves, with the next seq.
    ASSERT_EQ(::unlink(filler.c_str()), 0) << std::strerror(errno);
    std::printf("[ info     ] freed the filler: %llu bytes free\n",
                static_cast<unsigned long long>(free_bytes(mnt)));
    const auto freed_at = steady_clock::now();
    int attempts = 0;
    Json after = Json{{"after", "free"}};
    Result<Seq> r = retry_write([&] { return s->store_data("after-free", after); }, milliseconds(10000),
                                StatusCode::kIOError, &attempts);
    if (!r.ok() && r.status().message().find("Resume() did not return") != std::string::npos) {
      // RocksDB 7.8 waits for ever inside Resume() (see bounded_resume() in
      // event_log.cc), and its Close() then waits for that Resume(): the writers
      // were told at once, but this store cannot be closed. Left open on purpose.
      std::printf("[ info     ] %s\n", str(r).c_str());
      (void)s.release();
      GTEST_SKIP() << "RocksDB 7.8's Resume() hung (a known RocksDB bug, fixed upstream in 8.7); "
                      "writes failed fast instead of hanging";
    }
    if (!r.ok() && r.status().message().find("until the store is reopened") != std::string::npos) {
      // RocksDB 7.8's limit, not the log's: after some failed atomic flushes its
      // Resume() never returns (see ListenerState and bounded_resume() in
      // event_log.cc). The log refuses writes instead of hanging, and a reopen (a
      // fresh RocksDB handle) resumes them.
      std::printf("[ info     ] RocksDB cannot resume in-process (%s); reopening\n", str(r).c_str());
      Status c = s->close();
      std::printf("[ info     ] close with writes stopped: %s\n", str(c).c_str());
      s.reset();
      s = open_or_fail(path, o);
      ASSERT_TRUE(s);
      r = s->store_data("after-free", after);
    }
    ASSERT_TRUE(r.ok()) << "writes did not resume within 10 s of freeing space (" << attempts
                        << " attempts, " << free_bytes(mnt) << " bytes free): " << str(r)
                        << "\nhealth: " << s->check_health().detail;
    std::printf("[ info     ] writes resumed %lld ms after freeing space (%d attempts)\n",
                static_cast<long long>(std::chrono::duration_cast<milliseconds>(steady_clock::now() - freed_at).count()),
                attempts);
    EXPECT_EQ(*r, l.acks.size() + 1);
    l.add("after-free", after, *r);
    h = s->check_health();
    EXPECT_EQ(h.status, HealthStatus::kHealthy) << h.detail;
    for (int i = 0; i < 10; ++i) {
      const std::string key = "after:" + std::to_string(i);
      store_ok(*s, l, key, Json{{"i", i}}, l.acks.size() + 1);
    }
    expect_store_matches(*s, l);
    Status c = s->close();
    EXPECT_TRUE(c.ok()) << str(c);
  }
  {
    auto s = open_or_fail(path, o);  // still on the tmpfs
    ASSERT_TRUE(s);
    expect_store_matches(*s, l);
    EXPECT_TRUE(s->close().ok());
  }
  expect_log_matches(path, l);
}

// The death test's child: opens the store at mnt/db on an almost full disk (the
// parent left 512 KiB free), whose first write (a 2 MiB document) does not fit: its
// WAL append fails part-way, with the memtables empty. Frees the filler, waits up
// to 10 s for writes to resume, writes "after" (seq 4) and closes. Exits 0 when
// everything went as scripted; otherwise says why and exits 1 (or aborts).
[[noreturn]] void full_disk_child(const std::string& mnt) {
  auto fail = [](const std::string& why) {
    std::fprintf(stderr, "child: %s\n", why.c_str());
    std::_Exit(1);
  };
  Options o;
  o.path = mnt + "/db";
  auto s = Storage::open(o);
  if (!s.ok()) fail("open with " + std::to_string(free_bytes(mnt)) + " bytes free: " + str(s));
  Result<Seq> r = (*s)->store_data("big", Json{{"pad", std::string(2u << 20, 'y')}});
  if (r.ok()) fail("a 2 MiB write fit into " + std::to_string(free_bytes(mnt)) + " bytes");
  if (r.status().code() != StatusCode::kIOError) fail("the write on a full disk: " + str(r));
  std::fprintf(stderr, "child: refused: %s\n", str(r).c_str());
  if (Health h = (*s)->check_health(); h.status != HealthStatus::kDegraded) fail("healthy on a full disk");
  Result<std::optional<Json>> d = (*s)->load_data("k1");
  if (!d.ok() || !d->has_value() || **d != doc_for("k1", 1)) fail("reading k1 on a full disk: " + str(d));
  if (::unlink((mnt + "/filler").c_str()) != 0) fail(std::string("unlink: ") + std::strerror(errno));
  std::fprintf(stderr, "child: freed space (%llu bytes free); writing 'after'\n",
               static_cast<unsigned long long>(free_bytes(mnt)));
  const auto deadline = steady_clock::now() + milliseconds(10000);
  for (;;) {
    r = (*s)->store_data("after", doc_for("after", 1));
    if (r.ok() || steady_clock::now() >= deadline) break;
    if (r.status().code() != StatusCode::kIOError) fail("write after freeing space: " + str(r));
    std::this_thread::sleep_for(milliseconds(20));
  }
  if (!r.ok()) fail("writes did not resume within 10 s of freeing space: " + str(r));
  if (*r != 4) fail("the write after resuming got seq " + std::to_string(*r) + ", not 4");
  if (Status c = (*s)->close(); !c.ok()) fail("close: " + str(c));
  std::_Exit(0);
}

// A store opened on an almost full disk, whose first write does not fit: once space
// is freed, writes resume and the process survives the next write.
TEST(FullDiskDeathTest, FirstWriteAfterOpeningOnAFullDiskThenSpaceIsFreed) {
  SKIP_UNLESS_ROOT();
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh process, not a fork
  // The child re-runs this test from the top, to the same EXPECT_EXIT: it uses the
  // parent's mount and store.
  static constexpr const char* kDirVar = "OMNI_FULL_DISK_DEATH_DIR";
  const char* inherited = std::getenv(kDirVar);
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<TmpfsMount> mount;
  std::unique_ptr<ScopedEnv> env;
  std::string mnt;
  Ledger l;
  if (inherited != nullptr) {
    mnt = inherited;
  } else {
    dir = std::make_unique<TempDir>();
    mnt = dir->sub("mnt");
    mount = std::make_unique<TmpfsMount>(mnt, 16u << 20);
    if (!mount->mounted()) GTEST_SKIP() << "cannot mount a tmpfs: " << mount->error();
    {
      auto s = open_or_fail(mnt + "/db", Options{});
      ASSERT_TRUE(s);
      for (int i = 1; i <= 3; ++i) store_ok(*s, l, "k" + std::to_string(i), doc_for("k" + std::to_string(i), 1), i);
      ASSERT_TRUE(s->close().ok());
    }
    const std::uint64_t avail = free_bytes(mnt);
    ASSERT_GT(avail, 1u << 20);
    write_filler(mnt + "/filler", avail - (512u << 10));
    env = std::make_unique<ScopedEnv>(kDirVar, mnt);
  }
  const auto* result = ::testing::UnitTest::GetInstance()->current_test_info()->result();
  const int parts = result->total_part_count();
  EXPECT_EXIT(full_disk_child(mnt), ::testing::ExitedWithCode(0), "");
  if (inherited != nullptr) return;
  env.reset();
  const std::string path = mnt + "/db";
  if (result->total_part_count() == parts) l.add("after", doc_for("after", 1), 4);
  l.refused.insert("big");
  ::unlink((mnt + "/filler").c_str());  // when the child did not get that far
  {
    auto s = open_or_fail(path, Options{});
    ASSERT_TRUE(s);
    expect_store_matches(*s, l);
    EXPECT_TRUE(s->close().ok());
  }
  expect_log_matches(path, l);
}

TEST(FullDiskTest, OpenOnAFullDiskFailsCleanly) {
  SKIP_UNLESS_ROOT();
  TempDir dir;
  const std::string mnt = dir.sub("mnt");
  TmpfsMount mount(mnt, 16u << 20);
  if (!mount.mounted()) GTEST_SKIP() << "cannot mount a tmpfs: " << mount.error();
  const std::string path = mnt + "/db";
  Options o;
  o.write_buffer_size = 256u << 10;
  Ledger l;
  {
    auto s = open_or_fail(path, o);
    ASSERT_TRUE(s);
    for (int i = 1; i <= 50; ++i) store_ok(*s, l, "k" + std::to_string(i), doc_for("k", i), i);
    ASSERT_TRUE(s->close().ok());
  }
  // No room at all, then a little: open must fail with a Status, or succeed; never
  // abort, never damage the store.
  const std::string filler = mnt + "/filler";
  for (std::uint64_t leave : {std::uint64_t{0}, std::uint64_t{16} << 10, std::uint64_t{256} << 10}) {
    SCOPED_TRACE("bytes left free: " + std::to_string(leave));
    ::unlink(filler.c_str());
    const std::uint64_t avail = free_bytes(mnt);
    if (leave == 0) {
      fill_disk(filler);
    } else {
      ASSERT_GT(avail, leave);
      write_filler(filler, avail - leave);
    }
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto s = Storage::open([&] {
        Options x = o;
        x.path = path;
        return x;
      }());
      if (!s.ok()) {
        EXPECT_EQ(s.status().code(), StatusCode::kIOError) << str(s);
        std::printf("[ info     ] open with %llu bytes free failed: %s\n",
                    static_cast<unsigned long long>(leave), str(s).c_str());
        continue;
      }
      std::printf("[ info     ] open with %llu bytes free succeeded\n", static_cast<unsigned long long>(leave));
      Result<std::optional<Json>> d = (*s)->load_data("k1");
      ASSERT_TRUE(d.ok()) << str(d);
      EXPECT_EQ(*d, std::optional<Json>(doc_for("k", 1)));
      Result<Seq> w = (*s)->store_data("full:write", Json{{"x", 1}});
      if (w.ok()) {
        l.add("full:write", Json{{"x", 1}}, *w);  // it fit
        EXPECT_EQ(*w, l.acks.size());
      } else {
        l.refused.insert("full:write");
        EXPECT_EQ(w.status().code(), StatusCode::kIOError) << str(w);
      }
      Status c = (*s)->close();
      std::printf("[ info     ]   write: %s, close: %s\n", w.ok() ? "OK" : str(w).c_str(), str(c).c_str());
    }
  }
  ASSERT_EQ(::unlink(filler.c_str()), 0) << std::strerror(errno);
  {
    auto s = open_or_fail(path, o);
    ASSERT_TRUE(s) << "the store does not open after space was freed";
    if (l.refused.count("full:write")) {
      // A refused write may not reappear (only one ack of it can exist in l).
      bool acked = false;
      for (const auto& a : l.acks) acked = acked || a.key == "full:write";
      if (acked) l.refused.erase("full:write");
    }
    expect_store_matches(*s, l);
    store_ok(*s, l, "after", Json{{"after", 1}}, l.acks.size() + 1);
    EXPECT_TRUE(s->close().ok());
  }
  expect_log_matches(path, l);
}

}  // namespace
}  // namespace omni
