// Token ids identical to Hugging Face tokenizers (Rust, Node binding) for every tokenizer.json
// kind: byte-level BPE (RoBERTa, GPT-2), BPE with Metaspace and byte fallback (Llama style),
// Unigram with a SentencePiece precompiled charsmap (ALBERT / T5 / XLM-R style) and with byte
// fallback, WordLevel with Split/Digits/Punctuation, WordPiece with padding and a single_word
// added token. Trained by the library on the SpamAssassin corpus; every raw message plus the
// hard-Unicode edge cases, single and paired (each message with the next), at max length 512
// and 48: one test per file and length. References: tests/tokenizer_parity/
// make_reference_more.js (and make_precompiled.py for the charsmap).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "synapse/error.h"
#include "synapse/tokenizer.h"
#include "tokenizer_reference.h"

namespace synapse {
namespace {

using nlohmann::json;

const std::string kDir = std::string(SYNAPSE_TOKENIZER_REF_DIR) + "/kinds";

// What make_reference_more.js encodes for each file at each length: 6,046 messages and 21
// edge cases, and as many pairs as messages plus two per edge case.
constexpr size_t kTexts = 6067;
constexpr size_t kPairs = 6088;

const json& Texts() {
  static const json texts = json::parse(std::ifstream(kDir + "/texts.json"));
  return texts;
}

struct Kind {
  const char* file;
  int64_t max_length;
};

void PrintTo(const Kind& k, std::ostream* os) { *os << k.file << " at " << k.max_length; }

class KindParityTest : public ::testing::TestWithParam<Kind> {};

TEST_P(KindParityTest, IdsTypeIdsAndMaskAsHuggingFace) {
  const std::string file = GetParam().file;
  const int64_t max_length = GetParam().max_length;
  ASSERT_EQ(Texts()["texts"].size(), kTexts);
  ASSERT_EQ(Texts()["pairs"].size(), kPairs);
  const std::vector<json> rows = test::ReferenceRows(kDir + "/reference.jsonl", file, max_length);
  auto tok = Tokenizer::Load(kDir + "/" + file, TokenizerOptions().max_length(max_length));
  size_t compared = 0, mismatched = 0, refusals = 0, texts = 0, pairs = 0;
  for (const json& row : rows) {
    std::string shown;
    std::optional<Example> e;
    std::string error;
    try {
      if (row.contains("pair")) {
        ++pairs;
        const json& p = Texts()["pairs"][row["pair"].get<size_t>()];
        shown = p[0].get<std::string>().substr(0, 60);
        e = tok->Encode(p[0].get<std::string>(), p[1].get<std::string>());
      } else {
        ++texts;
        const std::string& text = Texts()["texts"][row["text"].get<size_t>()].get_ref<const std::string&>();
        shown = text.substr(0, 60);
        e = tok->Encode(text);
      }
    } catch (const TokenizerError& err) {
      error = err.what();
    }
    ++compared;
    if (row.contains("error")) {
      // Hugging Face refused (OnlyFirst / OnlySecond cannot truncate): so must Synapse.
      ++refusals;
      EXPECT_THAT(error, ::testing::HasSubstr("[synapse.tokenizer.507] truncation"))
          << file << " max_length " << max_length << " \"" << shown << "\": HF said " << row["error"];
      continue;
    }
    if (!e) {
      ADD_FAILURE() << file << " \"" << shown << "\": " << error;
      continue;
    }
    std::string why;
    if (!test::MatchesReference(row, *e, &why) && ++mismatched <= 5) {
      ADD_FAILURE() << file << " max_length " << max_length << " text \"" << shown << "\"\n  " << why;
    }
  }
  EXPECT_EQ(mismatched, 0u) << "of " << compared << " encodings of " << file;
  // Every text and every pair, once.
  EXPECT_EQ(texts, kTexts);
  EXPECT_EQ(pairs, kPairs);
  RecordProperty("encodings", static_cast<int>(compared));
  RecordProperty("refusals", static_cast<int>(refusals));
}

std::vector<Kind> AllKinds() {
  std::vector<Kind> kinds;
  for (const char* file : {"roberta_bpe.json", "gpt2_bpe.json", "metaspace_bpe.json", "metaspace_bpe_legacy.json",
                           "unigram_precompiled.json", "unigram_bytefallback.json", "wordlevel.json",
                           "wordlevel_whitespace.json", "wordpiece_padded.json"}) {
    for (int64_t max_length : {512, 48}) kinds.push_back({file, max_length});
  }
  return kinds;
}

INSTANTIATE_TEST_SUITE_P(Kinds, KindParityTest, ::testing::ValuesIn(AllKinds()), [](const auto& info) {
  const std::string name = info.param.file;
  return name.substr(0, name.size() - 5) + "_" + std::to_string(info.param.max_length);
});

}  // namespace
}  // namespace synapse
