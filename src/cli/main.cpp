// synapse: robustness analysis of Transformer classifiers from the command line.
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

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
  try {
    if (command == "analyze") return synapse::cli::AnalyzeCommand(argc, argv);
    if (command == "gate") return synapse::cli::GateCommand(argc, argv);
    if (command == "compare") return synapse::cli::CompareCommand(argc, argv);
    if (command == "inspect") return synapse::cli::InspectCommand(argc, argv);
    if (command == "merge") return synapse::cli::MergeCommand(argc, argv);
    if (command == "predict") return synapse::cli::PredictCommand(argc, argv);
    if (command == "tokenize") return synapse::cli::TokenizeCommand(argc, argv);
    if (command == "train") return synapse::cli::TrainCommand(argc, argv);
    if (command == "help" || command == "--help" || command == "-h") {
      std::cout << kUsage;
      return 0;
    }
    throw synapse::UsageError(402, "unknown command \"" + command + "\" (commands: analyze, inspect, predict, tokenize, train, help)");
  } catch (const synapse::Error& e) {
    std::cerr << "synapse: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "synapse: internal error: " << e.what() << "\n";
    return 3;
  }
}
