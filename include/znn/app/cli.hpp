#pragma once
/// @file
/// @brief The `znn` command line: subcommands, the top-level error policy and exit codes.
///
/// Exit codes: 0 success; 1 runtime failure (I/O, MPI, numeric, internal); 2 usage or input error.
/// Error policy under MPI: an error every rank sees (ErrorScope::AllRanks) is printed once by rank 0
/// and all ranks exit together with its code; any other error is printed with its rank and aborts
/// every rank (MPI_Abort), so no failure can leave the job hanging.

#include <string>

#include "znn/core/error.hpp"
#include "znn/dist/comm.hpp"

namespace znn::app {

/// Reports `e` by the policy above and returns the exit code, or aborts every rank for a local error
/// (ErrorScope::ThisRank) when more than one rank runs. `command` names the subcommand for usage hints.
int report_error(const core::Error& e, const dist::Comm& comm, const std::string& command);

/// Runs the `znn` program: initialises MPI, dispatches to the subcommand named in argv[1] and turns
/// errors into messages and exit codes. This is the whole of main().
int run(int argc, char** argv);

}  // namespace znn::app
