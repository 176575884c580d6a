// A small declarative command-line parser for the synapse subcommands.
//
//   ArgParser p("synapse predict", "Run a model over pre-tokenized rows.");
//   std::string model;  p.Option("--model", "M", "TorchScript file", &model, /*required=*/true);
//   bool json = false;  p.Flag("--json", "print JSON", &json);
//   if (!p.Parse(argc, argv)) { std::cout << p.Help(); return 0; }   // --help
#ifndef SYNAPSE_SRC_CLI_ARGS_H_
#define SYNAPSE_SRC_CLI_ARGS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "synapse/intervention.h"

namespace synapse::cli {

class ArgParser {
 public:
  ArgParser(std::string command, std::string summary);

  void Flag(const std::string& name, const std::string& help, bool* out);
  void Option(const std::string& name, const std::string& metavar, const std::string& help, std::string* out,
              bool required = false);
  void Option(const std::string& name, const std::string& metavar, const std::string& help, int64_t* out);
  /// Repeatable; `alias` is a short form such as "-i".
  void Repeated(const std::string& name, const std::string& alias, const std::string& metavar, const std::string& help,
                std::vector<std::string>* out);
  void Positional(const std::string& metavar, const std::string& help, std::string* out);
  /// The remaining positional arguments, at least one (last, after any Positional).
  void Positionals(const std::string& metavar, const std::string& help, std::vector<std::string>* out);
  /// Free text appended to --help.
  void Epilog(std::string text) { epilog_ = std::move(text); }

  /// Parses argv[first..]; returns false when --help was asked for. Throws UsageError 401.
  bool Parse(int argc, char** argv, int first = 2);
  std::string Help() const;

 private:
  struct Spec {
    std::string name, alias, metavar, help;
    enum class Kind { kFlag, kString, kInt, kRepeated, kPositional, kPositionals } kind;
    void* out;
    bool required = false;
    bool seen = false;
  };
  Spec* Find(const std::string& name);
  std::string command_, summary_, epilog_;
  std::vector<Spec> specs_;
};

/// Parses "3,32,32" into {3, 32, 32}; throws UsageError 401 naming `option`.
std::vector<int64_t> ParseShape(const std::string& text, const std::string& option);
/// Parses "0,2,-1" into integers (any sign); throws UsageError 401 naming `option`.
std::vector<int64_t> ParseIntList(const std::string& text, const std::string& option);
/// Parses "0.1,0.25" into finite numbers; "" and "none" give an empty list. Throws
/// UsageError 401 naming `option`.
std::vector<double> ParseNumberList(const std::string& text, const std::string& option);
/// Parses one finite number; throws UsageError 401 naming `option`.
double ParseNumber(const std::string& text, const std::string& option);
/// --pool's value: first, last, or (where the command can pool by mean) mean.
Pooling ParsePooling(const std::string& text, bool allow_mean);

}  // namespace synapse::cli

#endif  // SYNAPSE_SRC_CLI_ARGS_H_
