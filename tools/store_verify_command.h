// The store walk shared by `omni replay verify` and `omni audit verify --db`.
#pragma once

#include <string>

#include "command.h"

namespace omni::tools {

struct StoreVerifyArgs {
  std::string db;
  std::string anchor;
  bool json = false;
};

// Adds --anchor and --json.
void add_store_verify_options(CLI::App* cmd, StoreVerifyArgs& a);
// Runs verify_store and prints its report; 0, or 65 when the log has a problem.
int run_store_verify(Session& s, const StoreVerifyArgs& a);

}  // namespace omni::tools
