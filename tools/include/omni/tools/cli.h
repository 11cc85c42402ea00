// The `omni` command line: `main()` is run_cli over argv. Tests call run_cli with
// their own streams and read the exit status (exit_codes.h).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace omni::tools {

// Parses args (args[0] is the program name) and runs the subcommand: data to
// `out`, errors and progress to `err` (`err_fd`: its descriptor, to tell whether it
// is a terminal for --progress=auto; -1: not one). Returns the exit status.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, int err_fd = -1);

}  // namespace omni::tools
