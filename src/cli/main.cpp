// synapse: robustness analysis of Transformer classifiers from the command line.
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "commands.h"
#include "synapse/error.h"

namespace {

constexpr const char* kUsage =
    "usage: synapse COMMAND [options]\n"
    "\n"
    "Robustness unit tests for Transformer classifiers (TorchScript models).\n"
    "\n"
    "commands:\n"
    "  analyze            the SYNAPSE analysis: probes, rankings, ablations, flip budgets\n"
    "  compare A B        robustness regressions between two reports (exit 1 on one)\n"
    "  gate               check a model against a robustness spec (exit 1 when it fails)\n"
    "  inspect MODEL      inputs, output, discovered layers, classes and parameters\n"
    "  merge PATH...      join the reports of several processes, shards or jobs\n"
    "  predict            run a model over rows, optionally with interventions\n"
    "  tokenize           token ids exactly as Hugging Face tokenizers would produce them\n"
    "  train              train a tokenizer and a BERT-style classifier from labelled text\n"
    "  help               this text\n"
    "\n"
    "Run `synapse COMMAND --help` for a command's options.\n"
    "Exit codes: 0 ok, 1 a robustness assertion failed, 2 bad input or usage, 3 internal error.\n";

}  // namespace

namespace synapse::cli {

RuntimeInfo SetUpRuntime(int64_t threads) {
  // SYNAPSE_MALLOC_DEFAULTS=1 keeps glibc's own settings (bench/allocator.sh compares).
  const char* defaults = std::getenv("SYNAPSE_MALLOC_DEFAULTS");
  if (defaults == nullptr || std::string(defaults) != "1") KeepFreedMemory();
  SetThreads(threads > 0 ? static_cast<int>(threads) : DefaultThreads());
  RuntimeInfo info = DescribeRuntime();
  if (!info.fast_blas) std::cerr << info.Warning() << "\n";
  return info;
}

}  // namespace synapse::cli

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string command = argv[1];
  // One table for dispatch and for the unknown-command message, so neither can leave a
  // command out.
  using Command = int (*)(int, char**);
  static const std::vector<std::pair<std::string, Command>> kCommands = {
      {"analyze", synapse::cli::AnalyzeCommand},   {"compare", synapse::cli::CompareCommand},
      {"gate", synapse::cli::GateCommand},         {"inspect", synapse::cli::InspectCommand},
      {"merge", synapse::cli::MergeCommand},       {"predict", synapse::cli::PredictCommand},
      {"tokenize", synapse::cli::TokenizeCommand}, {"train", synapse::cli::TrainCommand},
  };
  try {
    for (const auto& [name, run] : kCommands) {
      if (command == name) return run(argc, argv);
    }
    if (command == "help" || command == "--help" || command == "-h") {
      std::cout << kUsage;
      return 0;
    }
    std::string names;
    for (const auto& entry : kCommands) names += entry.first + ", ";
    throw synapse::UsageError(402, "unknown command \"" + command + "\" (commands: " + names + "help)");
  } catch (const synapse::Error& e) {
    std::cerr << "synapse: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "synapse: internal error: " << e.what() << "\n";
    return 3;
  }
}
