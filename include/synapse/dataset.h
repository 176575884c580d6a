// Reading evaluation rows. For now: pre-tokenized or float-feature JSONL.
//
//   auto rows = synapse::ReadJsonlRows("eval.jsonl");
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

namespace synapse {

struct DataRow {
  /// 1-based line of the row in its file.
  int64_t line = 0;
  Example example;
  /// The row's "label" as JSON text ("\"spam\"", "2"); empty when the row has none.
  std::string label_json;
  /// The label when it is an integer; -1 otherwise.
  int64_t label_index = -1;
};

/// Reads JSONL rows with "input_ids" (and optional "attention_mask", "token_type_ids") or
/// "features"/"pixel_values" (numbers, possibly nested lists), and an optional "label".
/// Blank lines are skipped. Throws DataError: 201 unreadable, 202 malformed JSON,
/// 203 a missing or mistyped field, 205 no rows — each "FILE:LINE: what is wrong".
std::vector<DataRow> ReadJsonlRows(const std::string& path);

}  // namespace synapse

#endif  // SYNAPSE_DATASET_H_
