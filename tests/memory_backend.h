// MemoryBackend: a user-written omni::Backend that keeps everything in memory,
// the way the README's "Adding a backend" shows, with switches tests use to make
// it fail: down() (transient: kUnavailable), poison(key) (permanent: kBackend for
// stores of that key), and wipe() (an empty target, watermark gone).
// Applies idempotently by seq, like every backend must.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>

#include "omni/backend.h"

namespace omni::test {

class MemoryBackend : public Backend {
 public:
  struct State {
    std::map<std::string, std::pair<Seq, std::string>> docs;  // key -> (seq, json); json empty: deleted
    std::set<std::tuple<std::string, std::string, std::string>> edges;
    std::map<std::pair<std::string, std::string>, std::string> versions;  // (key, label) -> json
    std::map<std::tuple<std::string, std::string, std::string>, bool> decisions;
    std::optional<Seq> watermark;
    std::uint64_t apply_calls = 0;
    std::uint64_t changes_applied = 0;  // changes that changed something
    std::uint64_t store_writes = 0;     // document stores written
    std::map<std::string, int> applies_per_key;
  };

  // keeps_watermark: the target stores its position (as Redis does); else the
  // store keeps the cursor.
  explicit MemoryBackend(bool keeps_watermark = false) : keeps_watermark_(keeps_watermark) {}

  void down(bool d) {
    std::lock_guard l(mu_);
    down_ = d;
  }
  void poison(const std::string& key) {
    std::lock_guard l(mu_);
    poison_.insert(key);
  }
  void heal(const std::string& key) {
    std::lock_guard l(mu_);
    poison_.erase(key);
  }
  void wipe() {
    std::lock_guard l(mu_);
    s_ = State{};
  }
  State state() const {
    std::lock_guard l(mu_);
    return s_;
  }
  std::optional<std::string> doc(const std::string& key) const {
    std::lock_guard l(mu_);
    auto it = s_.docs.find(key);
    if (it == s_.docs.end() || it->second.second.empty()) return std::nullopt;
    return it->second.second;
  }

  Status store_data(std::string_view key, const Json& doc, Seq seq) override {
    Change c;
    c.type = ChangeType::kStore;
    c.key = std::string(key);
    c.json = doc.dump();
    c.seq = seq;
    return apply(ChangeBatch{{c}, 0, true});
  }
  Result<std::optional<Json>> load_data(std::string_view key) override {
    std::lock_guard l(mu_);
    if (down_) return Status::unavailable("memory backend is down");
    auto it = s_.docs.find(std::string(key));
    if (it == s_.docs.end() || it->second.second.empty()) return std::optional<Json>();
    return std::optional<Json>(Json::parse(it->second.second));
  }
  Status delete_data(std::string_view key, Seq seq) override {
    Change c;
    c.type = ChangeType::kDelete;
    c.key = std::string(key);
    c.seq = seq;
    return apply(ChangeBatch{{c}, 0, true});
  }
  Status health_check() override {
    std::lock_guard l(mu_);
    return down_ ? Status::unavailable("memory backend is down") : Status();
  }
  bool keeps_watermark() const override { return keeps_watermark_; }
  Result<std::optional<Seq>> watermark() override {
    std::lock_guard l(mu_);
    if (down_) return Status::unavailable("memory backend is down");
    return s_.watermark;
  }

  Status apply(const ChangeBatch& b) override {
    std::lock_guard l(mu_);
    ++s_.apply_calls;
    if (down_) return Status::unavailable("memory backend is down");
    if (b.expected_watermark && *b.expected_watermark != s_.watermark) {
      return Status::not_found("memory backend: the watermark is not what the worker expects");
    }
    for (const Change& c : b.changes) {
      if (c.type == ChangeType::kStore && poison_.count(c.key)) {
        return Status::backend("memory backend refuses key '" + c.key + "'");
      }
    }
    for (const Change& c : b.changes) {
      if (!b.reseed && s_.watermark && c.seq <= *s_.watermark) continue;
      switch (c.type) {
        case ChangeType::kStore:
        case ChangeType::kDelete: {
          auto& slot = s_.docs[c.key];
          if (slot.first >= c.seq) continue;  // not newer: idempotent
          slot = {c.seq, c.type == ChangeType::kStore ? c.json : std::string()};
          if (c.type == ChangeType::kStore) ++s_.store_writes;
          break;
        }
        case ChangeType::kRelationshipAdded: s_.edges.insert({c.key, c.predicate, c.object}); break;
        case ChangeType::kRelationshipRemoved: s_.edges.erase({c.key, c.predicate, c.object}); break;
        case ChangeType::kVersionStored: s_.versions[{c.key, c.label}] = c.json; break;
        case ChangeType::kVersionsPruned:
          for (const std::string& label : c.labels) s_.versions.erase({c.key, label});
          break;
        case ChangeType::kPolicyDecided: s_.decisions[{c.principal, c.action, c.key}] = c.allowed; break;
      }
      ++s_.changes_applied;
      ++s_.applies_per_key[c.key];
    }
    if (keeps_watermark_ && b.through > 0) s_.watermark = std::max(s_.watermark.value_or(0), b.through);
    return Status();
  }

 private:
  const bool keeps_watermark_;
  mutable std::mutex mu_;
  State s_;
  bool down_ = false;
  std::set<std::string> poison_;
};

}  // namespace omni::test
