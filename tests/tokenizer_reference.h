// Reference rows from Hugging Face tokenizers (tests/tokenizer_parity/reference_rows.js) and
// how an encoding is compared with one, shared by the parity tests.
//
//   std::string why;
//   if (!MatchesReference(row, tokenizer->Encode(text), &why)) ADD_FAILURE() << why;
//
// A detailed row carries ids, type_ids and attention_mask; the others the length `n` and the
// digest `h` that reference_rows.js computes, the same here.
#ifndef SYNAPSE_TESTS_TOKENIZER_REFERENCE_H_
#define SYNAPSE_TESTS_TOKENIZER_REFERENCE_H_

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "synapse/example.h"

namespace synapse::test {

/// reference_rows.js's digest: two 32-bit lanes over ids, -1, type ids, -1, mask.
inline std::string ReferenceDigest(const Example& e) {
  uint32_t h1 = 0x811c9dc5u, h2 = 0x9747b28cu;
  auto feed = [&](int64_t value) {
    const auto v = static_cast<uint32_t>(value);
    h1 = (h1 ^ v) * 0x01000193u;
    h2 = (h2 ^ v) * 0x5bd1e995u;
    h2 ^= h2 >> 15;
  };
  for (int64_t v : e.input_ids) feed(v);
  feed(-1);
  for (int64_t v : e.token_type_ids) feed(v);
  feed(-1);
  for (int64_t v : e.attention_mask) feed(v);
  char out[17];
  std::snprintf(out, sizeof out, "%08x%08x", h1, h2);
  return out;
}

/// Ids from `from` on, at most 16.
inline std::string ShowIds(const std::vector<int64_t>& v, size_t from) {
  std::string s = "[" + std::to_string(from) + "..] ";
  for (size_t i = from; i < v.size() && i < from + 16; ++i) s += std::to_string(v[i]) + " ";
  return s + "(" + std::to_string(v.size()) + " ids)";
}

/// Whether `e` is the row's encoding; if not, `why` says how they differ.
inline bool MatchesReference(const nlohmann::json& row, const Example& e, std::string* why) {
  if (!row.contains("ids")) {
    if (static_cast<int64_t>(e.input_ids.size()) == row["n"].get<int64_t>() &&
        ReferenceDigest(e) == row["h"].get<std::string>()) {
      return true;
    }
    *why = "hf: " + std::to_string(row["n"].get<int64_t>()) + " ids, digest " + row["h"].get<std::string>() +
           "\n  synapse: " + ShowIds(e.input_ids, 0) + ", digest " + ReferenceDigest(e);
    return false;
  }
  const auto ids = row["ids"].get<std::vector<int64_t>>();
  const auto types = row["type_ids"].get<std::vector<int64_t>>();
  const auto mask = row.contains("attention_mask") ? row["attention_mask"].get<std::vector<int64_t>>()
                                                   : std::vector<int64_t>(ids.size(), 1);
  if (e.input_ids == ids && e.token_type_ids == types && e.attention_mask == mask) return true;
  size_t at = 0;
  while (at < ids.size() && at < e.input_ids.size() && ids[at] == e.input_ids[at]) ++at;
  *why = "hf:      " + ShowIds(ids, at) + "\n  synapse: " + ShowIds(e.input_ids, at) +
         "\n  type ids equal: " + (e.token_type_ids == types ? "yes" : "no") +
         ", masks equal: " + (e.attention_mask == mask ? "yes" : "no");
  return false;
}

/// The rows of `path` (JSONL) for one tokenizer file and max length, found by the prefix
/// JSON.stringify writes them with before any is parsed.
inline std::vector<nlohmann::json> ReferenceRows(const std::string& path, const std::string& tokenizer,
                                                 int64_t max_length) {
  const std::string prefix = "{\"tokenizer\":\"" + tokenizer + "\",\"max_length\":" + std::to_string(max_length) + ",";
  std::vector<nlohmann::json> rows;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.compare(0, prefix.size(), prefix) == 0) rows.push_back(nlohmann::json::parse(line));
  }
  return rows;
}

}  // namespace synapse::test

#endif  // SYNAPSE_TESTS_TOKENIZER_REFERENCE_H_
