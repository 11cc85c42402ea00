// Child process of crash_recovery_test: writes with sync=true forever and reports
// each acknowledged write on stdout as "<seq> <key> <compact json>\n" (or
// "<seq> <key> -" for a delete), flushing after each line. The parent kill -9s it.
#include <cstdio>
#include <random>
#include <string>

#include "omni/storage.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: crash_writer <path> <seed>\n");
    return 2;
  }
  omni::Options o;
  o.path = argv[1];
  o.sync = true;
  auto opened = omni::Storage::open(o);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().to_string().c_str());
    return 1;
  }
  auto& s = *opened;
  std::mt19937_64 rng(std::stoull(argv[2]));
  for (std::uint64_t i = 0;; ++i) {
    const int kind = static_cast<int>(rng() % 10);
    auto key = [&] { return "k" + std::to_string(rng() % 40); };
    auto doc = [&] {
      return omni::Json{{"i", i}, {"seed", argv[2]}, {"pad", std::string(rng() % 300, 'p')}};
    };
    // Relationships and versions live on their own keys ("r…", "v…"), so the
    // data keys' audit trails hold data events only (the test checks them); a
    // delete of an "r" key cascades to its edges.
    const int extra = static_cast<int>(rng() % 4);
    if (extra == 0) {
      const std::string a = "r" + std::to_string(rng() % 20), b = "r" + std::to_string(rng() % 20);
      const std::string p = rng() % 2 ? "member_of" : "owns";
      auto r = rng() % 4 == 0 ? s->remove_relationship(a, p, b) : s->store_relationship(a, p, b);
      if (!r.ok()) return 1;
      if (rng() % 10 == 0 && !s->delete_data(a).ok()) return 1;
    } else if (extra == 1) {
      const std::string k = "v" + std::to_string(rng() % 10);
      auto r = s->store_version(k, "l" + std::to_string(rng() % 6), doc(), {.overwrite = true});
      if (!r.ok()) return 1;
    }
    if (kind == 0) {
      const std::string k = key();
      auto r = s->delete_data(k);
      if (!r.ok()) return 1;
      std::printf("%llu %s -\n", static_cast<unsigned long long>(*r), k.c_str());
    } else if (kind == 1) {
      std::vector<omni::BatchItem> items = {{key(), doc()}, {key(), doc()}, {key(), doc()}};
      auto copy = items;
      auto r = s->store_batch(std::move(items));
      if (!r.ok()) return 1;
      for (std::size_t j = 0; j < copy.size(); ++j) {
        std::printf("%llu %s %s\n", static_cast<unsigned long long>(*r - copy.size() + 1 + j),
                    copy[j].key.c_str(), copy[j].doc.dump().c_str());
      }
    } else {
      const std::string k = key();
      const omni::Json d = doc();
      auto r = s->store_data(k, d);
      if (!r.ok()) return 1;
      std::printf("%llu %s %s\n", static_cast<unsigned long long>(*r), k.c_str(), d.dump().c_str());
    }
    std::fflush(stdout);
  }
}
