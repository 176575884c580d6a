// The PyTorch oracle written by tests/fixtures/make_fixtures.py (oracle.json): every
// fixture model's inputs, pooling and eager-hook logits.
#ifndef SYNAPSE_TESTS_ORACLE_UTIL_H_
#define SYNAPSE_TESTS_ORACLE_UTIL_H_

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "synapse/synapse.h"

namespace synapse::test {

inline const nlohmann::json& Oracle() {
  static const nlohmann::json oracle =
      nlohmann::json::parse(std::ifstream(std::string(SYNAPSE_FIXTURE_DIR) + "/oracle.json"));
  return oracle;
}

/// A model entry's inputs as examples, with the oracle's padding stripped so that Synapse
/// pads again by itself.
inline std::vector<Example> OracleInputs(const nlohmann::json& entry) {
  std::vector<Example> batch;
  const nlohmann::json& in = entry["inputs"];
  if (in.contains("features")) {
    for (const auto& row : in["features"]) batch.push_back(Example::Features(row.get<std::vector<float>>()));
    return batch;
  }
  for (size_t i = 0; i < in["input_ids"].size(); ++i) {
    auto ids = in["input_ids"][i].get<std::vector<int64_t>>();
    auto mask = in["attention_mask"][i].get<std::vector<int64_t>>();
    size_t n = 0;
    while (n < mask.size() && mask[n]) ++n;
    ids.resize(n);
    batch.push_back(Example::Tokens(ids));
  }
  return batch;
}

/// The pad id the entry's model expects (RoBERTa 1, the GPT-2 fixture its pad_token_id).
inline int64_t OraclePadId(const nlohmann::json& entry) { return entry.value("pad_id", int64_t{0}); }

inline Pooling OraclePooling(const nlohmann::json& entry) {
  const std::string p = entry["pool"];
  return p == "first" ? Pooling::kFirst : p == "last" ? Pooling::kLast : Pooling::kMean;
}

}  // namespace synapse::test

#endif  // SYNAPSE_TESTS_ORACLE_UTIL_H_
