// The synapse subcommands: each parses its arguments, calls the library, prints, and
// returns an exit code (0 ok, 1 a robustness assertion failed, 2 bad input or usage,
// 3 internal error). Errors are thrown as synapse::Error and mapped in main.cpp.
#ifndef SYNAPSE_SRC_CLI_COMMANDS_H_
#define SYNAPSE_SRC_CLI_COMMANDS_H_

#include <cstdint>

#include "synapse/runtime.h"

namespace synapse::cli {

int AnalyzeCommand(int argc, char** argv);
int CompareCommand(int argc, char** argv);
int GateCommand(int argc, char** argv);
int InspectCommand(int argc, char** argv);
int MergeCommand(int argc, char** argv);
int PredictCommand(int argc, char** argv);
int TokenizeCommand(int argc, char** argv);
int TrainCommand(int argc, char** argv);

/// Sets the thread count (0 = all cores), detects the BLAS and prints its warning.
RuntimeInfo SetUpRuntime(int64_t threads);

}  // namespace synapse::cli

#endif  // SYNAPSE_SRC_CLI_COMMANDS_H_
