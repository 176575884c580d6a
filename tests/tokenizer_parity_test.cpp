// Token ids identical to Hugging Face tokenizers (Rust) on real text: every SpamAssassin
// message, raw, plus edge cases (accents, CJK, emoji, control characters, long words,
// whitespace runs, special tokens in the text), single texts and pairs, with and without
// truncation. References: tests/tokenizer_parity/make_reference.js.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "synapse/tokenizer.h"

namespace synapse {
namespace {

using nlohmann::json;

const std::string kDir = SYNAPSE_TOKENIZER_REF_DIR;

const json& Texts() {
  static const json texts = json::parse(std::ifstream(kDir + "/texts.json"));
  return texts;
}

std::vector<json> References() {
  std::vector<json> rows;
  std::ifstream in(kDir + "/reference.jsonl");
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) rows.push_back(json::parse(line));
  }
  return rows;
}

// Ids from `from` on (the first difference), at most 16.
std::string Show(const std::vector<int64_t>& v, size_t from) {
  std::string s = "[" + std::to_string(from) + "..] ";
  for (size_t i = from; i < v.size() && i < from + 16; ++i) s += std::to_string(v[i]) + " ";
  return s + "(" + std::to_string(v.size()) + " ids)";
}

size_t FirstDifference(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return i;
}

// Compares every reference row of `tokenizer_file` with `load(max_length)`'s encoding.
void ExpectParity(const std::string& tokenizer_file, const std::function<std::unique_ptr<Tokenizer>(int64_t)>& load,
                  size_t min_rows) {
  std::map<int64_t, std::unique_ptr<Tokenizer>> by_length;
  size_t compared = 0, mismatched = 0;
  for (const json& row : References()) {
    if (row["tokenizer"] != tokenizer_file) continue;
    const int64_t max_length = row["max_length"];
    auto& tok = by_length[max_length];
    if (!tok) tok = load(max_length);
    Example e;
    std::string shown;
    if (row.contains("pair")) {
      const json& p = Texts()["pairs"][row["pair"].get<size_t>()];
      e = tok->Encode(p[0].get<std::string>(), p[1].get<std::string>());
      shown = p[0].get<std::string>().substr(0, 80);
    } else {
      const std::string& text = Texts()["texts"][row["text"].get<size_t>()].get_ref<const std::string&>();
      e = tok->Encode(text);
      shown = text.substr(0, 80);
    }
    ++compared;
    const auto ids = row["ids"].get<std::vector<int64_t>>();
    const auto types = row["type_ids"].get<std::vector<int64_t>>();
    if (e.input_ids != ids || e.token_type_ids != types) {
      if (++mismatched <= 5) {
        const size_t at = FirstDifference(ids, e.input_ids);
        ADD_FAILURE() << tokenizer_file << " max_length " << max_length << " text \"" << shown
                      << "\"\n  hf:      " << Show(ids, at) << "\n  synapse: " << Show(e.input_ids, at);
      }
    }
    EXPECT_EQ(e.attention_mask, std::vector<int64_t>(e.input_ids.size(), 1));
  }
  EXPECT_EQ(mismatched, 0u) << "of " << compared;
  EXPECT_GE(compared, min_rows);
  std::cout << "[ parity   ] " << tokenizer_file << ": " << compared - mismatched << " / " << compared
            << " encodings identical to Hugging Face tokenizers\n";
}

TEST(TokenizerParity, UncasedTokenizerJsonMatchesHuggingFace) {
  ExpectParity(
      "uncased.json",
      [](int64_t n) { return Tokenizer::Load(kDir + "/uncased.json", TokenizerOptions().max_length(n)); }, 6000);
}

TEST(TokenizerParity, CasedTokenizerJsonMatchesHuggingFace) {
  ExpectParity(
      "cased.json", [](int64_t n) { return Tokenizer::Load(kDir + "/cased.json", TokenizerOptions().max_length(n)); },
      6000);
}

TEST(TokenizerParity, BareVocabTxtMatchesTheUncasedTokenizer) {
  ExpectParity(
      "uncased.json",
      [](int64_t n) { return Tokenizer::Load(kDir + "/vocab.txt", TokenizerOptions().max_length(n).lowercase(true)); },
      6000);
}

TEST(TokenizerParity, MaxLengthDefaultsToTheTokenizersOwnTruncation) {
  auto tok = Tokenizer::Load(kDir + "/uncased.json");
  EXPECT_EQ(tok->max_length(), 512);
  EXPECT_EQ(tok->pad_id(), 0);
  EXPECT_EQ(tok->vocab_size(), 8005);
}

}  // namespace
}  // namespace synapse
