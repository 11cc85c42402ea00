// The `omni` command's exit status: sysexits(3), so scripts can tell a damaged
// log from a usage mistake or a disk that failed.
#pragma once

#include <string_view>

#include "omni/status.h"

namespace omni::tools {

enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 64,        // EX_USAGE: bad arguments
  kExitDataErr = 65,      // EX_DATAERR: corrupt or tampered data; a verify failed
  kExitNoInput = 66,      // EX_NOINPUT: no such store or file
  kExitUnavailable = 69,  // EX_UNAVAILABLE: a backend is unavailable
  kExitSoftware = 70,     // EX_SOFTWARE: a bug in omni (please report it)
  kExitIOErr = 74,        // EX_IOERR: reading or writing failed
  kExitTempFail = 75,     // EX_TEMPFAIL: try again later (the store is busy, locked or timed out)
};

// kInvalidArgument 64, kCorruption 65, kNotFound 66, kBackend/kUnavailable 69,
// kInternal 70, kIOError 74, kConflict/kTimedOut 75.
int exit_code_for(const Status& s);

// The table every --help ends with.
std::string_view exit_code_help();

}  // namespace omni::tools
