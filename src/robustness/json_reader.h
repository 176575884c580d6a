// Strict reading of JSON specs: unknown keys and wrong types are errors naming the file and
// the JSON path (private to the library).
#ifndef SYNAPSE_SRC_ROBUSTNESS_JSON_READER_H_
#define SYNAPSE_SRC_ROBUSTNESS_JSON_READER_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace synapse::robustness::internal {

class JsonReader {
 public:
  explicit JsonReader(std::string file) : file_(std::move(file)) {}

  /// UsageError 404 "FILE: where: what".
  [[noreturn]] void Fail(const std::string& where, const std::string& what) const;
  /// `object` is an object whose keys are all in `allowed`.
  void Keys(const nlohmann::json& object, const std::string& where, const std::set<std::string>& allowed) const;

  bool Has(const nlohmann::json& object, const char* key) const { return object.contains(key); }
  double Number(const nlohmann::json& object, const std::string& where, const char* key) const;
  double Number(const nlohmann::json& object, const std::string& where, const char* key, double fallback) const;
  int64_t Integer(const nlohmann::json& object, const std::string& where, const char* key) const;
  int64_t Integer(const nlohmann::json& object, const std::string& where, const char* key, int64_t fallback) const;
  bool Boolean(const nlohmann::json& object, const std::string& where, const char* key, bool fallback) const;
  std::string String(const nlohmann::json& object, const std::string& where, const char* key) const;
  std::string String(const nlohmann::json& object, const std::string& where, const char* key,
                     const std::string& fallback) const;
  /// One of `choices`.
  std::string Choice(const nlohmann::json& object, const std::string& where, const char* key,
                     const std::set<std::string>& choices, const std::string& fallback) const;
  const nlohmann::json& Array(const nlohmann::json& object, const std::string& where, const char* key) const;
  /// A path relative to the spec's directory (absolute paths unchanged, "" stays "").
  std::string Path(const std::string& path) const;

  static std::string Join(const std::string& where, const std::string& key) {
    return where.empty() ? key : where + "." + key;
  }
  static std::string Index(const std::string& where, size_t i) { return where + "[" + std::to_string(i) + "]"; }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

}  // namespace synapse::robustness::internal

#endif  // SYNAPSE_SRC_ROBUSTNESS_JSON_READER_H_
