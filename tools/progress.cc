#include "omni/tools/progress.h"

#include <unistd.h>

#include <cstdio>

#include <nlohmann/json.hpp>

namespace omni::tools {
namespace {

// "1,234,567"
std::string grouped(std::uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

std::string clock_text(double seconds) {
  const auto s = static_cast<std::uint64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%llu:%02llu:%02llu", static_cast<unsigned long long>(s / 3600),
                  static_cast<unsigned long long>(s / 60 % 60), static_cast<unsigned long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%llu:%02llu", static_cast<unsigned long long>(s / 60),
                  static_cast<unsigned long long>(s % 60));
  }
  return buf;
}

}  // namespace

Result<ProgressMode> parse_progress_mode(std::string_view text) {
  if (text == "auto") return ProgressMode::kAuto;
  if (text == "tty") return ProgressMode::kTty;
  if (text == "json") return ProgressMode::kJson;
  if (text == "none") return ProgressMode::kNone;
  return Status::invalid_argument("--progress must be auto, tty, json or none, not '" + std::string(text) + "'");
}

Progress::Progress(ProgressMode mode, std::ostream& err, int fd, std::chrono::milliseconds interval)
    : mode_(mode), err_(&err) {
  if (mode_ == ProgressMode::kAuto) mode_ = fd >= 0 && isatty(fd) ? ProgressMode::kTty : ProgressMode::kJson;
  if (interval.count() < 0) interval = std::chrono::milliseconds(mode_ == ProgressMode::kTty ? 200 : 1000);
  interval_ = interval;
}

Progress::~Progress() {
  if (running_) finish(done_);
}

void Progress::start(std::string_view task, std::uint64_t total) {
  if (running_) finish(done_);
  task_ = std::string(task);
  total_ = total;
  done_ = 0;
  calls_ = 0;
  running_ = true;
  started_ = last_print_ = std::chrono::steady_clock::now();
}

void Progress::update(std::uint64_t done) {
  done_ = done;
  if (mode_ == ProgressMode::kNone || !running_) return;
  if (interval_.count() != 0 && ++calls_ % 256 != 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_print_ < interval_) return;
  last_print_ = now;
  print(false);
}

void Progress::finish(std::uint64_t done) {
  done_ = done;
  if (!running_) return;
  running_ = false;
  if (mode_ != ProgressMode::kNone) print(true);
}

void Progress::print(bool final) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0;
  const bool eta_known = total_ > 0 && rate > 0 && done_ <= total_;
  const double eta = eta_known ? static_cast<double>(total_ - done_) / rate : 0;
  if (mode_ == ProgressMode::kJson) {
    nlohmann::ordered_json j;
    j["task"] = task_;
    j["done"] = done_;
    j["total"] = total_;
    j["events_per_s"] = static_cast<std::uint64_t>(rate);
    j["elapsed_s"] = static_cast<double>(static_cast<std::int64_t>(elapsed * 1000)) / 1000;
    if (eta_known) j["eta_s"] = static_cast<double>(static_cast<std::int64_t>(eta * 10)) / 10;
    j["final"] = final;
    *err_ << j.dump() << '\n' << std::flush;
    return;
  }
  std::string line = "\r\033[K" + task_ + ": " + grouped(done_);
  if (total_ > 0) {
    char pct[16];
    std::snprintf(pct, sizeof pct, "%.1f%%", 100.0 * static_cast<double>(done_) / static_cast<double>(total_));
    line += " / " + grouped(total_) + " events (" + pct + ")";
  } else {
    line += " events";
  }
  line += "  " + grouped(static_cast<std::uint64_t>(rate)) + " events/s";
  if (final) {
    line += "  in " + clock_text(elapsed) + "\n";
  } else if (eta_known) {
    line += "  ETA " + clock_text(eta);
  }
  *err_ << line << std::flush;
}

}  // namespace omni::tools
