// `omni audit export`: JSON Lines and CSV that hold exactly the audit trail (compared
// with get_audit_trail), filters, RFC 4180 quoting, megabyte values.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "omni/tools/audit_export.h"
#include "omni/tools/format.h"
#include "tools_test_util.h"

namespace omni {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::run_omni;

struct Export {
  Json header;
  std::vector<Json> events;
  Json closing;
};

Export parse_jsonl(const std::string& text) {
  Export e;
  const auto lines = testing::lines_of(text);
  EXPECT_GE(lines.size(), 2u);
  if (lines.size() < 2) return e;
  e.header = Json::parse(lines.front());
  e.closing = Json::parse(lines.back());
  for (std::size_t i = 1; i + 1 < lines.size(); ++i) e.events.push_back(Json::parse(lines[i]));
  return e;
}

Export export_of(const std::vector<std::string>& args) {
  std::vector<std::string> a = {"--progress=none", "audit", "export"};
  a.insert(a.end(), args.begin(), args.end());
  const auto r = run_omni(a);
  EXPECT_EQ(r.code, 0) << r.err;
  return parse_jsonl(r.out);
}

// RFC 4180: fields separated by commas, records by CRLF; a quoted field may hold
// commas, CR, LF and doubled quotes.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false, was_quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field.push_back(c);
      }
    } else if (c == '"') {
      EXPECT_TRUE(field.empty() && !was_quoted) << "a quote inside an unquoted field at " << i;
      quoted = was_quoted = true;
    } else if (c == ',') {
      rows.back().push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      rows.back().push_back(std::move(field));
      field.clear();
      was_quoted = false;
      rows.emplace_back();
      ++i;
    } else {
      EXPECT_NE(c, '\n') << "a bare LF outside quotes at " << i;
      field.push_back(c);
    }
  }
  EXPECT_FALSE(quoted) << "unterminated quoted field";
  EXPECT_TRUE(rows.back().empty() && field.empty()) << "the last record is not CRLF-terminated";
  rows.pop_back();
  return rows;
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
  return tools::format_rfc3339(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

TEST(AuditExportTest, JsonLinesHoldExactlyTheAuditTrail) {
  TempDir dir;
  const std::string db = dir.sub("db");
  const Seq head = testing::make_mixed_store(db);
  const std::vector<std::string> keys = {"user:0", "user:1", "user:2", "group:admin", "config", "doc:1"};
  std::map<std::string, std::vector<AuditEntry>> trails;
  {
    auto s = std::move(*Storage::open({.path = db}));
    ASSERT_TRUE(s->audit().configure({.include_data_snapshots = true}).ok());
    for (const auto& k : keys) trails[k] = *s->get_audit_trail(k);
    ASSERT_TRUE(s->close().ok());
  }
  for (const auto& k : keys) {
    const Export e = export_of({"--db", db, "--key", k});
    EXPECT_FALSE(e.header["complete"].get<bool>());
    EXPECT_EQ(e.header["filter"], Json({{"key", k}}));
    const auto& trail = trails[k];
    ASSERT_EQ(e.events.size(), trail.size()) << k;
    ASSERT_FALSE(trail.empty()) << k;
    for (std::size_t i = 0; i < trail.size(); ++i) {
      const Json& j = e.events[i];
      const AuditEntry& a = trail[i];
      SCOPED_TRACE(k + " seq " + std::to_string(a.seq));
      EXPECT_EQ(j["seq"].get<Seq>(), a.seq);
      EXPECT_EQ(j["timestamp"], rfc3339(a.timestamp));
      EXPECT_EQ(j["operation"], a.operation);
      EXPECT_EQ(j["identity"], a.identity);
      EXPECT_EQ(j.contains("data") ? std::optional<Json>(j["data"]) : std::nullopt, a.data);
      EXPECT_EQ(j.value("subject", ""), a.subject);
      EXPECT_EQ(j.value("predicate", ""), a.predicate);
      EXPECT_EQ(j.value("object", ""), a.object);
      EXPECT_EQ(j.value("label", ""), a.label);
      EXPECT_EQ(j.value("labels", std::vector<std::string>()), a.labels);
      EXPECT_EQ(j["hash"].get<std::string>().size(), 64u);
      EXPECT_EQ(log::to_hex(log::sha256(*tools::base64_decode(j["encoded"].get<std::string>()))), j["hash"]);
    }
    EXPECT_EQ(e.closing["events"].get<std::size_t>(), trail.size());
    EXPECT_EQ(e.closing["head_seq"].get<Seq>(), head);
  }

  const Export all = export_of({"--db", db});
  EXPECT_TRUE(all.header["complete"].get<bool>());
  ASSERT_EQ(all.events.size(), head);
  for (Seq s = 1; s <= head; ++s) {
    EXPECT_EQ(all.events[s - 1]["seq"].get<Seq>(), s);
    if (s > 1) {
      EXPECT_EQ(all.events[s - 1]["prev_hash"], all.events[s - 2]["hash"]);
    }
  }
  EXPECT_EQ(all.closing["head_hash"], all.events.back()["hash"]);
  const auto policy = std::find_if(all.events.begin(), all.events.end(),
                                   [](const Json& j) { return j["operation"] == "policy_decided"; });
  ASSERT_NE(policy, all.events.end());
  EXPECT_EQ((*policy)["principal"], "user:1");
  EXPECT_EQ((*policy)["action"], "read");
  EXPECT_EQ((*policy)["key"], "doc:1");
  EXPECT_TRUE((*policy)["allowed"].get<bool>());
  EXPECT_EQ((*policy)["depends_on"], Json::array({"group:admin"}));
  EXPECT_GT((*policy)["ttl_ns"].get<std::int64_t>(), 0);
}

TEST(AuditExportTest, CsvHoldsTheSameEventsAsJsonLines) {
  TempDir dir;
  const std::string db = dir.sub("db");
  const Seq head = testing::make_mixed_store(db);
  const Export all = export_of({"--db", db});
  const auto r = run_omni({"--progress=none", "audit", "export", "--db", db, "--format", "csv"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto rows = parse_csv(r.out);
  ASSERT_EQ(rows.size(), head + 2);
  const std::vector<std::string> columns = {"seq", "timestamp", "operation", "identity", "key", "data",
                                            "subject", "predicate", "object", "label", "labels", "principal",
                                            "action", "allowed", "ttl_ns", "depends_on", "prev_hash", "hash"};
  EXPECT_EQ(rows[0], columns);
  for (Seq s = 1; s <= head; ++s) {
    const auto& row = rows[s];
    const Json& j = all.events[s - 1];
    ASSERT_EQ(row.size(), columns.size());
    std::map<std::string, std::string> f;
    for (std::size_t c = 0; c < columns.size(); ++c) f[columns[c]] = row[c];
    EXPECT_EQ(f["seq"], std::to_string(s));
    for (const char* name : {"timestamp", "operation", "identity", "key", "prev_hash", "hash"}) {
      EXPECT_EQ(f[name], j[name].get<std::string>()) << name << " of seq " << s;
    }
    EXPECT_EQ(f["data"].empty() ? Json() : Json::parse(f["data"]), j.value("data", Json()));
    EXPECT_EQ(f["object"], j.value("object", ""));
    EXPECT_EQ(f["labels"].empty() ? Json() : Json::parse(f["labels"]), j.value("labels", Json()));
  }
  const auto& end = rows.back();
  EXPECT_EQ(end[0], std::to_string(head));
  EXPECT_EQ(end[2], "export_end");
  EXPECT_EQ(end[17], all.closing["head_hash"]);
  const Json summary = Json::parse(end[5]);
  EXPECT_EQ(summary["events"].get<Seq>(), head);
  EXPECT_EQ(summary["digest"], all.closing["digest"]);
}

TEST(AuditExportTest, FiltersSelectByKeyIdentityTimeAndType) {
  TempDir dir;
  const std::string db = dir.sub("db");
  testing::make_mixed_store(db);
  const Export all = export_of({"--db", db});
  auto seqs_where = [&](const std::function<bool(const Json&)>& pred) {
    std::vector<Seq> out;
    for (const Json& j : all.events) {
      if (pred(j)) out.push_back(j["seq"].get<Seq>());
    }
    return out;
  };
  auto seqs_of = [](const Export& e) {
    std::vector<Seq> out;
    for (const Json& j : e.events) out.push_back(j["seq"].get<Seq>());
    return out;
  };
  EXPECT_EQ(seqs_of(export_of({"--db", db, "--identity", "svc-b"})),
            seqs_where([](const Json& j) { return j["identity"] == "svc-b"; }));
  const std::string since = all.events[4]["timestamp"], until = all.events[11]["timestamp"];
  const Export window = export_of({"--db", db, "--since", since, "--until", until});
  EXPECT_EQ(seqs_of(window), seqs_where([&](const Json& j) {
              const auto t = *tools::parse_rfc3339(j["timestamp"].get<std::string>());
              return t >= *tools::parse_rfc3339(since) && t < *tools::parse_rfc3339(until);
            }));
  EXPECT_FALSE(window.events.empty());
  EXPECT_EQ(window.header["filter"]["since"], since);
  const auto edges = seqs_where([](const Json& j) {
    return j["operation"] == "relationship_added" || j["operation"] == "relationship_removed";
  });
  EXPECT_EQ(edges.size(), 3u);  // two added, one removed by the delete
  EXPECT_EQ(seqs_of(export_of({"--db", db, "--type", "relationship_added,relationship_removed"})), edges);
  EXPECT_EQ(seqs_of(export_of({"--db", db, "--type", "relationship_added", "--type", "relationship_removed"})), edges);
  EXPECT_EQ(seqs_of(export_of({"--db", db, "--type", "delete", "--key", "user:2", "--identity", "svc-a"})),
            seqs_where([](const Json& j) { return j["operation"] == "delete"; }));
  EXPECT_TRUE(export_of({"--db", db, "--key", "nobody"}).events.empty());
}

TEST(AuditExportTest, CsvQuotesCommasQuotesAndUnicode) {
  TempDir dir;
  const std::string db = dir.sub("db");
  const std::vector<std::string> keys = {"a,b", "say \"hi\"", "ключ,\"x\" 🙂", "plain"};
  const Json doc = {{"text", "line1\nline2"}, {"q", "\"quoted\", yes"}, {"ünï", "键"}};
  {
    auto s = std::move(*Storage::open({.path = db}));
    for (const auto& k : keys) ASSERT_TRUE(s->store_data(k, doc, {.identity = "team, \"ops\""}).ok());
    ASSERT_TRUE(s->close().ok());
  }
  const auto r = run_omni({"--progress=none", "audit", "export", "--db", db, "--format=csv", "--type", "store"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto rows = parse_csv(r.out);
  ASSERT_EQ(rows.size(), keys.size() + 2);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(rows[i + 1][4], keys[i]);
    EXPECT_EQ(rows[i + 1][3], "team, \"ops\"");
    EXPECT_EQ(Json::parse(rows[i + 1][5]), doc);
  }
  const Export j = export_of({"--db", db, "--key", keys[2]});
  ASSERT_EQ(j.events.size(), 1u);
  EXPECT_EQ(j.events[0]["key"], keys[2]);
  EXPECT_EQ(j.events[0]["data"], doc);
}

TEST(AuditExportTest, MegabyteValuesExportWhole) {
  TempDir dir;
  const std::string db = dir.sub("db");
  std::vector<Json> docs;
  {
    auto s = std::move(*Storage::open({.path = db}));
    for (int i = 0; i < 3; ++i) {
      docs.push_back({{"blob", std::string((3u << 19) + static_cast<unsigned>(i), static_cast<char>('a' + i))}, {"i", i}});
      ASSERT_TRUE(s->store_data("big:" + std::to_string(i), docs.back()).ok());
    }
    ASSERT_TRUE(s->store_data("small", {{"x", 1}}).ok());
    ASSERT_TRUE(s->close().ok());
  }
  const std::string file = dir.sub("big.jsonl");
  const auto r = run_omni({"--progress=none", "audit", "export", "--db", db, "--out", file});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << "data went to stdout with --out";
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_GT(text.str().size(), 3u * 3 * (1u << 19));
  const Export e = parse_jsonl(text.str());
  ASSERT_EQ(e.events.size(), 4u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(e.events[static_cast<std::size_t>(i)]["data"], docs[static_cast<std::size_t>(i)]);
  EXPECT_EQ(run_omni({"audit", "verify", "--file", file}).code, 0);
  const auto csv = run_omni({"--progress=none", "audit", "export", "--db", db, "--format", "csv"});
  ASSERT_EQ(csv.code, 0);
  const auto rows = parse_csv(csv.out);
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(Json::parse(rows[2][5]), docs[1]);
}

TEST(AuditExportTest, ExportOfABrokenChainIsCompleteButExit65) {
  TempDir dir;
  const std::string db = dir.sub("db");
  const Seq head = testing::make_mixed_store(db);
  std::string bytes = testing::stored_events(db)[2];
  bytes[bytes.find("user 2") + 5] = '7';
  testing::overwrite_event(db, 3, bytes);
  const auto r = run_omni({"--progress=none", "audit", "export", "--db", db});
  EXPECT_EQ(r.code, 65);
  EXPECT_NE(r.err.find("broken at seq 4"), std::string::npos) << r.err;
  EXPECT_EQ(parse_jsonl(r.out).events.size(), head);
}

TEST(AuditExportTest, BadArgumentsAreUsageErrors) {
  TempDir dir;
  const std::string db = dir.sub("db");
  testing::make_mixed_store(db);
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--since", "yesterday"},
           {"--until", "2024-05-01"},
           {"--type", "stored"},
           {"--format", "xml"},
           {"--key", ""},
           {"--identity", "\xC0\x80"},
       }) {
    std::vector<std::string> a = {"audit", "export", "--db", db};
    a.insert(a.end(), args.begin(), args.end());
    const auto r = run_omni(a);
    EXPECT_EQ(r.code, 64) << args[0] << ": " << r.err;
    EXPECT_TRUE(r.out.empty());
  }
  EXPECT_EQ(run_omni({"audit", "export"}).code, 64);
  EXPECT_EQ(run_omni({"audit", "export", "--db", dir.sub("none")}).code, 66);
  EXPECT_EQ(run_omni({"audit", "export", "--db", db, "--out", dir.sub("no/such/dir/x.jsonl")}).code, 74);
}

}  // namespace
}  // namespace omni
