// Reading evaluation rows from JSONL: text, pre-tokenized, or float features.
//
//   auto rows = synapse::ReadJsonlRows("eval.jsonl");
//   // {"text": "Win a FREE cruise", "label": "spam"}      (and "text_pair" for pairs)
//   // {"input_ids": [2, 17, 42], "attention_mask": [1, 1, 1], "label": 1}
//   // {"features": [[0.1, 0.2], [0.3, 0.4]], "label": "spam"}
//   std::vector<synapse::Example> batch;
//   for (const auto& row : rows) batch.push_back(row.example);
#ifndef SYNAPSE_DATASET_H_
#define SYNAPSE_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "synapse/example.h"
#include "synapse/options.h"

#include <map>
#include <optional>

namespace synapse {

struct DataRow {
  /// 1-based line of the row in its file.
  int64_t line = 0;
  Example example;
  /// The row's "label" as JSON text ("\"spam\"", "2"); empty when the row has none.
  std::string label_json;
  /// The label when it is an integer, or once ResolveLabels mapped its name; -1 otherwise.
  int64_t label_index = -1;
  /// The row's "text" (and "text_pair"), for a tokenizer to turn into `example`.
  std::optional<std::string> text;
  std::optional<std::string> text_pair;
};

/// How ReadRows reads a file.
struct ReadOptions {
  /// CSV/TSV: the column holding the text.
  SYNAPSE_ARG(std::string, text_column) = "text";
  /// CSV/TSV: the column holding the second text of a pair; empty: none.
  SYNAPSE_ARG(std::string, text_pair_column);
  /// CSV/TSV: the column holding the label; a missing column means unlabelled rows.
  SYNAPSE_ARG(std::string, label_column) = "label";
  /// Skip malformed rows (counted in ReadResult) instead of failing on the first.
  SYNAPSE_ARG(bool, skip_bad_rows) = false;
};

struct ReadResult {
  std::vector<DataRow> rows;
  /// Rows skipped under skip_bad_rows, and the first reason, "FILE:LINE: ...".
  int64_t skipped = 0;
  std::string first_skipped;
};

/// Reads `path` by its extension: .csv (comma), .tsv (tab) with a header row and RFC 4180
/// quoting (quoted fields may hold separators, "" and newlines), anything else as JSONL.
/// Errors as ReadJsonlRows; CSV adds 202 for an unterminated quote and 203 for a wrong
/// number of fields or a missing text column.
ReadResult ReadRows(const std::string& path, const ReadOptions& options = ReadOptions());

/// At most `n` rows, sampled per class (label_index, else the label's text) in proportion
/// to the class sizes (largest remainder), seeded; the chosen rows keep their file order.
/// n ≤ 0 keeps every row.
std::vector<DataRow> SampleStratified(std::vector<DataRow> rows, int64_t n, uint64_t seed);

/// Rows per label (the label's JSON text; "(none)" for unlabelled rows).
std::map<std::string, int64_t> CountLabels(const std::vector<DataRow>& rows);

class Tokenizer;

/// Encodes every text row's text into its example. Throws DataError 203 when a row has
/// neither text nor tokens, or TokenizerError naming the row.
/// With `skipped` non-null, rows that cannot be tokenized are dropped and counted instead.
void TokenizeRows(const std::string& path, const Tokenizer& tokenizer, std::vector<DataRow>* rows,
                  int64_t* skipped = nullptr);

/// True when some row has text and needs a tokenizer.
bool HasTextRows(const std::vector<DataRow>& rows);

/// Class names, index = class id, from a labels file: a JSON list ["ham", "spam"] or a
/// Hugging Face config with {"id2label": {"0": "ham", ...}}. Throws DataError 201/202/203.
std::vector<std::string> LoadLabelNames(const std::string& path);

/// Sets every row's label_index: names through `names`, integers checked against its
/// size. Throws DataError 204 "FILE:LINE: label "spma" is not one of ham, spam".
/// With `skipped` non-null, rows with unknown labels are dropped and counted instead.
void ResolveLabels(const std::string& path, const std::vector<std::string>& names, std::vector<DataRow>* rows,
                   int64_t* skipped = nullptr);

/// Reads JSONL rows with "text" (and optional "text_pair"), "input_ids" (and optional
/// "attention_mask", "token_type_ids") or "features"/"pixel_values" (numbers, possibly
/// nested lists), and an optional "label".
/// Blank lines are skipped. Throws DataError: 201 unreadable, 202 malformed JSON,
/// 203 a missing or mistyped field, 205 no rows — each "FILE:LINE: what is wrong".
std::vector<DataRow> ReadJsonlRows(const std::string& path);

}  // namespace synapse

#endif  // SYNAPSE_DATASET_H_
