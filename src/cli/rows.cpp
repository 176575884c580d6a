#include "rows.h"

#include <iostream>

#include "args.h"
#include "synapse/error.h"
#include "synapse/tokenizer.h"

namespace synapse::cli {

DatasetSpec SpecFor(const RowSource& source) {
  return DatasetSpec()
      .data(source.data)
      .read(ReadOptions()
                .text_column(source.text_column)
                .text_pair_column(source.pair_column)
                .label_column(source.label_column)
                .skip_bad_rows(source.skip_bad_rows))
      .tokenizer(source.tokenizer)
      .max_length(source.max_length)
      .lowercase(source.lowercase)
      .labels(source.labels)
      .model(source.model)
      .label_use(source.needs_labels ? LabelUse::kResolved : LabelUse::kOptional)
      .max_examples(source.max_examples)
      .seed(source.seed);
}

void ReportSkipped(const Dataset& d, const RowSource& source) {
  if (d.skipped_malformed > 0) {
    std::cerr << "synapse: skipped " << d.skipped_malformed << " malformed row(s) of " << source.data
              << " (--skip-bad-rows); first: " << d.first_skipped << "\n";
  }
  if (d.skipped > d.skipped_malformed) {
    std::cerr << "synapse: skipped " << d.skipped - d.skipped_malformed
              << " more row(s) with unknown labels or untokenizable text (--skip-bad-rows)\n";
  }
}

Dataset LoadRows(const RowSource& source) {
  Dataset d = LoadDataset(SpecFor(source));
  ReportSkipped(d, source);
  return d;
}

OpenedModel OpenModelAndRows(const RowSource& source, const ModelOptions& model_options, int64_t pad_id) {
  OpenedModel opened = OpenModelAndData(source.model, SpecFor(source), model_options, pad_id);
  ReportSkipped(opened.data, source);
  return opened;
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

void AddDataOptions(ArgParser* p, RowSource* source) {
  p->Option("--text-column", "NAME", "CSV/TSV: column with the text (default text)", &source->text_column);
  p->Option("--text-pair-column", "NAME", "CSV/TSV: column with the second text of a pair", &source->pair_column);
  p->Option("--label-column", "NAME", "CSV/TSV: column with the label (default label)", &source->label_column);
  p->Option("--max-examples", "N", "a stratified sample of N rows (seeded by --seed)", &source->max_examples);
  p->Flag("--skip-bad-rows", "skip malformed rows (they are counted and reported) instead of stopping",
          &source->skip_bad_rows);
}

}  // namespace synapse::cli
