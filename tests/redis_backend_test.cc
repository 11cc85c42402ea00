// omni::RedisBackend against a real redis-server (tests/redis_server.h), through
// the omni::Backend interface, and read back both through the backend and with
// redis-cli, as a user would.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <sstream>
#include <thread>

#include "omni/redis_backend.h"
#include "redis_server.h"

namespace omni {
namespace {

using namespace std::chrono_literals;
using testing::RedisServer;

// ---- changes ---------------------------------------------------------------------

Change store(Seq seq, std::string key, const Json& doc) {
  Change c;
  c.seq = seq;
  c.type = ChangeType::kStore;
  c.key = std::move(key);
  c.json = doc.dump();
  c.timestamp = std::chrono::system_clock::now();
  return c;
}

Change del(Seq seq, std::string key) {
  Change c;
  c.seq = seq;
  c.type = ChangeType::kDelete;
  c.key = std::move(key);
  return c;
}

Change relate(Seq seq, std::string subject, std::string predicate, std::string object, bool added = true) {
  Change c;
  c.seq = seq;
  c.type = added ? ChangeType::kRelationshipAdded : ChangeType::kRelationshipRemoved;
  c.key = std::move(subject);
  c.predicate = std::move(predicate);
  c.object = std::move(object);
  return c;
}

Change version(Seq seq, std::string key, std::string label, const Json& doc,
               std::chrono::system_clock::time_point at = std::chrono::system_clock::now()) {
  Change c;
  c.seq = seq;
  c.type = ChangeType::kVersionStored;
  c.key = std::move(key);
  c.label = std::move(label);
  c.json = doc.dump();
  c.timestamp = at;
  return c;
}

Change pruned(Seq seq, std::string key, std::vector<std::string> labels) {
  Change c;
  c.seq = seq;
  c.type = ChangeType::kVersionsPruned;
  c.key = std::move(key);
  c.labels = std::move(labels);
  return c;
}

Change decided(Seq seq, std::string principal, std::string action, std::string resource, bool allowed,
               std::chrono::nanoseconds ttl, std::vector<std::string> depends_on = {},
               std::chrono::system_clock::time_point at = std::chrono::system_clock::now()) {
  Change c;
  c.seq = seq;
  c.type = ChangeType::kPolicyDecided;
  c.key = std::move(resource);
  c.principal = std::move(principal);
  c.action = std::move(action);
  c.allowed = allowed;
  c.ttl = ttl;
  c.depends_on = std::move(depends_on);
  c.timestamp = at;
  return c;
}

ChangeBatch batch(std::vector<Change> changes, Seq through, bool reseed = false) {
  return ChangeBatch{std::move(changes), through, reseed};
}

// ---- redis-cli output --------------------------------------------------------

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// HGETALL / ZRANGE WITHSCORES output as a map.
std::map<std::string, std::string> pairs(const std::string& text) {
  std::map<std::string, std::string> out;
  const std::vector<std::string> l = lines(text);
  for (std::size_t i = 0; i + 1 < l.size(); i += 2) out[l[i]] = l[i + 1];
  return out;
}

// Every key with its DUMP and absolute expiry, sorted: equal snapshots mean Redis
// is byte-for-byte unchanged.
std::string snapshot(const RedisServer& r) {
  return r.cli({"EVAL",
                "local ks = redis.call('KEYS', '*') table.sort(ks) local out = {} "
                "for _, k in ipairs(ks) do out[#out + 1] = k out[#out + 1] = redis.call('DUMP', k) "
                "out[#out + 1] = redis.call('PEXPIRETIME', k) end return out",
                "0"});
}

long number(const std::string& cli_output) { return std::stol(cli_output); }

// ---- the fixture ---------------------------------------------------------------

class RedisBackendTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(redis_.start()) << redis_.error(); }

  std::unique_ptr<RedisBackend> backend(RedisOptions o = {}) {
    if (o.url.empty() && o.unix_socket.empty()) o.url = redis_.url();
    auto b = RedisBackend::create(std::move(o));
    EXPECT_TRUE(b.ok()) << b.status().to_string();
    return b.ok() ? std::move(b).value() : nullptr;
  }
  std::unique_ptr<RedisBackend> counting() { return backend({.count_applies = true}); }

  std::string cli(const std::vector<std::string>& args) { return redis_.cli(args); }

  RedisServer redis_;
};

// ---- create(): urls and options ----------------------------------------------------

TEST(RedisBackendCreateTest, MalformedUrlsAreInvalidArgumentNamingTheProblem) {
  struct Case {
    std::string url, expect;
  };
  const Case cases[] = {
      {"127.0.0.1:6379", "no scheme"},
      {"http://127.0.0.1:6379", "scheme 'http'"},
      {"rediss://127.0.0.1:6379", "TLS"},
      {"redis://", "host is empty"},
      {"redis://:6379", "host is empty"},
      {"redis://127.0.0.1:", "port after ':' is empty"},
      {"redis://127.0.0.1:abc", "port 'abc'"},
      {"redis://127.0.0.1:0", "port '0'"},
      {"redis://127.0.0.1:65536", "port '65536'"},
      {"redis://127.0.0.1:-1", "port '-1'"},
      {"redis://127.0.0.1:6379x", "port '6379x'"},
      {"redis://127.0.0.1:6379/abc", "db 'abc'"},
      {"redis://127.0.0.1:6379/-1", "db '-1'"},
      {"redis://127.0.0.1:6379/1/2", "db '1/2'"},
      {"redis://127.0.0.1:6379/0?timeout=1", "db '0?timeout=1'"},
      {"redis://ho st:6379", "holds a character"},
      {"redis://[::1:6379", "IPv6"},
      {"redis://alice:hunter22@127.0.0.1:6379", "user name"},
      {"redis://hunter22@127.0.0.1:6379", "no ':password'"},
      {"redis://:@127.0.0.1:6379", "password after ':' is empty"},
      {"redis://:hunter%2@127.0.0.1:6379", "%-escape"},
      {"redis://:hunter%zz@127.0.0.1:6379", "%-escape"},
      {"unix://", "absolute socket path"},
      {"unix://relative.sock", "absolute socket path"},
      {"unix:///tmp/r.sock?db=x", "db 'x'"},
      {"unix:///tmp/r.sock?timeout=1", "only the query ?db=N"},
  };
  for (const Case& c : cases) {
    auto r = RedisBackend::create({.url = c.url});
    ASSERT_FALSE(r.ok()) << c.url;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.url;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos)
        << c.url << " -> " << r.status().message();
    EXPECT_EQ(r.status().message().find("hunter"), std::string::npos) << r.status().message();
  }
}

TEST(RedisBackendCreateTest, WellFormedUrlsAreAccepted) {
  for (const char* url : {"redis://127.0.0.1:6379", "redis://localhost", "redis://127.0.0.1:6379/",
                          "redis://127.0.0.1:6379/15", "redis://:p%40ss@127.0.0.1:1/2",
                          "redis://:p@ss/w@127.0.0.1:1", "redis://default:pw@127.0.0.1:1",
                          "redis://[::1]:6379/3", "unix:///tmp/r.sock", "unix:///tmp/r.sock?db=3",
                          "unix://:pw@/tmp/r.sock"}) {
    auto r = RedisBackend::create({.url = url});
    EXPECT_TRUE(r.ok()) << url << ": " << r.status().to_string();
  }
}

TEST(RedisBackendCreateTest, OptionsOutOfRangeAreInvalidArgument) {
  const RedisOptions bad[] = {
      {.max_connections = 0},
      {.max_connections = 257},
      {.connect_timeout = 0ms},
      {.command_timeout = -1ms},
      {.version_ttl = -1s},
      {.db = -1},
      {.port = 0},
      {.port = 70000},
      {.host = ""},
  };
  for (const RedisOptions& o : bad) {
    auto r = RedisBackend::create(o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().to_string();
  }
  EXPECT_TRUE(RedisBackend::create({.max_connections = 256}).ok());
  EXPECT_TRUE(RedisBackend::create({.max_connections = 1}).ok());
}

TEST(RedisBackendCreateTest, CreateDoesNotConnectAndUnreachableIsUnhealthy) {
  // Nothing listens on port 1 of loopback.
  auto b = RedisBackend::create({.url = "redis://127.0.0.1:1", .connect_timeout = 200ms});
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  Status h = (*b)->health_check();
  EXPECT_EQ(h.code(), StatusCode::kUnavailable) << h.to_string();
  EXPECT_NE(h.message().find("redis 127.0.0.1:1"), std::string::npos) << h.message();
  EXPECT_NE(h.message().find("cannot connect"), std::string::npos) << h.message();
  EXPECT_EQ((*b)->apply(batch({store(1, "k", {{"a", 1}})}, 1)).code(), StatusCode::kUnavailable);
  EXPECT_EQ((*b)->watermark().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ((*b)->load_data("k").status().code(), StatusCode::kUnavailable);
}

// ---- documents -------------------------------------------------------------------

TEST_F(RedisBackendTest, DocumentRoundTripsThroughRedisCliAndLoadData) {
  auto b = backend();
  const Json doc = {{"name", "Ada"}, {"age", 36}, {"tags", {"x", "y"}}, {"nested", {{"k", nullptr}}},
                    {"_id", "u1"}, {"__x", true}};
  ASSERT_TRUE(b->apply(batch({store(7, "user:1", doc)}, 7)).ok());

  const auto h = pairs(cli({"HGETALL", "omni:user:1"}));
  EXPECT_EQ(h.at("_seq"), "7");
  EXPECT_EQ(h.at("name"), "\"Ada\"");
  EXPECT_EQ(h.at("age"), "36");
  EXPECT_EQ(h.at("tags"), "[\"x\",\"y\"]");
  EXPECT_EQ(h.at("nested"), "{\"k\":null}");
  EXPECT_EQ(h.at("__id"), "\"u1\"");  // escaped: cannot collide with _seq/_deleted
  EXPECT_EQ(h.at("___x"), "true");
  EXPECT_EQ(h.size(), 7u);

  auto loaded = b->load_data("user:1");
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ(**loaded, doc);

  auto missing = b->load_data("user:2");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_F(RedisBackendTest, DocumentTextOfEveryShapeRoundTrips) {
  auto b = backend();
  // Compact text goes field by field as it is; anything else is parsed first.
  const std::vector<std::string> texts = {
      R"({})",
      R"({"a":1,"b":-0.5e+3,"c":0,"d":true,"e":false,"f":null,"g":"x"})",
      R"({"esc\"aped\\":"v\"\\\/\b\f\n\r\t\u00e9\u0000","uni\u00e9":"\u20ac"})",
      "{\"raw\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}",
      R"({"nested":{"a":[1,{"b":"]}"}],"c":{}},"arr":[[],[[]]]})",
      R"({ "spaced" : [1, 2], "x" : {"y" : "z"} })",
      R"({"dup":1,"dup":2})",
  };
  Seq seq = 0;
  for (const std::string& text : texts) {
    ++seq;
    Change c = store(seq, "doc" + std::to_string(seq), {});
    c.json = text;
    ASSERT_TRUE(b->apply(batch({c}, seq)).ok()) << text;
    auto loaded = b->load_data(c.key);
    ASSERT_TRUE(loaded.ok() && loaded->has_value()) << text;
    EXPECT_EQ(**loaded, Json::parse(text)) << text;
  }
  EXPECT_EQ(cli({"HGET", "omni:doc2", "b"}), "-0.5e+3\n");  // the text as the log had it
  EXPECT_EQ(cli({"HGET", "omni:doc6", "spaced"}), "[1,2]\n");  // parsed, then compact
  for (const std::string& bad : {std::string(R"({"a":tru})"), std::string(R"({"a":01})"),
                                 std::string(R"({"a":[1,,2]})"), std::string(R"({"a":1,})"),
                                 std::string("{\"a\":\"\x01\"}"), std::string(R"({"a":1}x)"),
                                 std::string("{\"a\":\"\xff\"}"), std::string(R"({"a":"\q"})"),
                                 std::string(R"([1])"), std::string(R"("s")")}) {
    Change c = store(++seq, "bad", {});
    c.json = bad;
    Status st = b->apply(batch({c}, seq));
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad << ": " << st.to_string();
  }
  EXPECT_EQ(cli({"EXISTS", "omni:bad"}), "0\n");
}

TEST_F(RedisBackendTest, StoreReplacesTheWholeDocument) {
  auto b = backend();
  ASSERT_TRUE(b->store_data("k", {{"a", 1}, {"b", 2}}, 1).ok());
  ASSERT_TRUE(b->store_data("k", {{"c", 3}}, 2).ok());
  EXPECT_EQ(pairs(cli({"HGETALL", "omni:k"})), (std::map<std::string, std::string>{{"_seq", "2"}, {"c", "3"}}));
  EXPECT_EQ(**b->load_data("k"), (Json{{"c", 3}}));
  ASSERT_TRUE(b->store_data("empty", Json::object(), 3).ok());
  EXPECT_EQ(**b->load_data("empty"), Json::object());
}

TEST_F(RedisBackendTest, OlderOrEqualSeqIsRefused) {
  auto b = counting();
  ASSERT_TRUE(b->store_data("k", {{"v", "new"}}, 10).ok());
  ASSERT_TRUE(b->store_data("k", {{"v", "old"}}, 9).ok());   // refused, not an error
  ASSERT_TRUE(b->store_data("k", {{"v", "same"}}, 10).ok());  // refused
  EXPECT_EQ(**b->load_data("k"), (Json{{"v", "new"}}));
  EXPECT_EQ(cli({"HGET", "omni:applies", "k"}), "1\n");
  // In one batch too: the newest of the batch wins whatever the order.
  ASSERT_TRUE(b->apply(batch({store(12, "j", {{"v", 12}}), store(11, "j", {{"v", 11}})}, 12)).ok());
  EXPECT_EQ(**b->load_data("j"), (Json{{"v", 12}}));
}

TEST_F(RedisBackendTest, DeleteLeavesATombstoneThatRefusesOlderStores) {
  auto b = backend();
  ASSERT_TRUE(b->store_data("k", {{"a", 1}}, 5).ok());
  ASSERT_TRUE(b->delete_data("k", 6).ok());
  EXPECT_EQ(pairs(cli({"HGETALL", "omni:k"})),
            (std::map<std::string, std::string>{{"_seq", "6"}, {"_deleted", "1"}}));
  auto gone = b->load_data("k");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  ASSERT_TRUE(b->store_data("k", {{"a", "replayed"}}, 5).ok());
  EXPECT_FALSE(b->load_data("k")->has_value());
  ASSERT_TRUE(b->store_data("k", {{"a", "again"}}, 7).ok());
  EXPECT_EQ(**b->load_data("k"), (Json{{"a", "again"}}));
  EXPECT_EQ(cli({"HEXISTS", "omni:k", "_deleted"}), "0\n");
}

TEST_F(RedisBackendTest, DocumentKeysThatLookLikeLayoutNamesAreEscaped) {
  auto b = backend();
  ASSERT_TRUE(b->apply(batch({store(1, "sink:applied", {{"a", 1}}), store(2, "rel:4:user:owns", {{"b", 2}}),
                              store(3, "_private", {{"c", 3}}), store(4, "applies", {{"d", 4}})},
                             4))
                  .ok());
  EXPECT_EQ(cli({"GET", "omni:sink:applied"}), "4\n");  // the watermark, not clobbered
  EXPECT_EQ(cli({"HGET", "omni:_sink:applied", "a"}), "1\n");
  EXPECT_EQ(cli({"HGET", "omni:_rel:4:user:owns", "b"}), "2\n");
  EXPECT_EQ(cli({"HGET", "omni:__private", "c"}), "3\n");
  EXPECT_EQ(cli({"HGET", "omni:_applies", "d"}), "4\n");
  EXPECT_EQ(**b->load_data("sink:applied"), (Json{{"a", 1}}));
  EXPECT_EQ(**b->load_data("_private"), (Json{{"c", 3}}));
  EXPECT_EQ(**b->watermark(), 4u);
}

TEST_F(RedisBackendTest, KeyPrefixIsUsedForEveryName) {
  auto b = backend({.key_prefix = "app1/", .count_applies = true});
  ASSERT_TRUE(b->apply(batch({store(1, "k", {{"a", 1}}), relate(2, "s", "p", "o")}, 2)).ok());
  EXPECT_EQ(lines(cli({"--scan", "--pattern", "*"})).size(), 5u);
  EXPECT_EQ(lines(cli({"--scan", "--pattern", "app1/*"})).size(), 5u);  // k, rel, rrev, watermark, applies
  EXPECT_EQ(cli({"GET", "app1/sink:applied"}), "2\n");
}

// ---- relationships, versions, policy decisions ---------------------------------------

TEST_F(RedisBackendTest, RelationshipsAreForwardAndReverseSortedSets) {
  auto b = counting();
  ASSERT_TRUE(b->apply(batch({relate(3, "user:1", "owns", "doc:9"), relate(4, "user:1", "owns", "doc:10"),
                              relate(5, "user:12", "owns", "doc:9")},
                             5))
                  .ok());
  // Length prefixes: "user:1" and "user:12" cannot be confused, although both hold ':'.
  EXPECT_EQ(pairs(cli({"ZRANGE", "omni:rel:6:user:1:owns", "0", "-1", "WITHSCORES"})),
            (std::map<std::string, std::string>{{"doc:9", "3"}, {"doc:10", "4"}}));
  EXPECT_EQ(pairs(cli({"ZRANGE", "omni:rel:7:user:12:owns", "0", "-1", "WITHSCORES"})),
            (std::map<std::string, std::string>{{"doc:9", "5"}}));
  EXPECT_EQ(pairs(cli({"ZRANGE", "omni:rrev:5:doc:9:owns", "0", "-1", "WITHSCORES"})),
            (std::map<std::string, std::string>{{"user:1", "3"}, {"user:12", "5"}}));

  ASSERT_TRUE(b->apply(batch({relate(6, "user:1", "owns", "doc:9", false)}, 6)).ok());
  EXPECT_EQ(lines(cli({"ZRANGE", "omni:rel:6:user:1:owns", "0", "-1"})), (std::vector<std::string>{"doc:10"}));
  EXPECT_EQ(lines(cli({"ZRANGE", "omni:rrev:5:doc:9:owns", "0", "-1"})), (std::vector<std::string>{"user:12"}));
  // Within a reseed (unordered), an add older than the member's score is refused.
  ASSERT_TRUE(b->apply(batch({relate(2, "user:1", "owns", "doc:10")}, 6, /*reseed=*/true)).ok());
  EXPECT_EQ(cli({"ZSCORE", "omni:rel:6:user:1:owns", "doc:10"}), "4\n");
  EXPECT_EQ(cli({"HGET", "omni:applies", "user:1"}), "3\n");  // 2 adds + 1 removal
}

TEST_F(RedisBackendTest, VersionsExpireAfterVersionTtlAndPruningRemovesThem) {
  auto b = backend({.version_ttl = 100s});
  const auto hour_ago = std::chrono::system_clock::now() - 1h;
  ASSERT_TRUE(b->apply(batch({version(3, "user:1", "v1", {{"n", 1}}), version(4, "user:1", "v:2", {{"n", 2}}),
                              version(5, "user:1", "old", {{"n", 0}}, hour_ago)},
                             5))
                  .ok());
  EXPECT_EQ(pairs(cli({"ZRANGE", "omni:ver:user:1", "0", "-1", "WITHSCORES"})),
            (std::map<std::string, std::string>{{"v1", "3"}, {"v:2", "4"}, {"old", "5"}}));
  EXPECT_EQ(cli({"GET", "omni:verdoc:6:user:1:v1"}), "{\"n\":1}\n");
  EXPECT_EQ(cli({"GET", "omni:verdoc:6:user:1:v:2"}), "{\"n\":2}\n");
  const long ttl = number(cli({"TTL", "omni:verdoc:6:user:1:v1"}));
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 100);
  // Expired already (stored an hour ago, 100 s to live): the label stays, the value does not.
  EXPECT_EQ(cli({"EXISTS", "omni:verdoc:6:user:1:old"}), "0\n");

  ASSERT_TRUE(b->apply(batch({pruned(6, "user:1", {"v1", "old", "never-stored"})}, 6)).ok());
  EXPECT_EQ(lines(cli({"ZRANGE", "omni:ver:user:1", "0", "-1"})), (std::vector<std::string>{"v:2"}));
  EXPECT_EQ(cli({"EXISTS", "omni:verdoc:6:user:1:v1"}), "0\n");
  EXPECT_EQ(cli({"EXISTS", "omni:verdoc:6:user:1:v:2"}), "1\n");
}

TEST_F(RedisBackendTest, VersionsWithoutVersionTtlNeverExpire) {
  auto b = backend();
  ASSERT_TRUE(b->apply(batch({version(3, "k", "v1", {{"n", 1}})}, 3)).ok());
  EXPECT_EQ(cli({"TTL", "omni:verdoc:1:k:v1"}), "-1\n");
}

TEST_F(RedisBackendTest, PolicyDecisionsExpireWithTheirTtl) {
  auto b = backend();
  const auto now = std::chrono::system_clock::now();
  ASSERT_TRUE(b->apply(batch({decided(3, "user:1", "read", "doc:9", true, 100s),
                              decided(4, "user:1", "write", "doc:9", false, 100s),
                              decided(5, "user:2", "read", "doc:9", true, 10s, {}, now - 1h)},
                             5))
                  .ok());
  EXPECT_EQ(cli({"GET", "omni:policy:6:user:1:4:read:doc:9"}), "1\n");
  EXPECT_EQ(cli({"GET", "omni:policy:6:user:1:5:write:doc:9"}), "0\n");
  const long pttl = number(cli({"PTTL", "omni:policy:6:user:1:4:read:doc:9"}));
  EXPECT_GT(pttl, 0);
  EXPECT_LE(pttl, 100000);
  EXPECT_EQ(cli({"EXISTS", "omni:policy:6:user:2:4:read:doc:9"}), "0\n");  // expired before it arrived

  // A newer decision that has expired already still replaces the older one.
  ASSERT_TRUE(b->apply(batch({decided(6, "user:1", "write", "doc:9", true, 1s, {}, now - 1h)}, 6)).ok());
  EXPECT_EQ(cli({"EXISTS", "omni:policy:6:user:1:5:write:doc:9"}), "0\n");
}

TEST_F(RedisBackendTest, ChangesNamingADecisionDropItAsTheStoreDoes) {
  auto b = backend();
  ASSERT_TRUE(b->apply(batch({decided(1, "alice", "read", "doc:1", true, 100s, {"team:x"}),
                              decided(2, "bob", "read", "doc:2", true, 100s),
                              decided(3, "carol", "read", "doc:3", true, 100s)},
                             3))
                  .ok());
  EXPECT_EQ(lines(cli({"SMEMBERS", "omni:policyby:team:x"})),
            (std::vector<std::string>{"omni:policy:5:alice:4:read:doc:1"}));
  EXPECT_GT(number(cli({"PTTL", "omni:policyby:team:x"})), 0);
  // A delete of a depends_on key, a relationship naming the principal, a delete of
  // the resource: each drops its decision, and only it.
  ASSERT_TRUE(b->apply(batch({del(4, "team:x")}, 4)).ok());
  EXPECT_EQ(cli({"EXISTS", "omni:policy:5:alice:4:read:doc:1"}), "0\n");
  EXPECT_EQ(cli({"EXISTS", "omni:policy:3:bob:4:read:doc:2"}), "1\n");
  ASSERT_TRUE(b->apply(batch({relate(5, "bob", "member", "team:y")}, 5)).ok());
  EXPECT_EQ(cli({"EXISTS", "omni:policy:3:bob:4:read:doc:2"}), "0\n");
  EXPECT_EQ(cli({"EXISTS", "omni:policy:5:carol:4:read:doc:3"}), "1\n");
  ASSERT_TRUE(b->delete_data("doc:3", 6).ok());
  EXPECT_EQ(cli({"EXISTS", "omni:policy:5:carol:4:read:doc:3"}), "0\n");
}

// ---- idempotence and the watermark -------------------------------------------------

std::vector<Change> every_kind() {
  return {store(1, "user:1", {{"name", "Ada"}, {"_id", 1}}),
          store(2, "user:2", {{"name", "Bob"}}),
          relate(3, "user:1", "follows", "user:2"),
          relate(4, "user:2", "follows", "user:1"),
          version(5, "user:1", "v1", {{"name", "Ada"}}),
          version(6, "user:1", "v2", {{"name", "Ada L."}}),
          decided(7, "user:1", "read", "user:2", true, 1h, {"team:a"}),
          store(8, "user:1", {{"name", "Ada L."}}),
          relate(9, "user:2", "follows", "user:1", false),
          pruned(10, "user:1", {"v1"}),
          del(11, "user:2"),
          decided(12, "user:3", "read", "user:1", false, 1h)};
}

TEST_F(RedisBackendTest, ReplayingABatchLeavesRedisByteForByteUnchanged) {
  auto b = backend({.version_ttl = 1h, .count_applies = true});
  const ChangeBatch all = batch(every_kind(), 12);
  ASSERT_TRUE(b->apply(all).ok());
  const std::string before = snapshot(redis_);
  ASSERT_GT(before.size(), 500u);
  ASSERT_TRUE(b->apply(all).ok());
  EXPECT_EQ(snapshot(redis_), before);
  // Nothing was applied twice: every change counted once against its key.
  EXPECT_EQ(pairs(cli({"HGETALL", "omni:applies"})),
            (std::map<std::string, std::string>{{"user:1", "7"}, {"user:2", "5"}}));
  // And the batch split in two, replayed: still nothing.
  std::vector<Change> first(all.changes.begin(), all.changes.begin() + 6);
  std::vector<Change> second(all.changes.begin() + 6, all.changes.end());
  ASSERT_TRUE(b->apply(batch(first, 6)).ok());
  ASSERT_TRUE(b->apply(batch(second, 12)).ok());
  EXPECT_EQ(snapshot(redis_), before);
}

TEST_F(RedisBackendTest, ReseedAppliesUnorderedItemsAndReplaysIdentically) {
  auto b = backend({.version_ttl = 1h, .count_applies = true});
  ASSERT_TRUE(b->apply(batch({store(50, "a", {{"x", 1}})}, 60)).ok());  // watermark 60
  // A reseed carries each item with its own (unordered, possibly lower) seq.
  const ChangeBatch reseed = batch({store(9, "b", {{"y", 2}}), relate(3, "a", "p", "b"),
                                    version(7, "a", "v1", {{"x", 0}}), store(40, "a", {{"x", "older"}}),
                                    decided(5, "u", "read", "a", true, 1h)},
                                   45, /*reseed=*/true);
  ASSERT_TRUE(b->apply(reseed).ok());
  EXPECT_EQ(**b->watermark(), 45u);  // a reseed sets it to through
  EXPECT_EQ(**b->load_data("b"), (Json{{"y", 2}}));
  EXPECT_EQ(**b->load_data("a"), (Json{{"x", 1}}));  // seq 50 beats the reseed's 40
  EXPECT_EQ(cli({"ZSCORE", "omni:rel:1:a:p", "b"}), "3\n");
  EXPECT_EQ(cli({"GET", "omni:policy:1:u:4:read:a"}), "1\n");
  const std::string before = snapshot(redis_);
  ASSERT_TRUE(b->apply(reseed).ok());
  EXPECT_EQ(snapshot(redis_), before);
}

TEST_F(RedisBackendTest, WatermarkIsSetWithTheBatchAndAbsentAfterFlushall) {
  auto b = backend();
  EXPECT_TRUE(b->keeps_watermark());
  auto none = b->watermark();
  ASSERT_TRUE(none.ok()) << none.status().to_string();
  EXPECT_FALSE(none->has_value());

  // through covers events that are not in the batch.
  ASSERT_TRUE(b->apply(batch({store(3, "k", {{"a", 1}})}, 10)).ok());
  EXPECT_EQ(**b->watermark(), 10u);
  EXPECT_EQ(cli({"GET", "omni:sink:applied"}), "10\n");
  ASSERT_TRUE(b->apply(batch({}, 12)).ok());  // a batch of nothing moves it too
  EXPECT_EQ(**b->watermark(), 12u);
  // A change at or below the watermark is skipped even if the key would take it.
  ASSERT_TRUE(b->apply(batch({store(11, "fresh", {{"a", 1}})}, 12)).ok());
  EXPECT_FALSE(b->load_data("fresh")->has_value());
  // An old batch does not move it back.
  ASSERT_TRUE(b->apply(batch({store(3, "k", {{"a", 1}})}, 5)).ok());
  EXPECT_EQ(**b->watermark(), 12u);
  // store_data / delete_data neither check nor move it.
  ASSERT_TRUE(b->store_data("direct", {{"a", 1}}, 2).ok());
  ASSERT_TRUE(b->delete_data("k", 20).ok());
  EXPECT_EQ(**b->watermark(), 12u);
  EXPECT_TRUE(b->load_data("direct")->has_value());

  ASSERT_TRUE(redis_.flushall());
  auto wiped = b->watermark();
  ASSERT_TRUE(wiped.ok());
  EXPECT_FALSE(wiped->has_value());
}

TEST_F(RedisBackendTest, AWatermarkOtherThanExpectedIsNotFoundAndWritesNothing) {
  auto b = backend();
  ChangeBatch first = batch({store(1, "a", {{"v", 1}})}, 5);
  first.expected_watermark = std::optional<Seq>();  // none yet
  ASSERT_TRUE(b->apply(first).ok());
  ChangeBatch next = batch({store(6, "b", {{"v", 6}})}, 6);
  next.expected_watermark = std::optional<Seq>(4);
  const std::string before = snapshot(redis_);
  Status s = b->apply(next);
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.to_string();
  EXPECT_NE(s.message().find("the watermark is 5, not 4"), std::string::npos) << s.message();
  EXPECT_EQ(snapshot(redis_), before);
  next.expected_watermark = std::optional<Seq>(5);
  ASSERT_TRUE(b->apply(next).ok());
  EXPECT_EQ(**b->watermark(), 6u);
  // Wiped between two batches: noticed by the next one, which writes nothing.
  ASSERT_TRUE(redis_.flushall());
  ChangeBatch after_wipe = batch({store(7, "c", {{"v", 7}})}, 7);
  after_wipe.expected_watermark = std::optional<Seq>(6);
  s = b->apply(after_wipe);
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.to_string();
  EXPECT_NE(s.message().find("the watermark is absent, not 6"), std::string::npos) << s.message();
  EXPECT_EQ(cli({"DBSIZE"}), "0\n");
  // Split into several script calls, each expects what the one before left.
  std::vector<Change> many;
  for (Seq q = 1; q <= 2500; ++q) many.push_back(store(q, "k" + std::to_string(q), {{"q", q}}));
  ChangeBatch big = batch(many, 2500);
  big.expected_watermark = std::optional<Seq>();
  ASSERT_TRUE(b->apply(big).ok());
  EXPECT_EQ(**b->watermark(), 2500u);
}

TEST_F(RedisBackendTest, ThroughZeroMovesNoWatermark) {
  auto b = counting();
  ASSERT_TRUE(b->apply(batch({store(5, "a", {{"v", 5}})}, 10)).ok());
  // A re-seed's first parts and a retried dead letter: out of order, per item only.
  ASSERT_TRUE(b->apply(batch({store(3, "dead", {{"v", 3}}), store(4, "a", {{"v", 4}})}, 0, true)).ok());
  EXPECT_EQ(**b->watermark(), 10u);
  EXPECT_EQ(**b->load_data("dead"), (Json{{"v", 3}}));  // below the watermark, applied anyway
  EXPECT_EQ(**b->load_data("a"), (Json{{"v", 5}}));     // older than the item: refused
  // A re-seed of an empty target: no watermark until its closing mark.
  ASSERT_TRUE(redis_.flushall());
  ChangeBatch part = batch({store(9, "x", {{"v", 9}})}, 0, true);
  part.expected_watermark = std::optional<Seq>();
  ASSERT_TRUE(b->apply(part).ok());
  EXPECT_FALSE(b->watermark()->has_value());
  ChangeBatch mark = batch({}, 12);
  mark.expected_watermark = std::optional<Seq>();
  ASSERT_TRUE(b->apply(mark).ok());
  EXPECT_EQ(**b->watermark(), 12u);
}

TEST_F(RedisBackendTest, ARefusedBatchWritesNothingAndLeavesTheWatermark) {
  auto b = counting();
  ASSERT_TRUE(b->apply(batch({store(1, "a", {{"v", 1}})}, 1)).ok());
  ASSERT_EQ(cli({"SET", "omni:bad", "not a hash"}), "OK\n");  // someone else's key in the way
  const std::string before = snapshot(redis_);

  Status s = b->apply(batch({store(2, "a", {{"v", 2}}), relate(3, "a", "p", "b"), store(4, "bad", {{"v", 4}}),
                             store(5, "c", {{"v", 5}})},
                            5));
  EXPECT_EQ(s.code(), StatusCode::kBackend) << s.to_string();
  EXPECT_NE(s.message().find("change seq 4 (store of 'bad')"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("WRONGTYPE"), std::string::npos) << s.message();
  EXPECT_EQ(snapshot(redis_), before);  // atomic: not even seq 2
  EXPECT_EQ(**b->watermark(), 1u);

  // As the sink worker then does: change by change. Only the bad one fails.
  for (const Change& c : {store(2, "a", {{"v", 2}}), relate(3, "a", "p", "b"), store(5, "c", {{"v", 5}})}) {
    EXPECT_TRUE(b->apply(batch({c}, c.seq)).ok()) << c.seq;
  }
  Status alone = b->apply(batch({store(4, "bad", {{"v", 4}})}, 4));
  EXPECT_EQ(alone.code(), StatusCode::kBackend) << alone.to_string();
  EXPECT_EQ(**b->load_data("a"), (Json{{"v", 2}}));
  EXPECT_EQ(**b->load_data("c"), (Json{{"v", 5}}));
  EXPECT_EQ(cli({"GET", "omni:bad"}), "not a hash\n");
  // A wrong type in a sorted set's place is refused the same way.
  ASSERT_EQ(cli({"SET", "omni:rel:1:x:p", "junk"}), "OK\n");
  EXPECT_EQ(b->apply(batch({relate(6, "x", "p", "y")}, 6)).code(), StatusCode::kBackend);
}

TEST_F(RedisBackendTest, ChangesThatCannotBeEncodedAreInvalidArgument) {
  auto b = backend();
  Change not_object = store(1, "k", Json::array({1, 2}));
  EXPECT_EQ(b->apply(batch({not_object}, 1)).code(), StatusCode::kInvalidArgument);
  Change bad_json = store(1, "k", {});
  bad_json.json = "{not json";
  EXPECT_EQ(b->apply(batch({bad_json}, 1)).code(), StatusCode::kInvalidArgument);
  const Seq too_big = Seq{1} << 53;
  Status s = b->apply(batch({store(too_big, "k", {{"a", 1}})}, too_big));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
  EXPECT_EQ(b->apply(batch({}, too_big)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b->store_data("k", {{"a", 1}}, too_big).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(b->store_data("k", {{"a", 1}}, too_big - 1).ok());
  EXPECT_EQ(cli({"HGET", "omni:k", "_seq"}), "9007199254740991\n");
  EXPECT_FALSE(b->watermark()->has_value());
}

TEST_F(RedisBackendTest, LargeBatchesAndDocumentsAreSplitBelowLuaLimits) {
  auto b = counting();
  std::vector<Change> changes;
  for (Seq s = 1; s <= 2500; ++s) changes.push_back(store(s, "k" + std::to_string(s % 1000), {{"s", s}}));
  Json wide = Json::object();
  for (int i = 0; i < 6000; ++i) wide["f" + std::to_string(i)] = i;  // 12,000 arguments > unpack()'s limit
  changes.push_back(store(2501, "wide", wide));
  ASSERT_TRUE(b->apply(batch(changes, 2600)).ok());
  EXPECT_EQ(**b->watermark(), 2600u);
  EXPECT_EQ(**b->load_data("k7"), (Json{{"s", 2007}}));
  EXPECT_EQ(**b->load_data("wide"), wide);
  EXPECT_EQ(cli({"HGET", "omni:applies", "k7"}), "3\n");
  const std::string before = snapshot(redis_);
  ASSERT_TRUE(b->apply(batch(changes, 2600)).ok());
  EXPECT_EQ(snapshot(redis_), before);
}

TEST_F(RedisBackendTest, BinaryKeysAndValuesRoundTrip) {
  auto b = backend();
  const std::string key = std::string("bin") + '\0' + "key" + '\xff' + ":1";
  const std::string subject = std::string("s") + '\0' + '\xff';
  const std::string object = std::string("o") + '\xff' + '\0';
  const Json doc = {{std::string("f") + '\0' + "x", std::string("v") + '\0' + "w"}, {"plain", "\xc3\xa9"}};
  ASSERT_TRUE(b->apply(batch({store(1, key, doc), relate(2, subject, "p", object),
                              version(3, key, "l", {{"a", 1}})},
                             3))
                  .ok());
  auto loaded = b->load_data(key);
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ(**loaded, doc);
  EXPECT_FALSE(b->load_data(std::string("bin") + '\0' + "key")->has_value());  // NUL ends nothing
  const std::string keys = cli({"--no-raw", "KEYS", "*"});
  EXPECT_NE(keys.find(R"("omni:bin\x00key\xff:1")"), std::string::npos) << keys;
  EXPECT_NE(keys.find(R"("omni:rel:3:s\x00\xff:p")"), std::string::npos) << keys;
  EXPECT_NE(keys.find(R"("omni:rrev:3:o\xff\x00:p")"), std::string::npos) << keys;
  EXPECT_NE(keys.find(R"("omni:verdoc:10:bin\x00key\xff:1:l")"), std::string::npos) << keys;
  // The members too (Lua's "\0\255" spells the bytes redis-cli's argv cannot).
  EXPECT_EQ(cli({"--no-raw", "EVAL", R"(return redis.call('ZRANGE', 'omni:rel:3:s\0\255:p', 0, -1))", "0"}),
            "1) \"o\\xff\\x00\"\n");
  EXPECT_EQ(cli({"EVAL", R"(return redis.call('HGET', 'omni:bin\0key\255:1', 'f\0x'))", "0"}),
            "\"v\\u0000w\"\n");
}

TEST_F(RedisBackendTest, NoscriptAfterScriptFlushIsReloaded) {
  auto b = backend({.max_connections = 1});
  ASSERT_TRUE(b->apply(batch({store(1, "k", {{"a", 1}})}, 1)).ok());
  ASSERT_EQ(cli({"SCRIPT", "FLUSH"}), "OK\n");
  ASSERT_TRUE(b->apply(batch({store(2, "k", {{"a", 2}})}, 2)).ok());  // same connection: NOSCRIPT, reload
  EXPECT_EQ(**b->load_data("k"), (Json{{"a", 2}}));
  ASSERT_TRUE(b->store_data("k", {{"a", 3}}, 3).ok());
}

// ---- connections: url, unix socket, password, broken servers ----------------------

TEST(RedisBackendAuthTest, UrlWithPasswordAndDbSelectsThatDb) {
  RedisServer redis({.password = "s3cret-pw"});
  ASSERT_TRUE(redis.start()) << redis.error();
  auto b = RedisBackend::create(
      {.url = "redis://:s3cret-pw@127.0.0.1:" + std::to_string(redis.port()) + "/3"});
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  ASSERT_TRUE((*b)->health_check().ok()) << (*b)->health_check().to_string();
  ASSERT_TRUE((*b)->apply(batch({store(1, "k", {{"a", 1}})}, 1)).ok());
  EXPECT_EQ(redis.cli({"-n", "3", "HGET", "omni:k", "a"}), "1\n");
  EXPECT_EQ(redis.cli({"-n", "0", "EXISTS", "omni:k"}), "0\n");
  EXPECT_EQ(redis.cli({"-n", "3", "GET", "omni:sink:applied"}), "1\n");
}

TEST(RedisBackendAuthTest, WrongPasswordIsUnavailableWithoutThePasswordThenRecovers) {
  RedisServer redis({.password = "right-password"});
  ASSERT_TRUE(redis.start()) << redis.error();
  auto b = RedisBackend::create({.port = redis.port(), .password = "wrong-password"});
  ASSERT_TRUE(b.ok());
  for (int i = 0; i < 2; ++i) {  // the failed context is not kept: each try authenticates anew
    Status h = (*b)->health_check();
    EXPECT_EQ(h.code(), StatusCode::kUnavailable) << h.to_string();
    EXPECT_NE(h.message().find("redis 127.0.0.1:" + std::to_string(redis.port()) + ": authentication failed"),
              std::string::npos)
        << h.message();
    EXPECT_EQ(h.message().find("wrong-password"), std::string::npos) << h.message();
    EXPECT_EQ(h.message().find("right-password"), std::string::npos) << h.message();
  }
  Status a = (*b)->apply(batch({store(1, "k", {{"a", 1}})}, 1));
  EXPECT_EQ(a.code(), StatusCode::kUnavailable) << a.to_string();
  EXPECT_EQ(a.message().find("wrong-password"), std::string::npos);

  // No password at all against a server that wants one: NOAUTH.
  auto none = RedisBackend::create({.port = redis.port()});
  Status n = (*none)->health_check();
  EXPECT_EQ(n.code(), StatusCode::kUnavailable);
  EXPECT_NE(n.message().find("NOAUTH"), std::string::npos) << n.message();

  // Fixed on the server's side: the same backend becomes healthy.
  ASSERT_EQ(redis.cli({"CONFIG", "SET", "requirepass", "wrong-password"}), "OK\n");
  redis.set_password("wrong-password");
  EXPECT_TRUE((*b)->health_check().ok());
  EXPECT_TRUE((*b)->apply(batch({store(1, "k", {{"a", 1}})}, 1)).ok());
  EXPECT_EQ(redis.cli({"HGET", "omni:k", "a"}), "1\n");
}

TEST(RedisBackendAuthTest, PasswordAgainstAServerWithoutOneIsUnavailable) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  auto b = RedisBackend::create({.port = redis.port(), .password = "needless-pw"});
  Status h = (*b)->health_check();
  EXPECT_EQ(h.code(), StatusCode::kUnavailable) << h.to_string();
  EXPECT_NE(h.message().find("authentication failed"), std::string::npos) << h.message();
  EXPECT_EQ(h.message().find("needless-pw"), std::string::npos) << h.message();
}

TEST_F(RedisBackendTest, UnixSocketByUrlAndByOption) {
  for (RedisOptions o : {RedisOptions{.url = "unix://" + redis_.socket() + "?db=2"},
                         RedisOptions{.unix_socket = redis_.socket(), .db = 2}}) {
    auto b = backend(o);
    ASSERT_TRUE(b->health_check().ok()) << b->health_check().to_string();
    ASSERT_TRUE(b->store_data("k", {{"a", 1}}, 1).ok());
    EXPECT_EQ(**b->load_data("k"), (Json{{"a", 1}}));
    EXPECT_EQ(cli({"-n", "2", "HGET", "omni:k", "a"}), "1\n");
    ASSERT_TRUE(redis_.flushall());
  }
}

TEST_F(RedisBackendTest, DbOutOfRangeIsUnavailable) {
  auto b = backend({.url = redis_.url() + "/99"});
  Status h = b->health_check();
  EXPECT_EQ(h.code(), StatusCode::kUnavailable);
  EXPECT_NE(h.message().find("SELECT 99 refused"), std::string::npos) << h.message();
}

// A TCP server on loopback that answers every connection with `reply` (or, when
// empty, reads and never answers).
class FakeServer {
 public:
  explicit FakeServer(std::string reply) : reply_(std::move(reply)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 16) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ADD_FAILURE() << "fake server: cannot listen";
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  FakeServer(const FakeServer&) = delete;  // owns a thread and sockets
  FakeServer& operator=(const FakeServer&) = delete;
  ~FakeServer() {
    stop_ = true;
    thread_.join();
    for (int c : clients_) close(c);
    close(fd_);
  }
  int port() const { return port_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      const int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      clients_.push_back(c);  // kept open: the client must not wait for a close
      char buf[4096];
      pollfd q{c, POLLIN, 0};
      if (poll(&q, 1, 1000) > 0) (void)!read(c, buf, sizeof buf);
      if (!reply_.empty()) (void)!write(c, reply_.data(), reply_.size());
    }
  }
  std::string reply_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<int> clients_;  // the server thread's only
  std::thread thread_;
};

TEST(RedisBackendBrokenServerTest, AServerAnsweringGarbageIsUnavailableNotACrash) {
  FakeServer garbage("HTTP/1.1 400 Bad Request\r\n\r\n");
  auto b = RedisBackend::create({.port = garbage.port(), .command_timeout = 500ms});
  ASSERT_TRUE(b.ok());
  Status h = (*b)->health_check();
  EXPECT_EQ(h.code(), StatusCode::kUnavailable) << h.to_string();
  EXPECT_NE(h.message().find("protocol error"), std::string::npos) << h.message();
  EXPECT_EQ((*b)->apply(batch({store(1, "k", {{"a", 1}})}, 1)).code(), StatusCode::kUnavailable);
  EXPECT_EQ((*b)->watermark().status().code(), StatusCode::kUnavailable);
}

TEST(RedisBackendBrokenServerTest, AnAnswerOfTheWrongShapeIsUnavailable) {
  // Valid RESP, but not what SCRIPT LOAD answers.
  FakeServer wrong("+OK\r\n");
  auto b = RedisBackend::create({.port = wrong.port(), .command_timeout = 500ms});
  Status h = (*b)->health_check();
  EXPECT_EQ(h.code(), StatusCode::kUnavailable) << h.to_string();
  EXPECT_NE(h.message().find("is this Redis?"), std::string::npos) << h.message();
}

TEST(RedisBackendBrokenServerTest, ASilentServerTimesOutAsUnavailable) {
  FakeServer silent("");
  auto b = RedisBackend::create({.port = silent.port(), .command_timeout = 200ms});
  Status h = (*b)->health_check();
  EXPECT_EQ(h.code(), StatusCode::kUnavailable) << h.to_string();
  EXPECT_NE(h.message().find("no answer within command_timeout (200 ms)"), std::string::npos) << h.message();
}

TEST(RedisBackendRestartTest, KilledAndRestartedServerIsReconnected) {
  RedisServer redis({.aof = true});
  ASSERT_TRUE(redis.start()) << redis.error();
  auto b = RedisBackend::create({.port = redis.port(), .max_connections = 2, .connect_timeout = 500ms});
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*b)->apply(batch({store(1, "k", {{"a", 1}})}, 1)).ok());
  ASSERT_TRUE((*b)->health_check().ok());

  redis.kill();  // kill -9, connections left in the pool
  // A big write into the dead connection: the peer's reset makes write(2) raise
  // SIGPIPE, which must not kill this process.
  std::vector<Change> big;
  for (Seq s = 10; s < 3010; ++s) big.push_back(store(s, "big" + std::to_string(s), {{"pad", std::string(2000, 'x')}}));
  EXPECT_EQ((*b)->apply(batch(big, 3010)).code(), StatusCode::kUnavailable);
  Status down = (*b)->health_check();
  EXPECT_EQ(down.code(), StatusCode::kUnavailable) << down.to_string();
  EXPECT_EQ((*b)->apply(batch({store(2, "k", {{"a", 2}})}, 2)).code(), StatusCode::kUnavailable);

  ASSERT_TRUE(redis.restart()) << redis.error();
  EXPECT_TRUE((*b)->health_check().ok()) << (*b)->health_check().to_string();
  ASSERT_TRUE((*b)->apply(batch({store(2, "k", {{"a", 2}})}, 2)).ok());
  EXPECT_EQ(**(*b)->load_data("k"), (Json{{"a", 2}}));

  // Restarted while connections sit idle in the pool: the next call just works.
  ASSERT_TRUE((*b)->health_check().ok());
  redis.stop();
  ASSERT_TRUE(redis.restart()) << redis.error();
  ASSERT_TRUE((*b)->apply(batch({store(3, "k", {{"a", 3}})}, 3)).ok());
  EXPECT_EQ(**(*b)->watermark(), 3u);
}

TEST_F(RedisBackendTest, ManyThreadsShareASmallPool) {
  auto b = backend({.max_connections = 2, .count_applies = true});
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (Seq s = 1; s <= 50; ++s) {
        const std::string key = "t" + std::to_string(t) + ":" + std::to_string(s % 5);
        if (!b->store_data(key, {{"s", s}}, s).ok()) ++failures;
        auto l = b->load_data(key);
        if (!l.ok() || !l->has_value()) ++failures;
        if (!b->health_check().ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(**b->load_data("t3:0"), (Json{{"s", 50}}));
  EXPECT_EQ(cli({"HGET", "omni:applies", "t3:0"}), "10\n");
  EXPECT_LE(lines(cli({"CLIENT", "LIST"})).size(), 3u);  // two pooled + this redis-cli
}

// ---- the in-order path (RedisOptions::in_order_pipeline) ---------------------------

// A batch as the sink worker sends it while tailing: it knows the watermark.
ChangeBatch tailing(std::vector<Change> changes, Seq through, std::optional<Seq> watermark) {
  ChangeBatch b = batch(std::move(changes), through);
  b.expected_watermark = watermark;
  return b;
}

// Every hash under `prefix` as one line "key f1=v1 f2=v2 ..." (fields sorted,
// the prefix cut), in one redis-cli call.
std::vector<std::string> hashes(const RedisServer& r, const std::string& prefix) {
  return lines(r.cli({"EVAL",
                      "local out = {} for _, k in ipairs(redis.call('KEYS', ARGV[1] .. '*')) do "
                      "if redis.call('TYPE', k).ok == 'hash' then local h = redis.call('HGETALL', k) "
                      "local f = {} for i = 1, #h, 2 do f[#f + 1] = h[i] .. '=' .. h[i + 1] end table.sort(f) "
                      "out[#out + 1] = string.sub(k, #ARGV[1] + 1) .. ' ' .. table.concat(f, ' ') end end "
                      "table.sort(out) return out",
                      "0", prefix}));
}

long command_calls(const RedisServer& r, const std::string& command) {
  for (const std::string& l : lines(r.cli({"INFO", "commandstats"}))) {
    if (l.starts_with("cmdstat_" + command + ":calls=")) return std::stol(l.substr(l.find('=') + 1));
  }
  return 0;
}

// (The in-order tests lower in_order_min_changes to 1, so that small batches
// take that path.)
TEST_F(RedisBackendTest, InOrderBatchesLeaveRedisAsTheScriptDoes) {
  auto fast = backend({.key_prefix = "fast:", .count_applies = true, .in_order_min_changes = 1});
  auto script = backend({.key_prefix = "script:", .count_applies = true, .in_order_pipeline = false});
  // Someone else's hash with a field no document has: replaced, not merged.
  ASSERT_EQ(cli({"HSET", "fast:old", "stale", "1"}), "1\n");
  ASSERT_EQ(cli({"HSET", "script:old", "stale", "1"}), "1\n");
  std::vector<ChangeBatch> batches;
  batches.push_back(tailing({store(1, "a", {{"x", 1}, {"y", 2}}), store(2, "old", {{"x", 1}}),
                             store(3, "a", {{"x", 3}, {"y", 4}, {"z", 5}}), store(4, "a", {{"x", 6}, {"y", 7}})},
                            4, std::nullopt));
  // Fewer fields than the last write: no field of it may stay.
  batches.push_back(tailing({store(5, "a", {{"x", 8}}), store(7, "b", {{"_seq", "user's"}})}, 7, 4));
  // The same fields again (no DEL needed), then a delete (the script's), then a
  // store after the tombstone.
  batches.push_back(tailing({store(8, "a", {{"x", 9}})}, 8, 7));
  batches.push_back(tailing({del(9, "a")}, 9, 8));
  batches.push_back(tailing({store(10, "a", {{"x", 10}})}, 10, 9));
  // More than one MULTI block (1,000 changes each), keys repeating across them.
  std::vector<Change> many;
  for (Seq q = 11; q <= 2600; ++q) {
    Json doc = q % 2 ? Json{{"q", q}} : Json{{"q", q}, {"even", true}};
    many.push_back(store(q, "k" + std::to_string(q % 700), doc));
  }
  batches.push_back(tailing(many, 2600, 10));
  ASSERT_EQ(cli({"CONFIG", "RESETSTAT"}), "OK\n");
  for (const ChangeBatch& b : batches) ASSERT_TRUE(fast->apply(b).ok());
  EXPECT_EQ(command_calls(redis_, "hset"), 2599);  // one per store, and the script's tombstone
  // The script: the delete's batch, and the watermark after each of 7 blocks (4
  // batches, and 2,590 changes in 3 blocks).
  EXPECT_EQ(command_calls(redis_, "evalsha"), 8);
  for (const ChangeBatch& b : batches) ASSERT_TRUE(script->apply(b).ok());

  const std::vector<std::string> fast_hashes = hashes(redis_, "fast:");
  EXPECT_EQ(fast_hashes.size(), 704u);  // a, b, old, k0..k699, applies
  EXPECT_EQ(fast_hashes, hashes(redis_, "script:"));
  EXPECT_EQ(pairs(cli({"HGETALL", "fast:a"})), (std::map<std::string, std::string>{{"_seq", "10"}, {"x", "10"}}));
  EXPECT_EQ(pairs(cli({"HGETALL", "fast:old"})), (std::map<std::string, std::string>{{"_seq", "2"}, {"x", "1"}}));
  EXPECT_EQ(**fast->load_data("b"), (Json{{"_seq", "user's"}}));
  EXPECT_EQ(cli({"GET", "fast:sink:applied"}), "2600\n");
  EXPECT_EQ(cli({"HGET", "fast:applies", "k1"}), cli({"HGET", "script:applies", "k1"}));
}

// A hash this backend did not write costs an HKEYS; one that holds fields the
// new document lacks an HSET + HDEL in a MULTI; a hash it wrote with the same
// fields neither.
TEST_F(RedisBackendTest, InOrderPathAsksOnlyForTheFieldsItDoesNotKnow) {
  auto b = backend();
  // A new backend does not know how the last writer stopped: its first batch goes
  // through the script, which settles it.
  std::vector<Change> prime;
  for (Seq q = 1; q <= 40; ++q) prime.push_back(store(q, "p" + std::to_string(q), {{"a", q}}));
  ASSERT_EQ(cli({"CONFIG", "RESETSTAT"}), "OK\n");
  ASSERT_TRUE(b->apply(tailing(prime, 40, std::nullopt)).ok());
  EXPECT_EQ(command_calls(redis_, "hkeys"), 0);
  EXPECT_EQ(command_calls(redis_, "evalsha"), 1);

  ASSERT_EQ(cli({"HSET", "omni:k0", "other", "1"}), "1\n");
  ASSERT_EQ(cli({"CONFIG", "RESETSTAT"}), "OK\n");
  std::vector<Change> first, second;
  for (Seq q = 41; q <= 140; ++q) first.push_back(store(q, "k" + std::to_string(q - 41), {{"a", q}}));
  for (Seq q = 141; q <= 240; ++q) second.push_back(store(q, "k" + std::to_string(q - 141), {{"a", q}}));
  ASSERT_TRUE(b->apply(tailing(first, 140, 40)).ok());
  EXPECT_EQ(command_calls(redis_, "hkeys"), 100);
  EXPECT_EQ(command_calls(redis_, "hdel"), 1);  // k0's "other"
  EXPECT_EQ(command_calls(redis_, "multi"), 1);
  ASSERT_TRUE(b->apply(tailing(second, 240, 140)).ok());
  EXPECT_EQ(command_calls(redis_, "hkeys"), 100);
  EXPECT_EQ(command_calls(redis_, "hdel"), 1);
  EXPECT_EQ(command_calls(redis_, "hset"), 200);
  EXPECT_EQ(command_calls(redis_, "del"), 0);
  EXPECT_EQ(command_calls(redis_, "evalsha"), 2);  // the compare-and-set of each watermark
  EXPECT_EQ(pairs(cli({"HGETALL", "omni:k0"})), (std::map<std::string, std::string>{{"_seq", "141"}, {"a", "141"}}));
}

// A batch cut short (here: a store Redis refused after others went in) may leave
// stores above the watermark; the next batch goes through the script, whose
// per-key checks apply each of them once, and the one after that is in order
// again.
TEST_F(RedisBackendTest, AfterAnInOrderBatchFailsTheScriptSettlesWhatItLeft) {
  auto b = backend({.count_applies = true, .in_order_min_changes = 1});
  ASSERT_TRUE(b->apply(tailing({store(1, "a", {{"v", 1}})}, 1, std::nullopt)).ok());  // the script
  ASSERT_TRUE(b->apply(tailing({store(2, "a", {{"v", 2}})}, 2, 1)).ok());               // in order
  ASSERT_EQ(cli({"SET", "omni:a", "someone else's"}), "OK\n");
  Status s = b->apply(tailing({store(3, "c", {{"v", 3}}), store(4, "a", {{"v", 4}})}, 4, 2));
  ASSERT_EQ(s.code(), StatusCode::kBackend) << s.to_string();
  EXPECT_EQ(cli({"HGET", "omni:applies", "c"}), "1\n");  // c went in before a was refused
  ASSERT_EQ(cli({"DEL", "omni:a"}), "1\n");
  ASSERT_EQ(cli({"CONFIG", "RESETSTAT"}), "OK\n");
  ASSERT_TRUE(b->apply(tailing({store(3, "c", {{"v", 3}}), store(4, "a", {{"v", 4}})}, 4, 2)).ok());
  EXPECT_EQ(command_calls(redis_, "evalsha"), 1);
  EXPECT_EQ(command_calls(redis_, "hkeys"), 0);
  EXPECT_EQ(cli({"HGET", "omni:applies", "c"}), "1\n");  // not twice
  EXPECT_EQ(**b->load_data("a"), (Json{{"v", 4}}));
  ASSERT_TRUE(b->apply(tailing({store(5, "c", {{"v", 5}})}, 5, 4)).ok());
  EXPECT_EQ(command_calls(redis_, "hkeys"), 1);  // in order again
  EXPECT_EQ(cli({"HGET", "omni:applies", "c"}), "2\n");
}

// A store applied alone (write_through) takes the script's one round trip.
TEST_F(RedisBackendTest, BatchesBelowInOrderMinChangesGoThroughTheScript) {
  auto b = backend({.in_order_min_changes = 3});
  ASSERT_EQ(cli({"CONFIG", "RESETSTAT"}), "OK\n");
  ASSERT_TRUE(b->apply(tailing({store(1, "a", {{"v", 1}}), store(2, "b", {{"v", 2}})}, 2, std::nullopt)).ok());
  EXPECT_EQ(command_calls(redis_, "hkeys"), 0);
  EXPECT_EQ(command_calls(redis_, "evalsha"), 1);
  ASSERT_TRUE(b->apply(tailing({store(3, "a", {{"v", 3}}), store(4, "b", {{"v", 4}}), store(5, "c", {{"v", 5}})}, 5,
                               2))
                  .ok());
  EXPECT_EQ(command_calls(redis_, "hkeys"), 3);
  EXPECT_EQ(**b->load_data("c"), (Json{{"v", 5}}));
}

TEST_F(RedisBackendTest, InOrderPathChecksTheWatermarkAndWritesNothingOnAMismatch) {
  auto b = backend({.in_order_min_changes = 1});
  ASSERT_TRUE(b->apply(tailing({store(1, "a", {{"v", 1}})}, 5, std::nullopt)).ok());
  const std::string before = snapshot(redis_);
  Status s = b->apply(tailing({store(6, "b", {{"v", 6}})}, 6, 4));
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.to_string();
  EXPECT_NE(s.message().find("the watermark is 5, not 4"), std::string::npos) << s.message();
  EXPECT_EQ(snapshot(redis_), before);
  ASSERT_TRUE(redis_.flushall());
  s = b->apply(tailing({store(6, "b", {{"v", 6}})}, 6, 5));
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.to_string();
  EXPECT_NE(s.message().find("the watermark is absent, not 5"), std::string::npos) << s.message();
  EXPECT_EQ(cli({"DBSIZE"}), "0\n");
  // After the wipe nothing is trusted: "a" is written whole again.
  ASSERT_TRUE(b->apply(tailing({store(7, "a", {{"w", 7}})}, 7, std::nullopt)).ok());
  EXPECT_EQ(pairs(cli({"HGETALL", "omni:a"})), (std::map<std::string, std::string>{{"_seq", "7"}, {"w", "7"}}));
}

TEST_F(RedisBackendTest, InOrderPathRefusesAKeyOfAnotherTypeAsTheScriptDoes) {
  auto b = backend({.in_order_min_changes = 1});
  ASSERT_TRUE(b->apply(tailing({store(1, "a", {{"v", 1}})}, 1, std::nullopt)).ok());
  ASSERT_EQ(cli({"SET", "omni:bad", "not a hash"}), "OK\n");
  const std::string before = snapshot(redis_);
  Status s = b->apply(tailing({store(2, "a", {{"v", 2}}), store(3, "bad", {{"v", 3}})}, 3, 1));
  EXPECT_EQ(s.code(), StatusCode::kBackend) << s.to_string();
  EXPECT_NE(s.message().find("change seq 3 (store of 'bad')"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("WRONGTYPE"), std::string::npos) << s.message();
  EXPECT_EQ(snapshot(redis_), before);

  // A key this backend wrote as a hash, turned into a string behind its back: its
  // HSET fails after the others went in, and the watermark stays, so the
  // worker's change-by-change retry (and dead letter) still happens.
  ASSERT_TRUE(b->apply(tailing({store(2, "a", {{"v", 2}})}, 2, 1)).ok());
  ASSERT_EQ(cli({"SET", "omni:a", "someone else's"}), "OK\n");
  s = b->apply(tailing({store(3, "c", {{"v", 3}}), store(4, "a", {{"v", 4}})}, 4, 2));
  EXPECT_EQ(s.code(), StatusCode::kBackend) << s.to_string();
  EXPECT_NE(s.message().find("change seq 4 (store of 'a')"), std::string::npos) << s.message();
  EXPECT_EQ(cli({"GET", "omni:sink:applied"}), "2\n");
  EXPECT_EQ(cli({"GET", "omni:a"}), "someone else's\n");
  ASSERT_TRUE(b->apply(tailing({store(3, "c", {{"v", 3}})}, 3, 2)).ok());  // the retry of the good one
  EXPECT_EQ(**b->load_data("c"), (Json{{"v", 3}}));
}

// An in-order block is planned and sent in parts while Redis applies the part
// before; a key of another type found in a later part ends the block before
// that part: what went before is applied and covered by the watermark, and the
// script then refuses the bad change precisely, writing nothing of its call.
TEST_F(RedisBackendTest, AKeyOfAnotherTypeLaterInAnInOrderBlockEndsTheBlockBeforeIt) {
  for (const std::size_t bad_at : {300u, 700u}) {
    SCOPED_TRACE("bad key at change " + std::to_string(bad_at));
    ASSERT_TRUE(redis_.flushall());
    auto b = backend({.in_order_min_changes = 1});
    ASSERT_TRUE(b->apply(tailing({store(1, "first", {{"v", 1}})}, 1, std::nullopt)).ok());  // the script
    ASSERT_EQ(cli({"SET", "omni:bad", "not a hash"}), "OK\n");
    std::vector<Change> changes;
    for (std::size_t i = 0; i < 1000; ++i) {
      const Seq q = 2 + i;
      changes.push_back(store(q, i == bad_at ? std::string("bad") : "k" + std::to_string(i), {{"v", q}}));
    }
    Status s = b->apply(tailing(changes, 1001, 1));
    EXPECT_EQ(s.code(), StatusCode::kBackend) << s.to_string();
    EXPECT_NE(s.message().find("change seq " + std::to_string(2 + bad_at) + " (store of 'bad')"), std::string::npos)
        << s.message();
    EXPECT_EQ(cli({"GET", "omni:bad"}), "not a hash\n");
    // The watermark covers exactly the stores that went in: all of them below it,
    // none above, and it stops before the bad change.
    const std::string wm = cli({"GET", "omni:sink:applied"});
    const Seq through = std::stoull(wm);
    EXPECT_GE(through, 2u) << wm;
    EXPECT_LT(through, 2 + bad_at) << wm;
    std::vector<std::string> want;
    for (std::size_t i = 0; i < 1000; ++i) {
      const Seq q = 2 + i;
      if (i != bad_at && q <= through) {
        want.push_back("k" + std::to_string(i) + " _seq=" + std::to_string(q) + " v=" + std::to_string(q));
      }
    }
    want.push_back("first _seq=1 v=1");
    std::sort(want.begin(), want.end());
    EXPECT_EQ(hashes(redis_, "omni:"), want);
  }
}

// A store refused early in a block whose later parts were already sent: the
// error names it, and the connection goes back to the pool with every reply
// read, so the next call on it (one connection here) reads its own answer.
TEST_F(RedisBackendTest, AStoreRefusedEarlyInAnInOrderBlockLeavesTheConnectionClean) {
  auto b = backend({.max_connections = 1, .in_order_min_changes = 1});
  ASSERT_TRUE(b->apply(tailing({store(1, "first", {{"v", 1}})}, 1, std::nullopt)).ok());  // the script
  std::vector<Change> changes;
  for (Seq q = 2; q <= 1001; ++q) changes.push_back(store(q, "k" + std::to_string(q - 2), {{"v", q}}));
  ASSERT_TRUE(b->apply(tailing(changes, 1001, 1)).ok());  // in order: the keys are known now
  ASSERT_EQ(cli({"SET", "omni:k10", "someone else's"}), "OK\n");
  for (Change& c : changes) {
    c.seq += 1000;
    c.json = Json{{"v", c.seq}}.dump();
  }
  auto connections = [&] {
    for (const std::string& l : lines(cli({"INFO", "stats"}))) {
      if (l.starts_with("total_connections_received:")) return std::stol(l.substr(l.find(':') + 1));
    }
    return -1L;
  };
  const long before = connections();
  Status s = b->apply(tailing(changes, 2001, 1001));
  EXPECT_EQ(s.code(), StatusCode::kBackend) << s.to_string();
  EXPECT_NE(s.message().find("change seq 1012 (store of 'k10')"), std::string::npos) << s.message();
  Result<std::optional<Seq>> w = b->watermark();
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  EXPECT_EQ(*w, std::optional<Seq>(1001));
  Result<std::optional<Json>> last = b->load_data("k999");
  ASSERT_TRUE(last.ok()) << last.status().to_string();
  EXPECT_EQ(*last, std::optional<Json>(Json{{"v", 2001}}));  // above the watermark, settled by the next script call
  EXPECT_EQ(connections(), before + 1);  // redis-cli's: the backend kept its one connection
}

}  // namespace
}  // namespace omni
