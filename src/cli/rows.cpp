#include "rows.h"

#include <sys/stat.h>

#include <iostream>

#include "args.h"
#include "synapse/error.h"
#include "synapse/tokenizer.h"

namespace synapse::cli {

LoadedRows LoadRows(const RowSource& source) {
  LoadedRows out;
  ReadResult read = ReadRows(source.data, source.read);
  out.skipped = read.skipped;
  if (read.skipped > 0) {
    std::cerr << "synapse: skipped " << read.skipped << " malformed row(s) of " << source.data
              << " (--skip-bad-rows); first: " << read.first_skipped << "\n";
  }
  out.rows = std::move(read.rows);
  if (HasTextRows(out.rows)) {
    if (source.tokenizer.empty()) {
      throw UsageError(401, source.data + " has text rows: give the model's tokenizer with --tokenizer "
                                          "(tokenizer.json or vocab.txt)");
    }
  }
  if (!source.tokenizer.empty()) {
    auto tokenizer = Tokenizer::Load(source.tokenizer,
                                     TokenizerOptions().max_length(source.max_length).lowercase(source.lowercase));
    TokenizeRows(source.data, *tokenizer, &out.rows, source.read.skip_bad_rows() ? &out.skipped : nullptr);
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
    ResolveLabels(source.data, out.label_names, &out.rows, source.read.skip_bad_rows() ? &out.skipped : nullptr);
  } else if (source.needs_labels) {
    for (const DataRow& r : out.rows) {
      if (!r.label_json.empty() && r.label_index < 0) {
        throw UsageError(401, source.data + ":" + std::to_string(r.line) + ": label " + r.label_json +
                                  " is a name; give the class names with --labels labels.json");
      }
    }
  }
  if (out.skipped > read.skipped) {
    std::cerr << "synapse: skipped " << out.skipped - read.skipped
              << " more row(s) with unknown labels or untokenizable text (--skip-bad-rows)\n";
  }
  if (out.rows.empty()) throw DataError(205, source.data + ": no rows left after skipping bad ones");
  out.total = static_cast<int64_t>(out.rows.size());
  // Sample after labels are resolved, so that strata are classes, not label spellings.
  out.rows = SampleStratified(std::move(out.rows), source.max_examples, source.seed);
  return out;
}

void RethrowWithLine(const DataError& e, const std::string& data_path, const std::vector<DataRow>& rows) {
  if (e.example() < 0 || e.example() >= static_cast<int64_t>(rows.size())) throw e;
  // The message starts "example N: ..."; keep what follows the first colon.
  const std::string& what = e.detail();
  const size_t colon = what.find(':');
  throw DataError(e.id(),
                  data_path + ":" + std::to_string(rows[static_cast<size_t>(e.example())].line) +
                      (colon == std::string::npos ? ": " + what : what.substr(colon)),
                  e.example());
}

void AddDataOptions(ArgParser* p, RowSource* source, std::string* text_column, std::string* pair_column,
                    std::string* label_column, bool* skip_bad_rows) {
  p->Option("--text-column", "NAME", "CSV/TSV: column with the text (default text)", text_column);
  p->Option("--text-pair-column", "NAME", "CSV/TSV: column with the second text of a pair", pair_column);
  p->Option("--label-column", "NAME", "CSV/TSV: column with the label (default label)", label_column);
  p->Option("--max-examples", "N", "a stratified sample of N rows (seeded by --seed)", &source->max_examples);
  p->Flag("--skip-bad-rows", "skip malformed rows (they are counted and reported) instead of stopping", skip_bad_rows);
}

std::string DescribeClasses(const LoadedRows& loaded) {
  std::map<int64_t, int64_t> by_index;
  int64_t unlabelled = 0;
  for (const DataRow& r : loaded.rows) {
    if (r.label_index >= 0) ++by_index[r.label_index];
    else ++unlabelled;
  }
  std::string out;
  for (const auto& [index, count] : by_index) {
    std::string name = index < static_cast<int64_t>(loaded.label_names.size()) ? loaded.label_names[index]
                                                                               : std::to_string(index);
    out += (out.empty() ? "" : ", ") + name + ": " + std::to_string(count);
  }
  if (unlabelled) out += (out.empty() ? "" : ", ") + std::string("unlabelled: ") + std::to_string(unlabelled);
  return out;
}

}  // namespace synapse::cli
