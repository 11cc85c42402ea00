#include "omni/tools/exit_codes.h"

namespace omni::tools {

int exit_code_for(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kInvalidArgument: return kExitUsage;
    case StatusCode::kCorruption: return kExitDataErr;
    case StatusCode::kNotFound: return kExitNoInput;
    case StatusCode::kBackend:
    case StatusCode::kUnavailable: return kExitUnavailable;
    case StatusCode::kIOError: return kExitIOErr;
    case StatusCode::kConflict:
    case StatusCode::kTimedOut: return kExitTempFail;
    case StatusCode::kInternal: return kExitSoftware;
  }
  return kExitSoftware;
}

std::string_view exit_code_help() {
  return "Exit status (sysexits):\n"
         "  0   ok\n"
         "  64  usage: bad arguments\n"
         "  65  bad data: the log or the export is damaged or was tampered with\n"
         "  66  no such store or file\n"
         "  69  a backend is unavailable\n"
         "  70  internal error (a bug in omni; please report it)\n"
         "  74  I/O error\n"
         "  75  temporary failure: the store is busy (held by another process) or timed out\n";
}

}  // namespace omni::tools
