// Typed errors with stable ids, in the style of nlohmann/json's exceptions.
//
//   try {
//     auto model = synapse::Model::Load("model.pt");
//   } catch (const synapse::ModelError& e) {
//     std::cerr << e.what() << "\n";  // "[synapse.model.102] model.pt: not a TorchScript ..."
//   }
//
// Every message is one line: "[synapse.<kind>.<id>] <where>: <what is wrong>". The ids are
// listed in docs/errors.md; they never change meaning.
#ifndef SYNAPSE_ERROR_H_
#define SYNAPSE_ERROR_H_

#include <cstdint>
#include <stdexcept>
#include <string>

namespace synapse {

/// Base of every error Synapse throws on purpose.
class Error : public std::runtime_error {
 public:
  Error(std::string kind, int id, const std::string& message)
      : std::runtime_error("[synapse." + kind + "." + std::to_string(id) + "] " + OneLine(message)),
        kind_(std::move(kind)),
        id_(id),
        detail_(OneLine(message)) {}
  /// "model", "data", "spec", "usage" or "internal".
  const std::string& kind() const noexcept { return kind_; }
  /// The stable numeric id, e.g. 102 in "[synapse.model.102]".
  int id() const noexcept { return id_; }
  /// The message without its "[synapse.kind.id] " prefix, to re-throw with more context.
  const std::string& detail() const noexcept { return detail_; }

 private:
  std::string kind_;
  int id_;
  std::string detail_;

  // Control characters (a newline in a file name, a CSV cell, a SPEC) written as \n, \t,
  // \xNN, so the message stays one line whatever it quotes.
  static std::string OneLine(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
      const unsigned char u = static_cast<unsigned char>(c);
      if (u >= 0x20 && u != 0x7f) {
        out += c;
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else {
        const char* hex = "0123456789abcdef";
        out += "\\x";
        out += hex[u >> 4];
        out += hex[u & 15];
      }
    }
    return out;
  }
};

/// The model file cannot be loaded, introspected or run (ids 1xx).
class ModelError : public Error {
 public:
  ModelError(int id, const std::string& message) : Error("model", id, message) {}
};

/// Evaluation data or inputs are malformed (ids 2xx).
class DataError : public Error {
 public:
  /// `example`: the data-set index of the example at fault, when there is one.
  DataError(int id, const std::string& message, int64_t example = -1) : Error("data", id, message), example_(example) {}
  /// The data-set index of the example at fault (message "example N: ..."), or -1.
  int64_t example() const noexcept { return example_; }

 private:
  int64_t example_;
};

/// An intervention SPEC, or a request derived from one, is invalid (ids 3xx).
class SpecError : public Error {
 public:
  SpecError(int id, const std::string& message) : Error("spec", id, message) {}
};

/// A tokenizer file cannot be loaded or used (ids 5xx).
class TokenizerError : public Error {
 public:
  TokenizerError(int id, const std::string& message) : Error("tokenizer", id, message) {}
};

/// The command line is wrong (ids 4xx).
class UsageError : public Error {
 public:
  UsageError(int id, const std::string& message) : Error("usage", id, message) {}
};

}  // namespace synapse

#endif  // SYNAPSE_ERROR_H_
