// Why the event payload is compact JSON and not CBOR: both encodings of the same
// ~200-byte document, encode and decode, measured in one process (nlohmann::json);
// and the per-event SHA-256 of the hash chain against OpenSSL's one-shot call.
//
//   build/release/bench/codec_bench
#include <benchmark/benchmark.h>

#include <openssl/sha.h>

#include <cstdio>
#include <string>

#include "omni/log/event.h"
#include "omni/types.h"

namespace {

omni::Json doc() {
  return {{"id", 42},
          {"name", "user-42"},
          {"email", "user42@example.com"},
          {"role", "admin"},
          {"active", true},
          {"created", "2026-11-25T20:31:19Z"},
          {"tags", {"alpha", "beta", "gamma"}},
          {"score", 12345.5}};
}

void BM_EncodeJson(benchmark::State& state) {
  const omni::Json d = doc();
  for (auto _ : state) benchmark::DoNotOptimize(d.dump());
  state.counters["bytes"] = static_cast<double>(d.dump().size());
}

void BM_EncodeCbor(benchmark::State& state) {
  const omni::Json d = doc();
  for (auto _ : state) benchmark::DoNotOptimize(omni::Json::to_cbor(d));
  state.counters["bytes"] = static_cast<double>(omni::Json::to_cbor(d).size());
}

void BM_DecodeJson(benchmark::State& state) {
  const std::string s = doc().dump();
  for (auto _ : state) benchmark::DoNotOptimize(omni::Json::parse(s));
}

void BM_DecodeCbor(benchmark::State& state) {
  const std::vector<std::uint8_t> b = omni::Json::to_cbor(doc());
  for (auto _ : state) benchmark::DoNotOptimize(omni::Json::from_cbor(b));
}

// The hash chain hashes each event (~300 bytes) once: the baseline is OpenSSL 3's
// one-shot SHA256(), which fetches the algorithm on every call.
void BM_Sha256OneShot(benchmark::State& state) {
  const std::string event(304, 'e');
  unsigned char out[32];
  for (auto _ : state) {
    SHA256(reinterpret_cast<const unsigned char*>(event.data()), event.size(), out);
    benchmark::DoNotOptimize(out);
  }
}

void BM_Sha256(benchmark::State& state) {  // omni::log::sha256
  const std::string event(304, 'e');
  for (auto _ : state) benchmark::DoNotOptimize(omni::log::sha256(event));
}

BENCHMARK(BM_Sha256OneShot);
BENCHMARK(BM_Sha256);
BENCHMARK(BM_EncodeJson);
BENCHMARK(BM_EncodeCbor);
BENCHMARK(BM_DecodeJson);
BENCHMARK(BM_DecodeCbor);

}  // namespace

BENCHMARK_MAIN();
