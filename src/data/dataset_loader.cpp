// LoadDataset: the one composition of reading, tokenizing, labelling and sampling rows.

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "data/model_files.h"
#include "synapse/dataset.h"
#include "synapse/error.h"
#include "synapse/tokenizer.h"

namespace synapse {
namespace {

std::string Where(const std::string& path, const DataRow& row) { return path + ":" + std::to_string(row.line); }

// The sorted distinct name labels; a row labelled by an integer among them is an error.
std::vector<std::string> NamesFromRows(const Dataset& d, const std::string& hint) {
  std::set<std::string> names;
  for (const DataRow& r : d.rows) {
    if (r.label_json.empty()) continue;
    const nlohmann::json label = nlohmann::json::parse(r.label_json);
    if (!label.is_string()) {
      throw DataError(214, Where(d.path, r) + ": label " + r.label_json +
                               " is a class id, so the names cannot come from the rows; give the class names with " +
                               hint);
    }
    names.insert(label.get<std::string>());
  }
  return {names.begin(), names.end()};
}

}  // namespace

std::vector<Example> Dataset::examples() const {
  std::vector<Example> out;
  out.reserve(rows.size());
  for (const DataRow& r : rows) out.push_back(r.example);
  return out;
}

std::vector<int64_t> Dataset::labels() const {
  std::vector<int64_t> out;
  out.reserve(rows.size());
  for (const DataRow& r : rows) out.push_back(r.label_index);
  return out;
}

std::string Dataset::DescribeClasses() const {
  std::map<int64_t, int64_t> by_index;
  int64_t unlabelled = 0;
  for (const DataRow& r : rows) {
    if (r.label_index >= 0) {
      ++by_index[r.label_index];
    } else {
      ++unlabelled;
    }
  }
  std::string out;
  for (const auto& [index, count] : by_index) {
    const std::string name =
        index < static_cast<int64_t>(class_names.size()) ? class_names[index] : std::to_string(index);
    out += (out.empty() ? "" : ", ") + name + ": " + std::to_string(count);
  }
  if (unlabelled) out += (out.empty() ? "" : ", ") + std::string("unlabelled: ") + std::to_string(unlabelled);
  return out;
}

Dataset LoadDataset(const DatasetSpec& spec) {
  Dataset d;
  d.path = spec.data();
  const bool skip = spec.read().skip_bad_rows();
  ReadResult read = ReadRows(spec.data(), spec.read());
  d.rows = std::move(read.rows);
  d.skipped = read.skipped;
  d.skipped_malformed = read.skipped;
  d.first_skipped = read.first_skipped;
  int64_t* skipped = skip ? &d.skipped : nullptr;

  if (spec.keep_text()) {
    for (const DataRow& r : d.rows) {
      if (!r.text) throw DataError(203, Where(d.path, r) + ": no \"text\" (the rows must be raw text)");
    }
  } else if (!spec.tokenizer().empty()) {
    auto tokenizer =
        Tokenizer::Load(spec.tokenizer(), TokenizerOptions().max_length(spec.max_length()).lowercase(spec.lowercase()));
    TokenizeRows(d.path, *tokenizer, &d.rows, skipped);
    d.pad_id = tokenizer->pad_id();
  } else if (HasTextRows(d.rows)) {
    throw DataError(213, d.path + " has text rows: give the model's tokenizer with " + spec.tokenizer_hint() +
                             " (tokenizer.json or vocab.txt)");
  }

  if (spec.label_use() == LabelUse::kRequired) {
    for (const DataRow& r : d.rows) {
      if (r.label_json.empty()) throw DataError(203, Where(d.path, r) + ": the row has no label");
    }
  }
  d.class_names = spec.class_names();
  if (d.class_names.empty()) {
    d.labels_path = spec.labels().empty() ? FileBesideModel(spec.model(), "labels.json") : spec.labels();
    if (!d.labels_path.empty()) {
      d.class_names = LoadLabelNames(d.labels_path);
    } else if (spec.class_names_from_rows()) {
      d.class_names = NamesFromRows(d, spec.labels_hint());
    }
  }
  if (!d.class_names.empty()) {
    ResolveLabels(d.path, d.class_names, &d.rows, skipped);
  } else if (spec.label_use() != LabelUse::kOptional) {
    for (const DataRow& r : d.rows) {
      if (!r.label_json.empty() && r.label_index < 0) {
        throw DataError(214, Where(d.path, r) + ": label " + r.label_json + " is a name; give the class names with " +
                                 spec.labels_hint());
      }
    }
  }
  if (d.rows.empty()) {
    throw DataError(205, d.path + (d.skipped > 0 ? ": no rows left after skipping bad ones" : ": no rows"));
  }
  d.total = static_cast<int64_t>(d.rows.size());
  // Sample after labels are resolved, so that strata are classes, not label spellings.
  d.rows = SampleStratified(std::move(d.rows), spec.max_examples(), spec.seed());
  return d;
}

}  // namespace synapse
