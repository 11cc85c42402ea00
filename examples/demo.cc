// The main job of the README's first command: a tour of the embedded engine on a
// local store. Usage: omni_demo [directory]   (default /tmp/omni-demo; wiped first)
#include <omni/redis_backend.h>
#include <omni/storage.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include "redis_server.h"  // tests/: starts Debian's redis-server on a free loopback port

namespace {

void show(const char* what, const omni::Status& s) { std::printf("%-44s %s\n", what, s.to_string().c_str()); }

int fail(const omni::Status& s) {
  std::fprintf(stderr, "demo failed: %s\n", s.to_string().c_str());
  return 1;
}

// Replication: a real redis-server on loopback as a backend, stopped and
// restarted while the store keeps writing.
int replicate(omni::Storage& db) {
  using namespace std::chrono_literals;
  omni::testing::RedisServer redis;
  if (!redis.start()) return fail(omni::Status::unavailable("redis-server did not start: " + redis.error()));
  std::printf("== replication: redis-server (pid %d) on 127.0.0.1:%d\n", static_cast<int>(redis.pid()), redis.port());
  omni::RedisOptions ro;
  ro.url = redis.url();
  ro.connect_timeout = 500ms;
  auto backend = omni::RedisBackend::create(ro);
  if (!backend.ok()) return fail(backend.status());
  // Added to a store that already has data: seeded from its current state.
  if (omni::Status s = db.add_backend("redis", std::move(*backend), 1); !s.ok()) return fail(s);
  auto seq = db.store_data("user:456", {{"name", "Bob"}, {"team", "storage"}});
  if (!seq.ok()) return fail(seq.status());
  std::printf("   store_data user:456 (write_through: applied by Redis when it returns) seq %llu\n",
              static_cast<unsigned long long>(*seq));
  std::printf("   redis-cli HGETALL omni:user:456 ->\n%s", redis.cli({"HGETALL", "omni:user:456"}).c_str());
  std::printf("   redis-cli HGET omni:user:123 role -> %s", redis.cli({"HGET", "omni:user:123", "role"}).c_str());
  redis.stop();
  std::printf("== redis-server stopped\n");
  for (int i = 0; i < 100 && db.get_statistics().backends.at(0).healthy; ++i) std::this_thread::sleep_for(20ms);
  auto refused = db.store_data("user:789", {{"name", "Carol"}});
  show("   store_data while every backend is down", refused.status());
  db.enable_offline_mode();
  std::printf("   offline mode on: health %s\n", std::string(omni::health_status_name(db.check_health().status)).c_str());
  omni::Seq last = 0;
  for (int i = 0; i < 3; ++i) {
    auto r = db.store_data("offline:" + std::to_string(i), {{"i", i}});
    if (!r.ok()) return fail(r.status());
    last = *r;
  }
  std::printf("   3 writes stored locally, last seq %llu; redis lag %llu events\n", static_cast<unsigned long long>(last),
              static_cast<unsigned long long>(db.get_statistics().backends.at(0).lag));
  if (!redis.restart()) return fail(omni::Status::unavailable("redis-server did not restart: " + redis.error()));
  db.disable_offline_mode();
  std::printf("== redis-server restarted, offline mode off: the worker drains from its position\n");
  if (omni::Status s = db.wait_for_backend("redis", last, 10s); !s.ok()) return fail(s);
  std::printf("   redis-cli HGET omni:offline:2 i -> %s", redis.cli({"HGET", "omni:offline:2", "i"}).c_str());
  const omni::BackendStatistics b = db.get_statistics().backends.at(0);
  std::printf("   redis: cursor %llu, lag %llu, applied %llu, retries %llu, health %s\n",
              static_cast<unsigned long long>(b.cursor), static_cast<unsigned long long>(b.lag),
              static_cast<unsigned long long>(b.applied_events), static_cast<unsigned long long>(b.retries),
              std::string(omni::health_status_name(db.check_health().status)).c_str());
  redis.stop();
  std::printf("== redis-server stopped; done\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "/tmp/omni-demo";
  std::filesystem::remove_all(path);
  omni::Options opt;
  opt.path = path;
  opt.sync = true;  // every write fsynced before it returns
  {
    auto opened = omni::Storage::open(opt);
    if (!opened.ok()) return fail(opened.status());
    auto& db = *opened;
    std::printf("== opened %s\n", path.c_str());

    auto changed = db->notifications().add_callback("data_changed", [](const omni::DataChanged& c) {
      std::printf("   data_changed %-10s seq %-3llu %s -> %s\n", c.key.c_str(),
                  static_cast<unsigned long long>(c.seq),
                  c.old_data ? c.old_data->dump().c_str() : "(none)",
                  c.new_data ? c.new_data->dump().c_str() : "(deleted)");
    });
    if (!changed.ok()) return fail(changed.status());

    std::printf("== store, load\n");
    auto v1 = db->store_data("user:123", {{"name", "Alice"}, {"role", "admin"}}, {.identity = "svc-auth"});
    if (!v1.ok()) return fail(v1.status());
    auto user = db->load_data("user:123");
    if (!user.ok()) return fail(user.status());
    std::printf("   load_data(user:123) = %s at version %llu\n", (*user)->dump().c_str(),
                static_cast<unsigned long long>(*v1));

    std::printf("== update with an expected version\n");
    auto v2 = db->store_data("user:123", {{"name", "Alice"}, {"role", "owner"}},
                             {.identity = "svc-admin", .expected_version = *v1});
    show("   update expecting the current version:", v2.status());
    auto stale = db->store_data("user:123", {{"name", "Mallory"}}, {.expected_version = *v1});
    show("   update expecting an old version:", stale.status());

    std::printf("== atomic batch, delete, bad input\n");
    auto b = db->store_batch({{"user:1", {{"name", "Ann"}}}, {"user:2", {{"name", "Bob"}}}});
    show("   store_batch of two users:", b.status());
    show("   delete_data(user:2):", db->delete_data("user:2", {.identity = "svc-gc"}).status());
    show("   store_data with an empty key:", db->store_data("", {{"x", 1}}).status());
    show("   store_data of a JSON array:", db->store_data("k", omni::Json::array({1})).status());

    std::printf("== relationships, a policy decision, and a cascade\n");
    for (const char* u : {"user:1", "user:123"}) {
      if (auto r = db->store_relationship(u, "member_of", "group:admin"); !r.ok()) return fail(r.status());
    }
    auto members = db->get_related_reverse("group:admin", "member_of");
    if (!members.ok()) return fail(members.status());
    std::printf("   members of group:admin:");
    for (const auto& m : *members) std::printf(" %s", m.c_str());
    std::printf("\n");
    if (auto r = db->cache_policy_decision("user:1", "write", "doc:7", true, {.depends_on = {"group:admin"}}); !r.ok()) {
      return fail(r.status());
    }
    auto decided = db->get_cached_policy("user:1", "write", "doc:7");
    if (!decided.ok()) return fail(decided.status());
    std::printf("   cached decision user:1 write doc:7 = %s\n", *decided ? (**decided ? "allow" : "deny") : "none");
    auto before = db->get_version("user:1");
    show("   delete_data(user:1) (removes its edges in the same commit):", db->delete_data("user:1").status());
    members = db->get_related_reverse("group:admin", "member_of");
    decided = db->get_cached_policy("user:1", "write", "doc:7");
    if (!members.ok() || !decided.ok()) return fail(members.ok() ? decided.status() : members.status());
    std::printf("   members now: %zu; cached decision: %s (dropped by the delete)\n", members->size(),
                *decided ? "still there (unexpected)" : "none");
    auto then = db->load_data("user:1", omni::ReadOptions{.as_of = *before});
    if (!then.ok()) return fail(then.status());
    std::printf("   user:1 as of seq %llu: %s\n", static_cast<unsigned long long>(*before),
                *then ? (*then)->dump().c_str() : "absent");

    std::printf("== versions of config\n");
    for (auto [label, replicas] : {std::pair{"v1.2.3", 3}, std::pair{"v1.2.4", 5}}) {
      if (auto r = db->store_version("config", label, {{"replicas", replicas}}); !r.ok()) return fail(r.status());
    }
    show("   store_version(config, v1.2.3) again:", db->store_version("config", "v1.2.3", {{"replicas", 1}}).status());
    auto versions = db->list_versions("config");
    if (!versions.ok()) return fail(versions.status());
    for (const omni::VersionInfo& v : *versions) {
      std::printf("   %s at seq %llu\n", v.label.c_str(), static_cast<unsigned long long>(v.seq));
    }
    show("   rebuild_projections (every index from the log, while serving):", db->rebuild_projections());

    std::printf("== audit trail of user:123\n");
    if (omni::Status s = db->audit().configure({.include_data_snapshots = true}); !s.ok()) return fail(s);
    auto trail = db->get_audit_trail("user:123");
    if (!trail.ok()) return fail(trail.status());
    for (const omni::AuditEntry& e : *trail) {
      std::printf("   seq %-3llu %-6s by %-10s %s\n", static_cast<unsigned long long>(e.seq),
                  e.operation.c_str(), e.identity.c_str(), e.data ? e.data->dump().c_str() : "");
    }
    omni::Statistics st = db->get_statistics();
    omni::Metrics m = db->get_metrics();
    std::printf("== statistics: head seq %llu, %llu events, cache hit ratio %.2f, %llu ops, error rate %.2f\n",
                static_cast<unsigned long long>(st.head_seq),
                static_cast<unsigned long long>(st.event_count), st.cache.hit_ratio,
                static_cast<unsigned long long>(m.total_ops), m.error_rate);
    std::printf("== health: %s\n", std::string(omni::health_status_name(db->check_health().status)).c_str());
    auto closed = db->close();
    if (!closed.ok()) return fail(closed);
    std::printf("== closed\n");
  }
  auto reopened = omni::Storage::open(opt);
  if (!reopened.ok()) return fail(reopened.status());
  auto u = (*reopened)->load_data("user:123");
  auto gone = (*reopened)->load_data("user:2");
  if (!u.ok() || !*u || !gone.ok()) return fail(u.status());
  std::printf("== reopened: user:123 = %s, user:2 %s, head seq %llu\n", (*u)->dump().c_str(),
              *gone ? "present (unexpected)" : "deleted",
              static_cast<unsigned long long>((*reopened)->get_statistics().head_seq));
  if ((**u)["role"] != "owner" || *gone) return 1;
  return replicate(**reopened);
}
