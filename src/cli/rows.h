// The data flags every command shares, and LoadDataset with them (private to the CLI).
#ifndef SYNAPSE_SRC_CLI_ROWS_H_
#define SYNAPSE_SRC_CLI_ROWS_H_

#include <string>
#include <vector>

#include "synapse/dataset.h"
#include "synapse/error.h"
#include "synapse/model_directory.h"

namespace synapse::cli {

struct RowSource {
  std::string data;
  std::string tokenizer;  // empty: rows must be pre-tokenized or float
  std::string labels;     // empty: labels.json next to `model`, if there is one
  std::string model;
  int64_t max_length = 0;    // 0: the tokenizer's own
  bool lowercase = true;     // vocab.txt only
  bool needs_labels = true;  // label names must resolve (commands that score predictions)
  std::string text_column = "text", pair_column, label_column = "label";  // CSV/TSV
  bool skip_bad_rows = false;
  int64_t max_examples = 0;  // 0: all; else a stratified sample
  uint64_t seed = 0;         // of the sample
};

/// Declares the data options every command shares (--text-column, --skip-bad-rows, ...).
class ArgParser;
void AddDataOptions(ArgParser* parser, RowSource* source);

/// LoadDataset with the command's flags, printing what --skip-bad-rows skipped.
Dataset LoadRows(const RowSource& source);

/// OpenModelAndData (synapse/model_directory.h) on the command's model and rows, printing
/// what --skip-bad-rows skipped. `pad_id` ≥ 0 (--pad-id) overrides the tokenizer's.
OpenedModel OpenModelAndRows(const RowSource& source, const ModelOptions& model_options, int64_t pad_id);

/// Re-throws a DataError that names an example by its index in `rows` with the example's
/// file line instead ("FILE:LINE: ..."), or unchanged when it names none.
[[noreturn]] void RethrowWithLine(const DataError& e, const std::string& data_path, const std::vector<DataRow>& rows);

}  // namespace synapse::cli

#endif  // SYNAPSE_SRC_CLI_ROWS_H_
