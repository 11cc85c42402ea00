// The README's relationships / versions / policy cache / as-of / rebuild snippet,
// compiled and run by the test suite (readme_features).
// Usage: readme_features <directory>
#include <omni/storage.h>

#include <cstdio>
#include <filesystem>

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "/tmp/omni-features";
  std::filesystem::remove_all(path);
  omni::Options opt;
  opt.path = path;
  auto storage = omni::Storage::open(opt).value();
  int failures = 0;
  auto check = [&](bool ok, const char* what) {
    if (!ok) {
      std::printf("FAILED: %s\n", what);
      ++failures;
    }
  };

  // --- features (README) ---
  // Relationships: indexed both ways, paged, in byte order.
  storage->store_relationship("user:123", "member_of", "group:admin").value();
  storage->store_relationship("user:456", "member_of", "group:admin").value();
  std::vector<std::string> groups = storage->get_related("user:123", "member_of").value();
  std::vector<std::string> members = storage->get_related_reverse("group:admin", "member_of").value();
  storage->notifications()
      .add_callback("relationship_changed",
                    [](const std::string& subject, const std::string& predicate, const std::string& object,
                       const std::string& operation) {
                      std::printf("%s: %s %s %s\n", operation.c_str(), subject.c_str(), predicate.c_str(),
                                  object.c_str());
                    })
      .value();

  // Policy decisions: cached until their TTL, or until a change names them.
  storage->cache_policy_decision("user:123", "read", "resource:abc", true,
                                 {.ttl = std::chrono::minutes(30), .depends_on = {"group:admin"}}).value();
  std::optional<bool> allowed = storage->get_cached_policy("user:123", "read", "resource:abc").value();

  // Deleting a key removes its edges in the same commit, and drops the decisions
  // that named it (or the other end of a removed edge).
  omni::Seq before_delete = storage->store_data("user:123", {{"name", "Alice"}}).value();
  storage->delete_data("user:123").value();
  std::optional<bool> after = storage->get_cached_policy("user:123", "read", "resource:abc").value();

  // Versions: labelled snapshots, independent of store_data.
  omni::Status configured = storage->versioning().configure({.max_versions_per_key = 25});
  storage->store_version("config", "v1.2.3", {{"replicas", 3}}).value();
  storage->store_version("config", "v1.2.4", {{"replicas", 5}}).value();
  std::optional<omni::Json> latest = storage->load_version("config").value();
  std::optional<omni::Json> v123 = storage->load_version("config", "v1.2.3").value();

  // As-of reads: the store as it was right after a seq.
  std::optional<omni::Json> then = storage->load_data("user:123", omni::ReadOptions{.as_of = before_delete}).value();

  // Every derived index rebuilt from the log while the store keeps serving.
  omni::Status rebuilt = storage->rebuild_projections();
  // --- end of features ---

  check(groups == std::vector<std::string>{"group:admin"}, "get_related");
  check(members == (std::vector<std::string>{"user:123", "user:456"}), "get_related_reverse");
  check(allowed == true, "cached decision");
  check(!after.has_value(), "decision dropped by the delete");
  check(storage->get_related_reverse("group:admin", "member_of").value() == std::vector<std::string>{"user:456"},
        "cascade");
  check(latest && (*latest)["replicas"] == 5 && v123 && (*v123)["replicas"] == 3, "versions");
  check(then && (*then)["name"] == "Alice", "as-of read");
  check(rebuilt.ok(), "rebuild_projections");
  check(configured.ok(), "versioning().configure");
  check(storage->list_versions("config").value().size() == 2, "versions after rebuild");
  check(storage->close().ok(), "close");
  return failures == 0 ? 0 : 1;
}
