// Helpers for the `omni` tool tests: a store with every kind of event, running the
// command line in-process, and reading and rewriting the stored events.
#pragma once

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "omni/log/event_log.h"
#include "omni/log/head_anchor.h"
#include "omni/storage.h"
#include "omni/tools/cli.h"
#include "test_util.h"

namespace omni::testing {

struct CliRun {
  int code = -1;
  std::string out;
  std::string err;
};

// `omni args...` in this process.
inline CliRun run_omni(std::vector<std::string> args) {
  args.insert(args.begin(), "omni");
  std::ostringstream out, err;
  CliRun r;
  r.code = tools::run_cli(args, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

inline std::string join_lines(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

// Writes a store with every kind of event: stores and updates by two identities,
// a delete (which cascades a relationship removal), relationships, versions and a
// policy decision. Returns the head seq. The store is closed.
inline Seq make_mixed_store(const std::string& path, int users = 5) {
  auto s = std::move(*Storage::open({.path = path}));
  for (int i = 0; i < users; ++i) {
    const std::string k = "user:" + std::to_string(i);
    EXPECT_TRUE(s->store_data(k, {{"name", "user " + std::to_string(i)}, {"i", i}}, {.identity = "svc-a"}).ok());
  }
  EXPECT_TRUE(s->store_data("user:1", {{"name", "renamed"}}, {.identity = "svc-b"}).ok());
  EXPECT_TRUE(s->store_relationship("user:1", "member_of", "group:admin", {.identity = "svc-b"}).ok());
  EXPECT_TRUE(s->store_relationship("user:2", "member_of", "group:admin").ok());
  EXPECT_TRUE(s->store_version("config", "v1", {{"replicas", 3}}).ok());
  EXPECT_TRUE(s->store_version("config", "v2", {{"replicas", 5}}).ok());
  EXPECT_TRUE(s->cache_policy_decision("user:1", "read", "doc:1", true, {.depends_on = {"group:admin"}}).ok());
  EXPECT_TRUE(s->delete_data("user:2", {.identity = "svc-a"}).ok());  // + relationship_removed
  for (int i = 0; i < users; ++i) {
    EXPECT_TRUE(s->store_data("user:" + std::to_string(i), {{"round", 2}}, {.identity = "svc-a"}).ok());
  }
  const Seq head = s->get_statistics().head_seq;
  EXPECT_TRUE(s->close().ok());
  return head;
}

// Every stored event's bytes, seq 1..head (the store must be closed).
inline std::vector<std::string> stored_events(const std::string& path) {
  std::vector<std::string> out;
  with_raw_db(path, [&](rocksdb::DB* db, const auto& cf) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf("events")));
    for (it->SeekToFirst(); it->Valid(); it->Next()) out.push_back(it->value().ToString());
  });
  return out;
}

// Re-encodes `e` with `prev` as its prev_hash.
inline std::string encode(const log::Event& e, const log::Hash& prev) {
  std::string out;
  log::encode_event({e.seq, e.timestamp_ns, e.type, e.identity, e.key, e.payload, &prev, &e.attrs}, &out);
  return out;
}

// What an attacker with write access does: changes seq `at`'s payload and
// re-chains every event after it, and rewrites OMNI-HEAD to match, so only a hash
// kept elsewhere can tell. The store must be closed.
inline void rechain_from(const std::string& path, Seq at, const std::string& new_payload) {
  std::vector<std::string> events = stored_events(path);
  log::Hash prev{};
  for (Seq seq = 1; seq <= events.size(); ++seq) {
    log::Event e = *log::decode_event(events[seq - 1], seq);
    if (seq == at) e.payload = new_payload;
    if (seq >= at) events[seq - 1] = encode(e, prev);
    prev = log::sha256(events[seq - 1]);
  }
  with_raw_db(path, [&](rocksdb::DB* db, const auto& cf) {
    for (Seq seq = at; seq <= events.size(); ++seq) {
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf("events"), log::EventLog::seq_key(seq), events[seq - 1]).ok());
    }
  });
  ASSERT_TRUE(log::write_head_anchor(path, {events.size(), prev}).ok());
}

inline void delete_event(const std::string& path, Seq seq) {
  with_raw_db(path, [&](rocksdb::DB* db, const auto& cf) {
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), cf("events"), log::EventLog::seq_key(seq)).ok());
  });
}

}  // namespace omni::testing
