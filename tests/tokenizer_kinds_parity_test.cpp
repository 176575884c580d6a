// Token ids identical to Hugging Face tokenizers (Rust, Node binding) for every tokenizer.json
// kind besides WordPiece: byte-level BPE (RoBERTa, GPT-2), BPE with Metaspace and byte
// fallback (Llama style), Unigram with a SentencePiece precompiled charsmap (ALBERT / T5 /
// XLM-R style) and with byte fallback, WordLevel with Split/Digits/Punctuation. Trained by
// the library on the SpamAssassin corpus; every raw message plus hard-Unicode edge cases,
// single and paired, at two max lengths. References: tests/tokenizer_parity/
// make_reference_more.js (and make_precompiled.py for the charsmap).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "synapse/error.h"
#include "synapse/tokenizer.h"

namespace synapse {
namespace {

using nlohmann::json;

const std::string kDir = std::string(SYNAPSE_TOKENIZER_REF_DIR) + "/kinds";

struct Corpus {
  json texts;
  std::map<std::string, std::vector<json>> rows;  // by tokenizer file
};

const Corpus& References() {
  static const Corpus corpus = [] {
    Corpus c;
    c.texts = json::parse(std::ifstream(kDir + "/texts.json"));
    std::ifstream in(kDir + "/reference.jsonl");
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      json row = json::parse(line);
      c.rows[row["tokenizer"].get<std::string>()].push_back(std::move(row));
    }
    return c;
  }();
  return corpus;
}

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

struct Kind {
  const char* file;
  size_t min_rows;  // what make_reference_more.js writes, so that a short file fails
};

class KindParityTest : public ::testing::TestWithParam<Kind> {};

TEST_P(KindParityTest, IdsTypeIdsAndMaskAsHuggingFace) {
  const Corpus& corpus = References();
  const std::string file = GetParam().file;
  ASSERT_TRUE(corpus.rows.count(file)) << "no reference rows for " << file << " in " << kDir;
  std::map<int64_t, std::unique_ptr<Tokenizer>> by_length;
  size_t compared = 0, mismatched = 0, refusals = 0;
  for (const json& row : corpus.rows.at(file)) {
    const int64_t max_length = row["max_length"];
    auto& tok = by_length[max_length];
    if (!tok) tok = Tokenizer::Load(kDir + "/" + file, TokenizerOptions().max_length(max_length));
    std::string shown;
    std::optional<Example> e;
    std::string error;
    try {
      if (row.contains("pair")) {
        const json& p = corpus.texts["pairs"][row["pair"].get<size_t>()];
        shown = p[0].get<std::string>().substr(0, 60);
        e = tok->Encode(p[0].get<std::string>(), p[1].get<std::string>());
      } else {
        const std::string& text = corpus.texts["texts"][row["text"].get<size_t>()].get_ref<const std::string&>();
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
    const auto ids = row["ids"].get<std::vector<int64_t>>();
    const auto types = row["type_ids"].get<std::vector<int64_t>>();
    const auto mask = row["attention_mask"].get<std::vector<int64_t>>();
    if (e->input_ids != ids || e->token_type_ids != types || e->attention_mask != mask) {
      if (++mismatched <= 5) {
        const size_t at = FirstDifference(ids, e->input_ids);
        ADD_FAILURE() << file << " max_length " << max_length << " text \"" << shown
                      << "\"\n  hf:      " << Show(ids, at) << "\n  synapse: " << Show(e->input_ids, at)
                      << "\n  type ids equal: " << (e->token_type_ids == types)
                      << ", masks equal: " << (e->attention_mask == mask);
      }
    }
  }
  EXPECT_EQ(mismatched, 0u) << "of " << compared << " encodings of " << file;
  EXPECT_GE(compared, GetParam().min_rows);
  RecordProperty("encodings", static_cast<int>(compared));
  RecordProperty("refusals", static_cast<int>(refusals));
}

INSTANTIATE_TEST_SUITE_P(Kinds, KindParityTest,
                         ::testing::Values(Kind{"roberta_bpe.json", 6730}, Kind{"gpt2_bpe.json", 1284},
                                           Kind{"metaspace_bpe.json", 6730}, Kind{"metaspace_bpe_legacy.json", 1284},
                                           Kind{"unigram_precompiled.json", 6730},
                                           Kind{"unigram_bytefallback.json", 1284}, Kind{"wordlevel.json", 6730},
                                           Kind{"wordlevel_whitespace.json", 1284}),
                         [](const auto& info) {
                           std::string name = info.param.file;
                           return name.substr(0, name.size() - 5);
                         });

}  // namespace
}  // namespace synapse
