// Backends: a backend of your own, strategies, offline mode. The marked block is
// the README's "Backends" example, verbatim; the suite runs this program.
#include <omni/storage.h>

#include <cstdio>
#include <map>
#include <mutex>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  auto storage = omni::Storage::open({.path = argv[1]}).value();
  // --- backends (README) ---
  // Adding a backend: the reference README's StorageBackend, plus the seq of
  // each change, so a replayed older change is recognised and skipped.
  class MapBackend : public omni::Backend {
   public:
    omni::Status store_data(std::string_view key, const omni::Json& doc, omni::Seq seq) override {
      std::lock_guard l(mu_);
      auto& [at, value] = data_[std::string(key)];
      if (seq > at) at = seq, value = doc;  // apply only what is newer: idempotent
      return {};
    }
    omni::Result<std::optional<omni::Json>> load_data(std::string_view key) override {
      std::lock_guard l(mu_);
      auto it = data_.find(std::string(key));
      if (it == data_.end() || it->second.second.is_null()) return std::optional<omni::Json>();
      return std::optional<omni::Json>(it->second.second);
    }
    omni::Status delete_data(std::string_view key, omni::Seq seq) override {
      return store_data(key, nullptr, seq);  // a tombstone keeps the seq
    }
    omni::Status health_check() override { return {}; }

   private:
    std::mutex mu_;  // called from the sink worker and from load_data's fallback
    std::map<std::string, std::pair<omni::Seq, omni::Json>> data_;
  };
  omni::Status st = storage->add_backend("primary", std::make_unique<MapBackend>(), /*priority=*/1);
  if (st.ok()) st = storage->add_backend("backup", std::make_unique<MapBackend>(), /*priority=*/2);

  // write_through (the default): returns once "primary" (or, if it is down, the
  // next healthy backend) applied the write.
  omni::Seq s = storage->store_data("user:1", {{"name", "Alice"}}).value();

  // Custom: the reference README's "Redis immediately, registry queued for backup".
  st = storage->set_sync_strategy("custom", [](omni::SyncPlan& plan, const omni::WriteInfo& w) {
    plan.apply_now("primary");
    plan.queue_backup("backup", w.key, w.doc);
  });
  storage->store_data("user:2", {{"name", "Bob"}}).value();

  // write_behind: returns after the local append; backends are fed in batches.
  st = storage->set_sync_strategy(omni::SyncStrategy::write_behind, {.interval = std::chrono::milliseconds(100)});
  s = storage->store_data("user:3", {{"name", "Carol"}}).value();
  st = storage->wait_for_backend("backup", s, std::chrono::seconds(5));  // read-your-writes through it

  // Offline: writes stay local and backends wait; then they drain from their cursors.
  storage->enable_offline_mode();
  storage->store_data("user:4", {{"name", "Dan"}}).value();
  storage->disable_offline_mode();

  for (const omni::BackendStatistics& b : storage->get_statistics().backends) {
    std::printf("%s: cursor %llu, lag %llu, %s\n", b.name.c_str(), (unsigned long long)b.cursor,
                (unsigned long long)b.lag, b.healthy ? "healthy" : b.last_error.c_str());
  }
  // --- end of backends ---
  if (!st.ok()) return 1;
  return storage->wait_for_backend("backup", storage->get_statistics().head_seq, std::chrono::seconds(5)).ok() ? 0 : 1;
}
