#include "synapse/dataset.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "synapse/error.h"

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
  if (depth == shape->size()) shape->push_back(static_cast<int64_t>(v.size()));
  else if ((*shape)[depth] != static_cast<int64_t>(v.size())) {
    throw DataError(203, where + ": \"" + field + "\" is not rectangular");
  }
  for (const json& x : v) Flatten(x, depth + 1, shape, out, where, field);
}

}  // namespace

std::vector<DataRow> ReadJsonlRows(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(201, path + ": cannot open for reading");
  std::vector<DataRow> rows;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(number);
    json row;
    try {
      row = json::parse(line);
    } catch (const json::parse_error& e) {
      std::string what = e.what();
      size_t at = what.find("] ");
      throw DataError(202, where + ": malformed JSON: " + (at == std::string::npos ? what : what.substr(at + 2)));
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
      throw DataError(203, where + ": a text row needs a tokenizer; give pre-tokenized \"input_ids\"");
    } else {
      throw DataError(203, where + ": no \"input_ids\" or \"features\" field");
    }
    if (row.contains("label")) {
      const json& label = row.at("label");
      if (!label.is_string() && !label.is_number_integer()) {
        throw DataError(203, where + ": \"label\" must be a string or an integer, found " + label.dump());
      }
      out.label_json = label.dump();
      if (label.is_number_integer()) out.label_index = label.get<int64_t>();
    }
    rows.push_back(std::move(out));
  }
  if (rows.empty()) throw DataError(205, path + ": no rows (the file is empty)");
  return rows;
}

}  // namespace synapse
