#include "omni/tools/health.h"

#include "omni/tools/exit_codes.h"
#include "omni/tools/store.h"

namespace omni::tools {

int HealthReport::exit_code() const {
  if (status == "healthy") return kHealthOk;
  if (status == "down") return kHealthDown;
  return kHealthDegraded;
}

namespace {

BackendHealthReport probe(const BackendConfig& bc, Seq head, const std::optional<Seq>& max_lag) {
  BackendHealthReport r{.name = bc.name, .type = bc.type};
  auto down = [&](const Status& s) {
    r.status = "down";
    r.error = std::string(status_code_name(s.code())) + ": " + s.message();
    return r;
  };
  Result<std::unique_ptr<Backend>> b = make_backend(bc);
  if (!b.ok()) return down(b.status());
  if (Status s = (*b)->health_check(); !s.ok()) return down(s);
  if (!(*b)->keeps_watermark()) {
    r.status = "healthy";  // nothing to compare: the store's cursor is its position
    return r;
  }
  Result<std::optional<Seq>> w = (*b)->watermark();
  if (!w.ok()) return down(w.status());
  r.watermark = *w;
  if (!*w) {
    r.status = "no_watermark";
  } else if (**w > head) {
    r.status = "ahead_of_log";
  } else {
    r.lag = head - **w;
    r.status = max_lag && *r.lag > *max_lag ? "lagging" : "healthy";
  }
  return r;
}

}  // namespace

Result<HealthReport> check_backends(const HealthOptions& options, const ToolConfig& config) {
  if (config.backends.empty()) return Status::invalid_argument("the configuration names no backend");
  HealthReport report;
  {
    OMNI_ASSIGN_OR_RETURN(std::unique_ptr<log::EventLog> lg, open_read_only(options.db));
    report.head_seq = lg->head_seq();
    OMNI_RETURN_IF_ERROR(lg->close(std::chrono::steady_clock::now()));
  }
  std::size_t healthy = 0, down = 0;
  for (const BackendConfig& bc : config.backends) {
    report.backends.push_back(probe(bc, report.head_seq, options.max_lag));
    healthy += report.backends.back().status == "healthy";
    down += report.backends.back().status == "down";
  }
  report.status = healthy == report.backends.size() ? "healthy"
                  : down == report.backends.size()  ? "down"
                                                    : "degraded";
  return report;
}

nlohmann::ordered_json to_json(const HealthReport& r) {
  nlohmann::ordered_json j;
  j["status"] = r.status;
  j["head_seq"] = r.head_seq;
  nlohmann::ordered_json bs = nlohmann::ordered_json::array();
  for (const auto& b : r.backends) {
    nlohmann::ordered_json e;
    e["name"] = b.name;
    e["type"] = b.type;
    e["status"] = b.status;
    e["watermark"] = b.watermark ? nlohmann::ordered_json(*b.watermark) : nlohmann::ordered_json(nullptr);
    e["lag"] = b.lag ? nlohmann::ordered_json(*b.lag) : nlohmann::ordered_json(nullptr);
    e["error"] = b.error;
    bs.push_back(std::move(e));
  }
  j["backends"] = std::move(bs);
  return j;
}

std::string to_text(const HealthReport& r) {
  std::string s = r.status + ": head seq " + std::to_string(r.head_seq) + "\n";
  for (const auto& b : r.backends) {
    s += "  " + b.name + " (" + b.type + "): " + b.status;
    if (b.watermark) s += ", watermark " + std::to_string(*b.watermark);
    if (b.lag) s += ", lag " + std::to_string(*b.lag);
    if (!b.error.empty()) s += ": " + b.error;
    s += "\n";
  }
  return s;
}

}  // namespace omni::tools
