#include "json_reader.h"

#include "synapse/error.h"

namespace synapse::robustness::internal {

using nlohmann::json;

void JsonReader::Fail(const std::string& where, const std::string& what) const {
  throw UsageError(404, file_ + ": " + (where.empty() ? "" : where + ": ") + what);
}

void JsonReader::Keys(const json& object, const std::string& where, const std::set<std::string>& allowed) const {
  if (!object.is_object()) Fail(where, "expected an object");
  for (const auto& [key, value] : object.items()) {
    if (allowed.count(key) == 0) {
      std::string list;
      for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
      Fail(Join(where, key), "unknown key (expected one of: " + list + ")");
    }
  }
}

double JsonReader::Number(const json& o, const std::string& where, const char* key) const {
  if (!o.contains(key)) Fail(Join(where, key), "missing (a number)");
  if (!o[key].is_number()) Fail(Join(where, key), "expected a number");
  return o[key].get<double>();
}

double JsonReader::Number(const json& o, const std::string& where, const char* key, double fallback) const {
  return o.contains(key) ? Number(o, where, key) : fallback;
}

int64_t JsonReader::Integer(const json& o, const std::string& where, const char* key) const {
  if (!o.contains(key)) Fail(Join(where, key), "missing (an integer)");
  if (!o[key].is_number_integer()) Fail(Join(where, key), "expected an integer");
  return o[key].get<int64_t>();
}

int64_t JsonReader::Integer(const json& o, const std::string& where, const char* key, int64_t fallback) const {
  return o.contains(key) ? Integer(o, where, key) : fallback;
}

bool JsonReader::Boolean(const json& o, const std::string& where, const char* key, bool fallback) const {
  if (!o.contains(key)) return fallback;
  if (!o[key].is_boolean()) Fail(Join(where, key), "expected true or false");
  return o[key].get<bool>();
}

std::string JsonReader::String(const json& o, const std::string& where, const char* key) const {
  if (!o.contains(key)) Fail(Join(where, key), "missing (a string)");
  if (!o[key].is_string()) Fail(Join(where, key), "expected a string");
  return o[key].get<std::string>();
}

std::string JsonReader::String(const json& o, const std::string& where, const char* key,
                               const std::string& fallback) const {
  return o.contains(key) ? String(o, where, key) : fallback;
}

std::string JsonReader::Choice(const json& o, const std::string& where, const char* key,
                               const std::set<std::string>& choices, const std::string& fallback) const {
  const std::string value = String(o, where, key, fallback);
  if (choices.count(value) == 0) {
    std::string list;
    for (const std::string& c : choices) list += (list.empty() ? "" : ", ") + c;
    Fail(Join(where, key), "\"" + value + "\" is not one of " + list);
  }
  return value;
}

const json& JsonReader::Array(const json& o, const std::string& where, const char* key) const {
  if (!o.contains(key)) Fail(Join(where, key), "missing (an array)");
  if (!o[key].is_array()) Fail(Join(where, key), "expected an array");
  return o[key];
}

std::string JsonReader::Path(const std::string& p) const {
  if (p.empty() || p[0] == '/') return p;
  const size_t slash = file_.rfind('/');
  return slash == std::string::npos ? p : file_.substr(0, slash + 1) + p;
}

}  // namespace synapse::robustness::internal
