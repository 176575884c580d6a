// The embedded default model (models/spam-tiny) and model directories (private to the CLI).
//
// A model directory holds model.pt and, optionally, tokenizer.json, labels.json and
// eval.jsonl, as `synapse train` writes them. `--model DIR` reads one; no --model at all
// reads the embedded default, looked for next to the installed binary
// (BINDIR/../share/synapse/models/spam-tiny) and then in the source tree it was built from.
#ifndef SYNAPSE_SRC_CLI_DEFAULT_MODEL_H_
#define SYNAPSE_SRC_CLI_DEFAULT_MODEL_H_

#include <string>

namespace synapse::cli {

/// The embedded default model's directory. Throws UsageError 401 naming the places looked
/// in when it is in none of them.
std::string DefaultModelDirectory();

/// Fills in what the user left out: an empty `*model` becomes the default directory; a
/// directory becomes DIR/model.pt, and an empty `*tokenizer` or `*data` (when `data` is
/// not null) becomes DIR/tokenizer.json or DIR/eval.jsonl where that file exists. For a
/// model file, an empty `*tokenizer` becomes the tokenizer.json beside it, if any. Returns
/// the directory used, or "" when `*model` was a file.
std::string ResolveModelDirectory(std::string* model, std::string* tokenizer, std::string* data);

}  // namespace synapse::cli

#endif  // SYNAPSE_SRC_CLI_DEFAULT_MODEL_H_
