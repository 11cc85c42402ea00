// The README's quick start, compiled and run by the test suite (readme_quickstart).
// Usage: readme_quickstart <directory>
#include <omni/storage.h>

#include <cstdio>
#include <filesystem>

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "/tmp/omni-quickstart";
  std::filesystem::remove_all(path);  // start from an empty store

  // --- quick start (README) ---
  omni::Options opt;
  opt.path = path;
  opt.cache_size = 10000;
  auto storage = omni::Storage::open(opt).value();

  omni::Seq v1 = storage->store_data("user:123", {{"name", "Alice"}, {"role", "admin"}},
                                     {.identity = "svc-auth"}).value();
  std::optional<omni::Json> user = storage->load_data("user:123").value();
  std::printf("loaded: %s (version %llu)\n", user->dump().c_str(),
              static_cast<unsigned long long>(v1));

  // Optimistic concurrency: only succeeds if nobody wrote user:123 since v1.
  auto v2 = storage->store_data("user:123", {{"name", "Alice"}, {"role", "owner"}},
                                {.identity = "svc-auth", .expected_version = v1});
  auto stale = storage->store_data("user:123", {{"name", "Mallory"}},
                                   {.expected_version = v1});
  std::printf("update: %s, stale update: %s\n", v2.status().to_string().c_str(),
              stale.status().to_string().c_str());

  for (const omni::AuditEntry& e : storage->get_audit_trail("user:123").value()) {
    std::printf("audit: seq %llu %s by %s\n", static_cast<unsigned long long>(e.seq),
                e.operation.c_str(), e.identity.c_str());
  }
  // --- end of quick start ---

  if (!v2.ok() || stale.status().code() != omni::StatusCode::kConflict) return 1;
  if (!storage->close().ok()) return 1;
  storage.reset();

  // Reopen: the data survived.
  auto reopened = omni::Storage::open(opt).value();
  auto again = reopened->load_data("user:123").value();
  std::printf("after reopen: %s\n", again ? again->dump().c_str() : "(missing)");
  return again && (*again)["role"] == "owner" ? 0 : 1;
}
