#include "rows.h"

#include <sys/stat.h>

#include "synapse/error.h"
#include "synapse/tokenizer.h"

namespace synapse::cli {

LoadedRows LoadRows(const RowSource& source) {
  LoadedRows out;
  out.rows = ReadJsonlRows(source.data);
  if (HasTextRows(out.rows)) {
    if (source.tokenizer.empty()) {
      throw UsageError(401, source.data + " has text rows: give the model's tokenizer with --tokenizer "
                                          "(tokenizer.json or vocab.txt)");
    }
  }
  if (!source.tokenizer.empty()) {
    auto tokenizer = Tokenizer::Load(source.tokenizer,
                                     TokenizerOptions().max_length(source.max_length).lowercase(source.lowercase));
    TokenizeRows(source.data, *tokenizer, &out.rows);
    out.pad_id = tokenizer->pad_id();
  }
  out.labels_path = source.labels;
  if (out.labels_path.empty() && !source.model.empty()) {
    size_t slash = source.model.rfind('/');
    std::string beside = (slash == std::string::npos ? std::string() : source.model.substr(0, slash + 1)) + "labels.json";
    struct stat st {};
    if (stat(beside.c_str(), &st) == 0) out.labels_path = beside;
  }
  if (!out.labels_path.empty()) {
    out.label_names = LoadLabelNames(out.labels_path);
    ResolveLabels(source.data, out.label_names, &out.rows);
  } else if (source.needs_labels) {
    for (const DataRow& r : out.rows) {
      if (!r.label_json.empty() && r.label_index < 0) {
        throw UsageError(401, source.data + ":" + std::to_string(r.line) + ": label " + r.label_json +
                                  " is a name; give the class names with --labels labels.json");
      }
    }
  }
  return out;
}

}  // namespace synapse::cli
