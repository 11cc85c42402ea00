// kill -9 during sync writes, 20 rounds: every acknowledged write survives with its
// exact document, the hash chain verifies, and the state projection equals a replay
// of the log.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <tuple>
#include <random>
#include <sstream>

#include "omni/log/event_log.h"
#include "omni/projections/projection_set.h"
#include "omni/storage.h"
#include "test_util.h"

namespace omni {
namespace {

struct Ack {
  Seq seq;
  std::string key;
  std::string doc;  // compact JSON, or "-" for a delete
};

// Runs crash_writer on `path` until `run_ms` after its first acknowledged write,
// kills it with SIGKILL and returns every write it acknowledged.
std::vector<Ack> run_and_kill(const std::string& path, unsigned seed, int run_ms) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    const std::string s = std::to_string(seed);
    execl(OMNI_CRASH_WRITER, OMNI_CRASH_WRITER, path.c_str(), s.c_str(), nullptr);
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[65536];
  // The kill is timed from the first acknowledged write, so a slow start (a loaded
  // machine, sanitizer builds) does not turn rounds into kills before any write.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool armed = false, killed = false;
  for (;;) {
    if (!killed && std::chrono::steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      killed = true;
    }
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, 5) > 0) {
      const ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;  // EOF: the child is gone
      out.append(buf, static_cast<std::size_t>(n));
      if (!armed) {
        armed = true;
        deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(run_ms);
      }
    }
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "crash_writer exited on its own with status " << status;

  std::vector<Ack> acks;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // a line cut by the kill was never complete
    Ack a;
    std::istringstream ls(line);
    ls >> a.seq >> a.key;
    std::getline(ls >> std::ws, a.doc);
    acks.push_back(std::move(a));
  }
  return acks;
}

TEST(CrashRecoveryTest, AcknowledgedSyncWritesSurviveKill9) {
  omni::testing::TempDir dir;
  std::mt19937 rng(std::random_device{}());
  std::size_t total_acks = 0, total_edges = 0, total_versions = 0;
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const int run_ms = 50 + static_cast<int>(rng() % 250);
    std::vector<Ack> acks = run_and_kill(dir.path(), rng(), run_ms);
    total_acks += acks.size();

    {
      auto s = Storage::open({.path = dir.path()});
      ASSERT_TRUE(s.ok()) << s.status().to_string();
      std::map<std::string, const Ack*> last_ack;
      for (const Ack& a : acks) last_ack[a.key] = &a;
      for (const auto& [key, a] : last_ack) {
        // Nothing acknowledged is lost: the key shows its last acknowledged write or
        // a later one (the writer may have committed more than it reported).
        const Seq version = *(*s)->get_version(key);
        auto trail = (*s)->get_audit_trail(key);
        ASSERT_TRUE(trail.ok() && !trail->empty()) << key;
        const AuditEntry& last = trail->back();
        EXPECT_EQ(version, last.operation == "delete" ? 0 : last.seq) << key;
        if (last.seq == a->seq) {
          if (a->doc != "-") {
            EXPECT_EQ((*(*s)->load_data(key))->dump(), a->doc) << key;
          }
        } else {
          // A later write, committed but not yet reported when the kill came.
          EXPECT_GT(last.seq, a->seq) << key;
        }
      }
      ASSERT_TRUE((*s)->close().ok());
    }
    // The raw log: every acked event is there with its exact document, the chain
    // verifies, and the state projection equals a replay of the log.
    log::EventLogOptions lo;
    lo.path = dir.path();
    lo.extra_column_families = projections::column_families();
    auto log = log::EventLog::open(lo);
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    for (const Ack& a : acks) {
      Result<log::Event> e = (*log)->read(a.seq);
      ASSERT_TRUE(e.ok()) << "acked seq " << a.seq << ": " << e.status().to_string();
      EXPECT_EQ(e->key, a.key);
      EXPECT_EQ(a.doc == "-" ? std::string() : a.doc, e->payload) << "seq " << a.seq;
    }
    Result<log::ChainCheck> chain = (*log)->verify_chain();
    ASSERT_TRUE(chain.ok());
    EXPECT_EQ(chain->first_bad_seq, 0u) << chain->problem;
    projections::ProjectionSet proj(**log);
    auto replay = projections::replay_state(**log);
    ASSERT_TRUE(replay.ok());
    std::map<std::string, projections::StateEntry> stored;
    ASSERT_TRUE(proj.state().for_each("", [&](std::string_view k, const projections::StateEntry& e) {
                  stored.emplace(std::string(k), e);
                  return true;
                }).ok());
    EXPECT_EQ(stored, *replay);

    // Relationships and versions: the forward and reverse indexes agree with each
    // other and with a replay of the log, and so do the version rows.
    std::set<std::tuple<std::string, std::string, std::string>> edges;
    std::map<std::pair<std::string, std::string>, Seq> versions;  // (key, label) -> seq
    ASSERT_TRUE((*log)->scan(1, [&](const log::Event& e) {
                  if (e.type == log::EventType::RelationshipAdded) edges.insert({e.key, e.attrs.predicate, e.attrs.object});
                  if (e.type == log::EventType::RelationshipRemoved) edges.erase({e.key, e.attrs.predicate, e.attrs.object});
                  if (e.type == log::EventType::VersionStored) versions[{e.key, e.attrs.label}] = e.seq;
                  if (e.type == log::EventType::VersionsPruned) {
                    for (const auto& l : e.attrs.names) versions.erase({e.key, l});
                  }
                  return true;
                }).ok());
    auto split = [](const std::string& row) {
      const auto a = row.find('\0'), b = row.find('\0', a + 1);
      return std::tuple<std::string, std::string, std::string>(row.substr(0, a), row.substr(a + 1, b - a - 1),
                                                               row.substr(b + 1));
    };
    std::set<std::tuple<std::string, std::string, std::string>> fwd, rev;
    std::map<std::pair<std::string, std::string>, Seq> labels;
    auto rows = [&](std::string_view cf, const std::function<void(const std::string&, const std::string&)>& fn) {
      std::unique_ptr<rocksdb::Iterator> it((*log)->db()->NewIterator(rocksdb::ReadOptions(), (*log)->column_family(cf)));
      for (it->SeekToFirst(); it->Valid(); it->Next()) fn(it->key().ToString(), it->value().ToString());
      ASSERT_TRUE(it->status().ok());
    };
    rows("rel_fwd", [&](const std::string& k, const std::string&) { fwd.insert(split(k)); });
    rows("rel_rev", [&](const std::string& k, const std::string&) {
      auto [o, p, subj] = split(k);
      rev.insert({subj, p, o});
    });
    rows("versions", [&](const std::string& k, const std::string& v) {
      const auto z = k.find('\0');
      if (k[z + 1] == 'L') labels[{k.substr(0, z), k.substr(z + 2)}] = log::EventLog::decode_seq_key(v);
    });
    EXPECT_EQ(fwd, rev);
    EXPECT_EQ(fwd, edges);
    EXPECT_EQ(labels, versions);
    total_edges += edges.size();
    total_versions += versions.size();
  }
  EXPECT_GT(total_acks, 0u) << "the writer never acknowledged anything";
  EXPECT_GT(total_edges, 0u) << "no relationship survived: the check above proved nothing";
  EXPECT_GT(total_versions, 0u);
}

TEST(CrashRecoveryTest, TornWalTailLeavesStoreAtTheIntactPrefix) {
  omni::testing::TempDir dir;
  // A crash, not a close: close() flushes, which would leave nothing in the WAL.
  omni::testing::crash_after(dir.path(), [&] {
    auto s = std::move(*Storage::open({.path = dir.path(), .sync = true}));
    for (int i = 1; i <= 20; ++i) {
      if (!s->store_data("k" + std::to_string(i % 7), Json{{"i", i}}).ok()) return false;
    }
    (void)s.release();  // never closed: the child dies with it open
    return true;
  });
  omni::testing::truncate_newest_wal(dir.path(), 3);

  // The WAL is preallocated with its size set, so the torn write reads as a record
  // ending in zeros, followed by zeros: a torn tail, not damage. A store that
  // refuses damage opens too.
  {
    omni::testing::TempDir strict;
    std::filesystem::copy(dir.path(), strict.path(),
                          std::filesystem::copy_options::recursive |
                              std::filesystem::copy_options::overwrite_existing);
    auto s = Storage::open(
        {.path = strict.path(), .wal_recovery = WalRecovery::kAbsoluteConsistency});
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    EXPECT_EQ((*s)->get_statistics().head_seq, 19u);
  }

  auto s = Storage::open({.path = dir.path()});
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ((*s)->get_statistics().head_seq, 19u);
  EXPECT_EQ((*s)->check_health().status, HealthStatus::kHealthy) << (*s)->check_health().detail;
  // k6 was last written by i=20 (lost) and before that by i=13.
  EXPECT_EQ(**(*s)->load_data("k6"), (Json{{"i", 13}}));
  EXPECT_EQ(**(*s)->load_data("k5"), (Json{{"i", 19}}));
  EXPECT_EQ((*s)->get_audit_trail("k6")->size(), 2u);  // i=6 and i=13
  ASSERT_TRUE((*s)->store_data("k6", Json{{"i", 20}}).ok());
  EXPECT_EQ(*(*s)->get_version("k6"), 20u);
}

}  // namespace
}  // namespace omni
