#include "synapse/dataset.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

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
    rows.push_back(std::move(out));
  }
  if (rows.empty()) throw DataError(205, path + ": no rows (the file is empty)");
  return rows;
}

bool HasTextRows(const std::vector<DataRow>& rows) {
  for (const DataRow& r : rows) {
    if (r.text) return true;
  }
  return false;
}

void TokenizeRows(const std::string& path, const Tokenizer& tokenizer, std::vector<DataRow>* rows) {
  for (DataRow& r : *rows) {
    if (!r.text) continue;
    try {
      r.example = tokenizer.Encode(*r.text, r.text_pair);
    } catch (const TokenizerError& e) {
      std::string what = e.what();
      throw TokenizerError(e.id(), path + ":" + std::to_string(r.line) + ": " + what.substr(what.find("] ") + 2));
    }
  }
}

std::vector<std::string> LoadLabelNames(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(201, path + ": cannot open for reading");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    throw DataError(202, path + ": malformed JSON: " + what.substr(what.find("] ") + 2));
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

void ResolveLabels(const std::string& path, const std::vector<std::string>& names, std::vector<DataRow>* rows) {
  for (DataRow& r : *rows) {
    if (r.label_json.empty()) continue;
    const std::string where = path + ":" + std::to_string(r.line);
    json label = json::parse(r.label_json);
    if (label.is_number_integer()) {
      int64_t id = label.get<int64_t>();
      if (id < 0 || id >= static_cast<int64_t>(names.size())) {
        throw DataError(204, where + ": label " + std::to_string(id) + " is not a class index (0.." +
                                 std::to_string(names.size() - 1) + ")");
      }
      r.label_index = id;
      continue;
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
