#include "omni/tools/cli.h"

#include "command.h"

#ifndef OMNI_VERSION
#define OMNI_VERSION "unknown"
#endif

namespace omni::tools {
namespace {

using AddFamily = void (*)(CLI::App&, Session&);
// Every subcommand family, in the order --help lists them.
constexpr AddFamily kFamilies[] = {add_replay_commands, add_replay_sink_command, add_audit_commands, add_inspect_command,
                                   add_health_command, add_dead_letters_commands, add_bench_commands,
                                   add_bench_sink_command};

}  // namespace

Progress Session::progress() const {
  Result<ProgressMode> m = parse_progress_mode(progress_mode);
  return Progress(m.ok() ? *m : ProgressMode::kAuto, err, err_fd);
}

int Session::fail(const Status& s) const {
  err << "omni: " << status_code_name(s.code()) << ": " << s.message() << "\n";
  return exit_code_for(s);
}

void Session::run(const std::function<int()>& body) {
  try {
    exit_code = body();
  } catch (const std::exception& e) {
    err << "omni: internal error: " << e.what() << "\n";
    exit_code = kExitSoftware;
  }
}

CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& summary,
                      const std::string& details, Access access) {
  std::string footer = details + "\n\n";
  switch (access) {
    case Access::kReadOnly:
      footer += "Opens the store read-only: safe while the service that owns it runs (it sees the log as "
                "of the moment it opened).\n\n";
      break;
    case Access::kWrites:
      footer += "Opens the store for writing: the process that owns it (the service) must be stopped "
                "first (exit 75 while it holds the store).\n\n";
      break;
    case Access::kNoStore:
      break;
  }
  CLI::App* sub = parent.add_subcommand(name, summary);
  sub->footer(footer + std::string(exit_code_help()));
  return sub;
}

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, int err_fd) {
  Session session{out, err, err_fd};
  CLI::App app("omni: recovery, audit, inspection and benchmarks for an Omni store.", "omni");
  app.set_version_flag("--version", "omni " OMNI_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // --progress may follow the subcommand
  app.footer(std::string(exit_code_help()));
  app.add_option("--progress", session.progress_mode,
                 "progress on stderr: auto (a live line on a terminal, JSON lines otherwise), tty, json, none")
      ->check(CLI::IsMember({"auto", "tty", "json", "none"}))
      ->capture_default_str();
  for (AddFamily add : kFamilies) add(app, session);

  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  if (argv.empty()) argv.push_back("omni");
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    err << "omni: usage: " << e.what() << "\n(run with --help for usage)\n";
    return kExitUsage;
  }
  return session.exit_code;
}

}  // namespace omni::tools
