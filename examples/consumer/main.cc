#include <omni/storage.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  auto s = omni::Storage::open({.path = argv[1]});
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.status().to_string().c_str());
    return 1;
  }
  auto seq = (*s)->store_data("consumer", {{"ok", true}});
  auto doc = (*s)->load_data("consumer");
  std::printf("seq %llu: %s\n", static_cast<unsigned long long>(seq.ok() ? *seq : 0),
              doc.ok() && *doc ? (*doc)->dump().c_str() : "?");
  return seq.ok() && doc.ok() && *doc ? 0 : 1;
}
