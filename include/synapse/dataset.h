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
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "synapse/example.h"
#include "synapse/options.h"

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

/// How LoadDataset treats labels.
enum class LabelUse {
  kOptional,  ///< rows may be unlabelled and name labels may stay unresolved (tokenize, predict)
  kResolved,  ///< rows may be unlabelled; every label present must be a class (analyze)
  kRequired,  ///< every row has a label that is a class (robustness tests, training)
};

/// Where a labelled set of rows comes from and how LoadDataset turns them into examples:
/// the one composition of reading, tokenizing, labelling and sampling that the CLI, the
/// robustness-test fixture, the gate and `synapse train` share.
///
///   synapse::Dataset eval = synapse::LoadDataset(synapse::DatasetSpec()
///       .data("eval.jsonl").tokenizer("tokenizer.json").model("model.pt"));
struct DatasetSpec {
  /// The file: .csv, .tsv or JSONL (ReadRows).
  SYNAPSE_ARG(std::string, data);
  SYNAPSE_ARG(ReadOptions, read);
  /// tokenizer.json or vocab.txt; empty: rows must be pre-tokenized or features, unless
  /// keep_text is set.
  SYNAPSE_ARG(std::string, tokenizer);
  /// 0: the tokenizer's own maximum length.
  SYNAPSE_ARG(int64_t, max_length) = 0;
  /// vocab.txt only: lowercase the text.
  SYNAPSE_ARG(bool, lowercase) = true;
  /// Text rows stay untokenized (the caller tokenizes later, e.g. with a tokenizer it trains);
  /// every row must then have text.
  SYNAPSE_ARG(bool, keep_text) = false;
  /// The class names, index = class id, given directly; they win over `labels`.
  SYNAPSE_ARG(std::vector<std::string>, class_names);
  /// A labels file (LoadLabelNames); empty: labels.json beside `model`, if there is one.
  SYNAPSE_ARG(std::string, labels);
  /// The model file whose directory may hold labels.json; empty: none.
  SYNAPSE_ARG(std::string, model);
  /// Name labels become the sorted distinct names when there are no class names otherwise
  /// (training from a file of "spam"/"ham" labels).
  SYNAPSE_ARG(bool, class_names_from_rows) = false;
  SYNAPSE_ARG(LabelUse, label_use) = LabelUse::kResolved;
  /// At most this many rows, a stratified sample (SampleStratified) seeded by `seed`; 0: all.
  SYNAPSE_ARG(int64_t, max_examples) = 0;
  SYNAPSE_ARG(uint64_t, seed) = 0;
  /// How the caller's user names a tokenizer and class names, for the error messages
  /// ("--tokenizer", "Config().tokenizer(PATH), SYNAPSE_TOKENIZER or --synapse_tokenizer").
  SYNAPSE_ARG(std::string, tokenizer_hint) = "--tokenizer";
  SYNAPSE_ARG(std::string, labels_hint) = "--labels labels.json";
};

/// Rows read, tokenized, labelled and sampled by LoadDataset.
struct Dataset {
  std::string path;
  std::vector<DataRow> rows;
  /// Index = class id; empty when no names were given, found or derived.
  std::vector<std::string> class_names;
  /// The labels file used (given, or found beside the model); empty: none.
  std::string labels_path;
  /// The tokenizer's pad id; 0 without a tokenizer.
  int64_t pad_id = 0;
  /// Rows skipped under read().skip_bad_rows() (malformed, unknown label, untokenizable),
  /// and the first reason.
  int64_t skipped = 0;
  std::string first_skipped;
  /// Of `skipped`, the rows ReadRows found malformed.
  int64_t skipped_malformed = 0;
  /// Usable rows before max_examples sampling.
  int64_t total = 0;

  std::vector<Example> examples() const;
  /// Each row's class id (-1 where unlabelled).
  std::vector<int64_t> labels() const;
  /// "ham: 412, spam: 380" (class ids where there are no names; "unlabelled: N").
  std::string DescribeClasses() const;
};

/// Reads `spec.data()`, tokenizes text rows, maps labels to class ids and samples.
/// Throws DataError: those of ReadRows, TokenizeRows and ResolveLabels; 203 a row without a
/// label (kRequired) or without text (keep_text); 205 no rows left after skipping;
/// 213 text rows and no tokenizer; 214 name labels and no class names. Every message
/// names the file (and line), and 213/214 say how to give what is missing (the hints).
Dataset LoadDataset(const DatasetSpec& spec);

/// Reads JSONL rows with "text" (and optional "text_pair"), "input_ids" (and optional
/// "attention_mask", "token_type_ids") or "features"/"pixel_values" (numbers, possibly
/// nested lists), and an optional "label".
/// Blank lines are skipped. Throws DataError: 201 unreadable, 202 malformed JSON,
/// 203 a missing or mistyped field, 205 no rows — each "FILE:LINE: what is wrong".
std::vector<DataRow> ReadJsonlRows(const std::string& path);

}  // namespace synapse

#endif  // SYNAPSE_DATASET_H_
