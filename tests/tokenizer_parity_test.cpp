// Token ids identical to Hugging Face tokenizers (Rust) on real text: every SpamAssassin
// message, raw, plus edge cases (accents, CJK, emoji, control characters, long words,
// whitespace runs, special tokens in the text), single and paired (each message with the
// next), at max length 512 and 64. References: tests/tokenizer_parity/make_reference.js.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "synapse/tokenizer.h"
#include "tokenizer_reference.h"

namespace synapse {
namespace {

using nlohmann::json;

const std::string kDir = SYNAPSE_TOKENIZER_REF_DIR;

// What make_reference.js encodes for each file at each length: 6,046 messages and 14 edge
// cases, and as many pairs as messages plus two per edge case.
constexpr size_t kTexts = 6060;
constexpr size_t kPairs = 6074;

const json& Texts() {
  static const json texts = json::parse(std::ifstream(kDir + "/texts.json"));
  return texts;
}

// Compares every reference row of `tokenizer_file` with `load(max_length)`'s encoding, at
// both lengths: every text and every pair.
void ExpectParity(const std::string& tokenizer_file, const std::function<std::unique_ptr<Tokenizer>(int64_t)>& load) {
  ASSERT_EQ(Texts()["texts"].size(), kTexts);
  ASSERT_EQ(Texts()["pairs"].size(), kPairs);
  for (int64_t max_length : {512, 64}) {
    const std::unique_ptr<Tokenizer> tok = load(max_length);
    size_t compared = 0, mismatched = 0, texts = 0, pairs = 0;
    for (const json& row : test::ReferenceRows(kDir + "/reference.jsonl", tokenizer_file, max_length)) {
      Example e;
      std::string shown;
      if (row.contains("pair")) {
        ++pairs;
        const json& p = Texts()["pairs"][row["pair"].get<size_t>()];
        e = tok->Encode(p[0].get<std::string>(), p[1].get<std::string>());
        shown = p[0].get<std::string>().substr(0, 80);
      } else {
        ++texts;
        const std::string& text = Texts()["texts"][row["text"].get<size_t>()].get_ref<const std::string&>();
        e = tok->Encode(text);
        shown = text.substr(0, 80);
      }
      ++compared;
      std::string why;
      if (!test::MatchesReference(row, e, &why) && ++mismatched <= 5) {
        ADD_FAILURE() << tokenizer_file << " max_length " << max_length << " text \"" << shown << "\"\n  " << why;
      }
    }
    EXPECT_EQ(mismatched, 0u) << "of " << compared << " at " << max_length;
    EXPECT_EQ(texts, kTexts) << max_length;
    EXPECT_EQ(pairs, kPairs) << max_length;
    std::cout << "[ parity   ] " << tokenizer_file << " at " << max_length << ": " << compared - mismatched << " / "
              << compared << " encodings identical to Hugging Face tokenizers\n";
  }
}

TEST(TokenizerParity, UncasedTokenizerJsonMatchesHuggingFace) {
  ExpectParity("uncased.json",
               [](int64_t n) { return Tokenizer::Load(kDir + "/uncased.json", TokenizerOptions().max_length(n)); });
}

TEST(TokenizerParity, CasedTokenizerJsonMatchesHuggingFace) {
  ExpectParity("cased.json",
               [](int64_t n) { return Tokenizer::Load(kDir + "/cased.json", TokenizerOptions().max_length(n)); });
}

TEST(TokenizerParity, BareVocabTxtMatchesTheUncasedTokenizer) {
  ExpectParity("uncased.json", [](int64_t n) {
    return Tokenizer::Load(kDir + "/vocab.txt", TokenizerOptions().max_length(n).lowercase(true));
  });
}

TEST(TokenizerParity, MaxLengthDefaultsToTheTokenizersOwnTruncation) {
  auto tok = Tokenizer::Load(kDir + "/uncased.json");
  EXPECT_EQ(tok->max_length(), 512);
  EXPECT_EQ(tok->pad_id(), 0);
  EXPECT_EQ(tok->vocab_size(), 8005);
}

}  // namespace
}  // namespace synapse
