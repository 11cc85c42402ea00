// How a subcommand family plugs into the `omni` command: one file per family
// (replay_command.cc, audit_command.cc, …) defines an add_*_commands() that adds
// its subcommands to the root and sets their callbacks, and kFamilies in cli.cc
// lists it (a subcommand joining an existing family, as `replay sink` and
// `bench sink`, is a file whose add_* finds the family with get_subcommand and is
// listed after it). A new family is one such file, one line there and one in
// CMakeLists.txt; one that needs backends reads them from --config with
// load_config() and make_backend() (omni/tools/config.h).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <ostream>

#include "omni/status.h"
#include "omni/tools/exit_codes.h"
#include "omni/tools/progress.h"

namespace omni::tools {

// What every subcommand runs with. Lives for one run_cli call.
struct Session {
  std::ostream& out;  // data
  std::ostream& err;  // errors, logs, progress
  int err_fd = -1;
  std::string progress_mode = "auto";  // --progress (checked by CLI11)
  int exit_code = kExitOk;

  Progress progress() const;
  // Prints "omni: <message>" to err and returns the exit status for s.
  int fail(const Status& s) const;
  // Runs a subcommand's body, keeping its exit status (an exception that escapes
  // it is a bug: 70).
  void run(const std::function<int()>& body);
};

// A leaf subcommand: `summary` is its line in the parent's list; its own --help
// also shows `details`, how it opens the store, and the exit codes.
enum class Access { kReadOnly, kWrites, kNoStore };
CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& summary,
                      const std::string& details, Access access);

void add_replay_commands(CLI::App& root, Session& s);
void add_audit_commands(CLI::App& root, Session& s);
void add_inspect_command(CLI::App& root, Session& s);
void add_bench_commands(CLI::App& root, Session& s);
void add_dead_letters_commands(CLI::App& root, Session& s);
// Adds `sink` to the `bench` family (after add_bench_commands).
void add_bench_sink_command(CLI::App& root, Session& s);
// Adds `sink` to the `replay` family (after add_replay_commands).
void add_replay_sink_command(CLI::App& root, Session& s);
void add_health_command(CLI::App& root, Session& s);

}  // namespace omni::tools
