// Tokenizer behaviour that the parity test does not pin down: errors and truncation.
#include "synapse/tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "synapse/error.h"
#include "test_util.h"

namespace synapse {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Vocab(const std::string& dir) {
  test::WriteFile(dir + "/vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nworld\n##s\n!\ncafe\n");
  return dir + "/vocab.txt";
}

TEST(Tokenizer, VocabTxtEncodesWithSpecialTokensAndSubwords) {
  auto tok = Tokenizer::Load(Vocab(test::TempDir("tok_vocab")));
  Example e = tok->Encode("Hello worlds! Café xyz");
  EXPECT_THAT(e.input_ids, ElementsAre(2, 4, 5, 6, 7, 8, 1, 3));
  EXPECT_THAT(e.token_type_ids, ElementsAre(0, 0, 0, 0, 0, 0, 0, 0));
  Example p = tok->Encode("hello", "world");
  EXPECT_THAT(p.input_ids, ElementsAre(2, 4, 3, 5, 3));
  EXPECT_THAT(p.token_type_ids, ElementsAre(0, 0, 0, 1, 1));
}

TEST(Tokenizer, CasedVocabTxtKeepsCaseAndAccents) {
  auto tok = Tokenizer::Load(Vocab(test::TempDir("tok_cased")), TokenizerOptions().lowercase(false));
  EXPECT_THAT(tok->Encode("Hello hello").input_ids, ElementsAre(2, 1, 4, 3));
}

TEST(Tokenizer, PairsAreTruncatedLongestFirst) {
  auto tok = Tokenizer::Load(Vocab(test::TempDir("tok_trunc")), TokenizerOptions().max_length(8));
  // 5 + 2 word pieces, 3 special tokens: 10 > 8, so the longer side loses two.
  Example e = tok->Encode("hello hello hello hello hello", "world world");
  EXPECT_THAT(e.input_ids, ElementsAre(2, 4, 4, 4, 3, 5, 5, 3));
  Example single = tok->Encode("hello hello hello hello hello hello hello hello hello");
  EXPECT_EQ(single.input_ids.size(), 8u);
  EXPECT_EQ(single.input_ids.back(), 3);
}

TEST(Tokenizer, InvalidUtf8IsAnError) {
  auto tok = Tokenizer::Load(Vocab(test::TempDir("tok_utf8")));
  test::ExpectError<TokenizerError>([&] { tok->Encode("ok \xff\xfe bad"); }, 503, "invalid UTF-8 at byte 3");
}

struct BadTokenizer {
  const char* name;
  std::string contents;
  int id;
  const char* message;
};

void PrintTo(const BadTokenizer& b, std::ostream* os) { *os << b.name; }

class BadTokenizerTest : public ::testing::TestWithParam<BadTokenizer> {};

TEST_P(BadTokenizerTest, NamesTheFileAndTheProblem) {
  std::string dir = test::TempDir(std::string("tok_bad_") + GetParam().name);
  test::WriteFile(dir + "/tokenizer.json", GetParam().contents);
  try {
    Tokenizer::Load(dir + "/tokenizer.json");
    FAIL();
  } catch (const TokenizerError& e) {
    EXPECT_EQ(e.id(), GetParam().id) << e.what();
    EXPECT_THAT(e.what(), HasSubstr(dir + "/tokenizer.json: "));
    EXPECT_THAT(e.what(), HasSubstr(GetParam().message));
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Files, BadTokenizerTest,
    ::testing::Values(
        BadTokenizer{"pre_tokenizer", R"({"model": {"type": "BPE", "vocab": {}, "merges": []},
                                           "pre_tokenizer": {"type": "UnicodeScripts"}})",
                     502, "pre_tokenizer.type \"UnicodeScripts\" is not supported (supported: Sequence, ByteLevel"},
        BadTokenizer{"nested_normalizer",
                     R"({"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Nmt"}]},
                         "model": {"type": "Unigram", "vocab": [["a", 0.0]]}})",
                     502, "normalizer.normalizers[1].type \"Nmt\" is not supported"},
        BadTokenizer{"model", R"({"model": {"type": "Hash", "vocab": {}}})", 502,
                     "model.type \"Hash\" is not supported"},
        BadTokenizer{"merge", R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}})", 506,
                     "model.merges[0]: \"a b\" names a token that is not in the vocabulary"},
        BadTokenizer{"regex", R"({"model": {"type": "WordLevel", "vocab": {"a": 0}},
                                  "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a"}, "behavior": "Isolated"}})",
                     506, "pre_tokenizer.pattern: regex \"(a\" does not compile"},
        BadTokenizer{"charsmap", R"({"model": {"type": "Unigram", "vocab": [["a", 0.0]]},
                                     "normalizer": {"type": "Precompiled", "precompiled_charsmap": "AAAA"}})",
                     506, "normalizer.precompiled_charsmap: the charsmap is shorter than its header"},
        BadTokenizer{"dropout", R"({"model": {"type": "BPE", "dropout": 0.1, "vocab": {}, "merges": []}})", 506,
                     "model.dropout: BPE dropout is random"},
        BadTokenizer{"wordpiece_stride",
                     R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}},
                         "truncation": {"max_length": 8, "strategy": "LongestFirst", "stride": 2}})",
                     506, "truncation.stride: overflowing windows (stride 2) are not supported"},
        BadTokenizer{"wordpiece_normalizer",
                     R"({"normalizer": {"type": "Nmt"}, "model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}})", 502,
                     "normalizer.type \"Nmt\" is not supported"},
        BadTokenizer{"untyped", R"({"model": {"vocab": {"a": 0}, "continuing_subword_prefix": "##"}})", 506,
                     "model.type: is missing, and the fields match no model"},
        BadTokenizer{"malformed", R"({"model": )", 501, "malformed JSON"},
        BadTokenizer{"no_unk", R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})", 501,
                     "the unknown token \"[UNK]\" is not in the vocabulary"},
        BadTokenizer{"no_model", R"({"version": "1.0"})", 501, "not a tokenizer.json this version understands"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Tokenizer, MissingFile) { EXPECT_THROW(Tokenizer::Load("/nonexistent/tokenizer.json"), TokenizerError); }

TEST(Tokenizer, VocabTxtWithoutSpecialTokens) {
  std::string dir = test::TempDir("tok_nospecial");
  test::WriteFile(dir + "/vocab.txt", "a\nb\n");
  test::ExpectError<TokenizerError>([&] { Tokenizer::Load(dir + "/vocab.txt"); }, 501,
                                    "[CLS] is not in the vocabulary");
}

}  // namespace
}  // namespace synapse
