// `omni health`: are the configured backends reachable, and how far behind the
// local log are they. Opens the store read-only (safe while the service runs) for
// its head, and each backend from the configuration file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "omni/tools/config.h"

namespace omni::tools {

// The exit status `omni health` reports (documented in its --help).
enum HealthExit : int {
  kHealthOk = 0,        // every backend healthy
  kHealthDegraded = 1,  // some backend is not healthy (lagging, no watermark, ahead of the log) or down
  kHealthDown = 69,     // every backend is down (kExitUnavailable)
};

struct BackendHealthReport {
  std::string name;
  std::string type;
  // "healthy"; "lagging" (lag above HealthOptions::max_lag); "no_watermark" (an
  // empty or wiped target: `omni replay sink` re-seeds it); "ahead_of_log" (its
  // watermark is past the local head: the log lost its tail); "down" (health_check
  // or the watermark read failed: `error` says why).
  std::string status;
  std::optional<Seq> watermark;
  std::optional<Seq> lag;  // head - watermark, when there is a watermark not past the head
  std::string error;
};

struct HealthReport {
  Seq head_seq = 0;
  std::vector<BackendHealthReport> backends;  // in the configuration's (name) order
  std::string status;  // "healthy", "degraded" or "down"
  int exit_code() const;
};

struct HealthOptions {
  std::string db;
  std::optional<Seq> max_lag;  // a backend further behind is "lagging"; none: any lag is healthy
};

// kInvalidArgument when `config` names no backend; a backend that cannot be
// built (its secret is missing) is reported as down with the reason.
Result<HealthReport> check_backends(const HealthOptions& options, const ToolConfig& config);
nlohmann::ordered_json to_json(const HealthReport& r);
std::string to_text(const HealthReport& r);

}  // namespace omni::tools
