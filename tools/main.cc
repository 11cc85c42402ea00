// The `omni` command: everything is in the omni_tools library (run_cli).
#include <unistd.h>

#include <iostream>

#include "omni/tools/cli.h"
#include "omni/tools/store.h"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  omni::tools::raise_open_file_limit();
  const int code = omni::tools::run_cli(std::vector<std::string>(argv, argv + argc), std::cout, std::cerr, STDERR_FILENO);
  std::cout.flush();
  return code;
}
