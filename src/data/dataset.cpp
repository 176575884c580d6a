#include "synapse/dataset.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "util/json_error_text.h"
#include "synapse/error.h"
#include "synapse/tokenizer.h"

namespace synapse {
namespace {

using nlohmann::json;

std::vector<int64_t> IntArray(const json& row, const char* field, const std::string& where) {
  const json& v = row.at(field);
  if (!v.is_array()) throw DataError(203, where + ": \"" + field + "\" must be an array of integers");
  std::vector<int64_t> out;
  out.reserve(v.size());
  for (const json& x : v) {
    if (!x.is_number_integer()) {
      throw DataError(203, where + ": \"" + field + "\" must hold integers, found " + x.dump());
    }
    out.push_back(x.get<int64_t>());
  }
  return out;
}

// Flattens nested lists of numbers, checking that they are rectangular.
void Flatten(const json& v, size_t depth, std::vector<int64_t>* shape, std::vector<float>* out,
             const std::string& where, const char* field) {
  if (v.is_number()) {
    if (depth != shape->size()) throw DataError(203, where + ": \"" + field + "\" is not rectangular");
    out->push_back(v.get<float>());
    return;
  }
  if (!v.is_array() || v.empty()) {
    throw DataError(203, where + ": \"" + field + "\" must be a non-empty (nested) list of numbers");
  }
  if (depth == shape->size())
    shape->push_back(static_cast<int64_t>(v.size()));
  else if ((*shape)[depth] != static_cast<int64_t>(v.size())) {
    throw DataError(203, where + ": \"" + field + "\" is not rectangular");
  }
  for (const json& x : v) Flatten(x, depth + 1, shape, out, where, field);
}

// One JSONL row; throws DataError 202/203 naming FILE:LINE.
DataRow ParseJsonlRow(const std::string& path, int64_t number, const std::string& line) {
  {
    const std::string where = path + ":" + std::to_string(number);
    json row;
    try {
      row = json::parse(line);
    } catch (const json::exception& e) {
      throw DataError(202, where + ": malformed JSON: " + JsonErrorText(e));
    }
    if (!row.is_object()) throw DataError(203, where + ": a row must be a JSON object");
    DataRow out;
    out.line = number;
    if (row.contains("input_ids")) {
      out.example.input_ids = IntArray(row, "input_ids", where);
      if (out.example.input_ids.empty()) throw DataError(203, where + ": \"input_ids\" is empty");
      if (row.contains("attention_mask")) out.example.attention_mask = IntArray(row, "attention_mask", where);
      if (row.contains("token_type_ids")) out.example.token_type_ids = IntArray(row, "token_type_ids", where);
      for (const auto* f : {&out.example.attention_mask, &out.example.token_type_ids}) {
        if (!f->empty() && f->size() != out.example.input_ids.size()) {
          throw DataError(203, where + ": " + (f == &out.example.attention_mask ? "attention_mask" : "token_type_ids") +
                                   " has " + std::to_string(f->size()) + " entries, input_ids " +
                                   std::to_string(out.example.input_ids.size()));
        }
      }
    } else if (row.contains("features") || row.contains("pixel_values")) {
      const char* field = row.contains("features") ? "features" : "pixel_values";
      Flatten(row.at(field), 0, &out.example.feature_shape, &out.example.features, where, field);
    } else if (row.contains("text")) {
      if (!row["text"].is_string()) throw DataError(203, where + ": \"text\" must be a string");
      out.text = row["text"].get<std::string>();
      if (row.contains("text_pair")) {
        if (!row["text_pair"].is_string()) throw DataError(203, where + ": \"text_pair\" must be a string");
        out.text_pair = row["text_pair"].get<std::string>();
      }
    } else {
      throw DataError(203, where + ": no \"text\", \"input_ids\" or \"features\" field");
    }
    if (row.contains("label")) {
      const json& label = row.at("label");
      if (!label.is_string() && !label.is_number_integer()) {
        throw DataError(203, where + ": \"label\" must be a string or an integer, found " + label.dump());
      }
      out.label_json = label.dump();
      if (label.is_number_integer()) out.label_index = label.get<int64_t>();
    }
    return out;
  }
}

// Splits CSV text into records of fields (RFC 4180). `lines[i]` is the line on which
// record i starts.
std::vector<std::vector<std::string>> SplitCsv(const std::string& path, const std::string& text, char sep,
                                               std::vector<int64_t>* lines) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false, field_started = false;
  int64_t line = 1, record_line = 1, quote_line = 1;
  auto end_record = [&]() {
    record.push_back(field);
    field.clear();
    field_started = false;
    if (!(record.size() == 1 && record[0].empty())) {
      records.push_back(record);
      lines->push_back(record_line);
    }
    record.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && !field_started) {
      quoted = true;
      field_started = true;
      quote_line = line;
    } else if (c == sep) {
      record.push_back(field);
      field.clear();
      field_started = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_record();
      ++line;
      record_line = line;
    } else {
      field += c;
      field_started = true;
    }
  }
  if (quoted) throw DataError(202, path + ":" + std::to_string(quote_line) + ": unterminated quoted field");
  if (field_started || !record.empty()) end_record();
  return records;
}

ReadResult ReadCsv(const std::string& path, const std::string& text, char sep, const ReadOptions& options) {
  std::vector<int64_t> lines;
  auto records = SplitCsv(path, text, sep, &lines);
  if (records.empty()) throw DataError(205, path + ": no rows (the file is empty)");
  const std::vector<std::string>& header = records[0];
  auto column = [&](const std::string& name) -> int {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return static_cast<int>(i);
    }
    return -1;
  };
  std::string names;
  // Quoted as JSON strings: a header cell may hold quotes, newlines or invalid UTF-8, and the
  // message must stay one line.
  auto quoted = [](const std::string& cell) {
    return nlohmann::json(cell).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  for (size_t i = 0; i < header.size(); ++i) names += (i ? ", " : "") + quoted(header[i]);
  const int text_col = column(options.text_column());
  if (text_col < 0) {
    throw DataError(203, path + ":1: no column \"" + options.text_column() + "\" (columns: " + names +
                             "); choose one with --text-column");
  }
  const int pair_col = options.text_pair_column().empty() ? -1 : column(options.text_pair_column());
  if (!options.text_pair_column().empty() && pair_col < 0) {
    throw DataError(203, path + ":1: no column \"" + options.text_pair_column() + "\" (columns: " + names + ")");
  }
  const int label_col = column(options.label_column());
  ReadResult result;
  for (size_t r = 1; r < records.size(); ++r) {
    const std::string where = path + ":" + std::to_string(lines[r]);
    try {
      if (records[r].size() != header.size()) {
        throw DataError(203, where + ": " + std::to_string(records[r].size()) + " fields, the header has " +
                                 std::to_string(header.size()));
      }
      DataRow row;
      row.line = lines[r];
      row.text = records[r][static_cast<size_t>(text_col)];
      if (pair_col >= 0) row.text_pair = records[r][static_cast<size_t>(pair_col)];
      if (label_col >= 0) {
        const std::string& label = records[r][static_cast<size_t>(label_col)];
        bool integer = !label.empty() && label.size() < 10 &&
                       std::all_of(label.begin(), label.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (integer) {
          // A class index; "09" and "9" are the same class, and label_json must stay valid JSON.
          row.label_index = std::stoll(label);
          row.label_json = std::to_string(row.label_index);
        } else {
          try {
            row.label_json = json(label).dump();
          } catch (const json::exception&) {
            throw DataError(203, where + ": the label is not valid UTF-8");
          }
        }
      }
      result.rows.push_back(std::move(row));
    } catch (const DataError& e) {
      if (!options.skip_bad_rows()) throw;
      if (result.skipped++ == 0) result.first_skipped = e.detail();
    }
  }
  if (result.rows.empty())
    throw DataError(205, path + ": no rows (only a header" + (result.skipped ? ", or all skipped)" : ")"));
  return result;
}

}  // namespace

std::vector<DataRow> ReadJsonlRows(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(201, path + ": cannot open for reading");
  std::vector<DataRow> rows;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    rows.push_back(ParseJsonlRow(path, number, line));
  }
  if (rows.empty()) throw DataError(205, path + ": no rows (the file is empty)");
  return rows;
}

ReadResult ReadRows(const std::string& path, const ReadOptions& options) {
  auto ends_with = [&](const std::string& suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(201, path + ": cannot open for reading");
  if (ends_with(".csv") || ends_with(".tsv")) {
    std::string text((std::istreambuf_iterator<char>(in)), {});
    return ReadCsv(path, text, ends_with(".tsv") ? '\t' : ',', options);
  }
  ReadResult result;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      result.rows.push_back(ParseJsonlRow(path, number, line));
    } catch (const DataError& e) {
      if (!options.skip_bad_rows()) throw;
      if (result.skipped++ == 0) result.first_skipped = e.detail();
    }
  }
  if (result.rows.empty()) {
    throw DataError(205, path + (result.skipped ? ": every row is malformed (" + std::to_string(result.skipped) +
                                                      " skipped; first: " + result.first_skipped + ")"
                                                : std::string(": no rows (the file is empty)")));
  }
  return result;
}

std::vector<DataRow> SampleStratified(std::vector<DataRow> rows, int64_t n, uint64_t seed) {
  if (n <= 0 || n >= static_cast<int64_t>(rows.size())) return rows;
  std::map<std::string, std::vector<size_t>> by_class;
  for (size_t i = 0; i < rows.size(); ++i) {
    const DataRow& r = rows[i];
    by_class[r.label_index >= 0 ? "#" + std::to_string(r.label_index) : r.label_json].push_back(i);
  }
  // Largest remainder: floor of each class's share, then one more to the largest remainders.
  const double total = static_cast<double>(rows.size());
  std::vector<std::pair<double, std::string>> remainders;
  std::map<std::string, int64_t> take;
  int64_t given = 0;
  for (const auto& [label, members] : by_class) {
    double share = static_cast<double>(n) * static_cast<double>(members.size()) / total;
    take[label] = static_cast<int64_t>(share);
    given += take[label];
    remainders.emplace_back(share - static_cast<double>(take[label]), label);
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = 0; given < n && i < remainders.size(); ++i, ++given) ++take[remainders[i].second];
  std::mt19937_64 rng(seed);
  std::vector<size_t> chosen;
  for (auto& [label, members] : by_class) {
    std::shuffle(members.begin(), members.end(), rng);
    chosen.insert(chosen.end(), members.begin(), members.begin() + take[label]);
  }
  std::sort(chosen.begin(), chosen.end());
  std::vector<DataRow> out;
  out.reserve(chosen.size());
  for (size_t i : chosen) out.push_back(std::move(rows[i]));
  return out;
}

std::map<std::string, int64_t> CountLabels(const std::vector<DataRow>& rows) {
  std::map<std::string, int64_t> counts;
  for (const DataRow& r : rows) ++counts[r.label_json.empty() ? "(none)" : r.label_json];
  return counts;
}

void ResolveLabel(const std::string& path, const std::vector<std::string>& names, DataRow* row);

bool HasTextRows(const std::vector<DataRow>& rows) {
  for (const DataRow& r : rows) {
    if (r.text) return true;
  }
  return false;
}

void TokenizeRows(const std::string& path, const Tokenizer& tokenizer, std::vector<DataRow>* rows, int64_t* skipped) {
  std::vector<DataRow> kept;
  for (DataRow& r : *rows) {
    if (r.text) {
      try {
        r.example = tokenizer.Encode(*r.text, r.text_pair);
      } catch (const TokenizerError& e) {
        if (skipped) {
          ++*skipped;
          continue;
        }
        throw TokenizerError(e.id(), path + ":" + std::to_string(r.line) + ": " + e.detail());
      }
    }
    kept.push_back(std::move(r));
  }
  rows->swap(kept);
}

std::vector<std::string> LoadLabelNames(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(201, path + ": cannot open for reading");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    throw DataError(202, path + ": malformed JSON: " + JsonErrorText(e));
  }
  std::vector<std::string> names;
  if (j.is_array()) {
    for (const json& x : j) {
      if (!x.is_string()) throw DataError(203, path + ": labels must be strings, found " + x.dump());
      names.push_back(x.get<std::string>());
    }
  } else if (j.is_object() && j.contains("id2label") && j["id2label"].is_object()) {
    const json& m = j["id2label"];
    names.resize(m.size());
    for (const auto& [key, value] : m.items()) {
      size_t id = 0;
      try {
        id = std::stoul(key);
      } catch (const std::exception&) {
        throw DataError(203, path + ": id2label key \"" + key + "\" is not a class index");
      }
      if (id >= names.size() || !value.is_string() || !names[id].empty()) {
        throw DataError(203, path + ": id2label must map 0..N-1 to names, each once");
      }
      names[id] = value.get<std::string>();
    }
  } else {
    throw DataError(203, path + ": expected a list of class names or an object with \"id2label\"");
  }
  if (names.empty()) throw DataError(203, path + ": no class names");
  return names;
}

void ResolveLabels(const std::string& path, const std::vector<std::string>& names, std::vector<DataRow>* rows,
                   int64_t* skipped) {
  std::vector<DataRow> kept;
  for (DataRow& r : *rows) {
    try {
      ResolveLabel(path, names, &r);
    } catch (const DataError&) {
      if (!skipped) throw;
      ++*skipped;
      continue;
    }
    kept.push_back(std::move(r));
  }
  rows->swap(kept);
}

void ResolveLabel(const std::string& path, const std::vector<std::string>& names, DataRow* row) {
  DataRow& r = *row;
  {
    if (r.label_json.empty()) return;
    const std::string where = path + ":" + std::to_string(r.line);
    json label = json::parse(r.label_json);
    if (label.is_number_integer()) {
      int64_t id = label.get<int64_t>();
      if (id < 0 || id >= static_cast<int64_t>(names.size())) {
        throw DataError(204, where + ": label " + std::to_string(id) + " is not a class index (0.." +
                                 std::to_string(names.size() - 1) + ")");
      }
      r.label_index = id;
      return;
    }
    auto it = std::find(names.begin(), names.end(), label.get<std::string>());
    if (it == names.end()) {
      std::string all;
      for (size_t i = 0; i < names.size(); ++i) all += (i ? ", " : "") + names[i];
      throw DataError(204, where + ": label " + r.label_json + " is not one of " + all);
    }
    r.label_index = it - names.begin();
  }
}

}  // namespace synapse
