// Small tokenizer.json files of each pipeline component, with the ids Hugging Face
// tokenizers 0.22 (Node binding @anush008/tokenizers 0.6.0) gives for them, recorded by
// hand from the binding: BPE prefixes/suffixes, fuse_unk, byte fallback and no unk; added
// tokens' lstrip/rstrip/single_word/normalized and the ids the library assigns; Split
// behaviours; Metaspace prepend_scheme "first"; truncation and padding from the file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "synapse/error.h"
#include "synapse/tokenizer.h"
#include "test_util.h"

namespace synapse {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::unique_ptr<Tokenizer> Load(const std::string& name, json j, const TokenizerOptions& options = {}) {
  for (const char* key : {"normalizer", "pre_tokenizer", "post_processor", "truncation", "padding"}) {
    if (!j.contains(key)) j[key] = nullptr;
  }
  if (!j.contains("added_tokens")) j["added_tokens"] = json::array();
  const std::string dir = test::TempDir("tok_pipeline_" + name);
  test::WriteFile(dir + "/tokenizer.json", j.dump());
  return Tokenizer::Load(dir + "/tokenizer.json", options);
}

std::vector<int64_t> Ids(const Tokenizer& t, const std::string& text) { return t.Encode(text).input_ids; }

json AddedToken(const std::string& content, bool special, bool lstrip, bool rstrip, bool single_word, bool normalized) {
  return {{"id", 999},        {"content", content},         {"special", special},      {"lstrip", lstrip},
          {"rstrip", rstrip}, {"single_word", single_word}, {"normalized", normalized}};
}

TEST(PipelineTokenizer, BpePrefixAndSuffix) {
  auto t = Load("affixes", {{"model",
                             {{"type", "BPE"},
                              {"vocab",
                               {{"<unk>", 0},
                                {"l", 1},
                                {"##o", 2},
                                {"##w</w>", 3},
                                {"lo", 4},
                                {"low</w>", 5},
                                {"##o</w>", 6},
                                {"l</w>", 7}}},
                              {"merges", json::array({json::array({"l", "##o"}), json::array({"lo", "##w</w>"})})},
                              {"unk_token", "<unk>"},
                              {"continuing_subword_prefix", "##"},
                              {"end_of_word_suffix", "</w>"}}},
                            {"pre_tokenizer", {{"type", "WhitespaceSplit"}}}});
  EXPECT_THAT(Ids(*t, "low lo l lox xx"), ElementsAre(5, 1, 6, 7, 4, 0, 0, 0));
  EXPECT_EQ(t->Describe(), "BPE (tokenizer.json)");
}

TEST(PipelineTokenizer, BpeFuseUnkAndMergeStrings) {
  auto t = Load("fuse", {{"model",
                          {{"type", "BPE"},
                           {"vocab", {{"<unk>", 0}, {"a", 1}, {"b", 2}, {"ab", 3}}},
                           {"merges", {"a b"}},
                           {"unk_token", "<unk>"},
                           {"fuse_unk", true}}}});
  EXPECT_THAT(Ids(*t, "abxxab"), ElementsAre(3, 0, 3));
  EXPECT_THAT(Ids(*t, "xyz"), ElementsAre(0));
}

TEST(PipelineTokenizer, BpeWithoutUnkDropsUnknownCharacters) {
  // No "type": tokenizers infers BPE from the merges.
  auto t = Load("no_unk", {{"model", {{"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}}}, {"merges", {"a b"}}}}});
  EXPECT_THAT(Ids(*t, "axb"), ElementsAre(2));
  EXPECT_THAT(Ids(*t, "\xC3\xA9"), IsEmpty());
}

TEST(PipelineTokenizer, BpeByteFallback) {
  auto t = Load("bytes", {{"model",
                           {{"type", "BPE"},
                            {"vocab", {{"<unk>", 0}, {"a", 1}, {"<0xC3>", 2}, {"<0xA9>", 3}}},
                            {"merges", json::array()},
                            {"unk_token", "<unk>"},
                            {"byte_fallback", true}}}});
  EXPECT_THAT(Ids(*t,
                  "a\xC3\xA9"
                  "a\xE2\x82\xAC"),
              ElementsAre(1, 2, 3, 1, 0));  // aéa€: € lacks <0xE2>
}

TEST(PipelineTokenizer, AddedTokensStripSingleWordNormalized) {
  auto t = Load(
      "added",
      {{"model",
        {{"type", "WordLevel"},
         {"vocab", {{"[UNK]", 0}, {"a", 1}, {"free", 2}, {"<m>", 3}, {"b", 4}}},
         {"unk_token", "[UNK]"}}},
       {"normalizer", {{"type", "Lowercase"}}},
       {"pre_tokenizer", {{"type", "WhitespaceSplit"}}},
       {"added_tokens",
        {AddedToken("<m>", true, true, true, false, false), AddedToken("FREE", false, false, false, true, true)}}});
  EXPECT_THAT(Ids(*t, "a  <m>  b"), ElementsAre(1, 3, 4));
  // "FREE" is not in the vocabulary: tokenizers gives it the next id (5), whatever the file says.
  EXPECT_THAT(Ids(*t, "Free free! freedom unfree FREE"), ElementsAre(5, 5, 0, 0, 0, 5));
  EXPECT_THAT(Ids(*t, "<M> a<m>b"), ElementsAre(3, 1, 3, 4));
}

TEST(PipelineTokenizer, SplitBehaviors) {
  const json vocab = {{"[UNK]", 0}, {"a", 1}, {"b", 2}, {"ab", 3}, {"-", 4}, {"a-", 5}, {"-b", 6}, {"--", 7}};
  auto split = [&](const std::string& name, const std::string& behavior, const json& pattern) {
    return Load(name, {{"model", {{"type", "WordLevel"}, {"vocab", vocab}, {"unk_token", "[UNK]"}}},
                       {"pre_tokenizer",
                        {{"type", "Split"}, {"pattern", pattern}, {"behavior", behavior}, {"invert", false}}}});
  };
  auto previous = split("previous", "MergedWithPrevious", {{"String", "-"}});
  EXPECT_THAT(Ids(*previous, "a-b"), ElementsAre(5, 2));
  EXPECT_THAT(Ids(*previous, "a--b"), ElementsAre(5, 4, 2));
  EXPECT_THAT(Ids(*previous, "-a"), ElementsAre(4, 1));
  auto next = split("next", "MergedWithNext", {{"String", "-"}});
  EXPECT_THAT(Ids(*next, "a--b"), ElementsAre(1, 4, 6));
  EXPECT_THAT(Ids(*next, "b-"), ElementsAre(2, 4));
  auto contiguous = split("contiguous", "Contiguous", {{"Regex", "-"}});
  EXPECT_THAT(Ids(*contiguous, "a--b-a"), ElementsAre(1, 7, 2, 4, 1));
}

TEST(PipelineTokenizer, MetaspacePrependsOnlyAtTheStartOfTheText) {
  auto t =
      Load("metaspace",
           {{"model",
             {{"type", "WordLevel"},
              {"vocab",
               {{"[UNK]", 0},
                {"\xE2\x96\x81"
                 "a",
                 1},
                {"b", 2},
                {"\xE2\x96\x81"
                 "b",
                 3},
                {"<s>", 4}}},
              {"unk_token", "[UNK]"}}},
            {"added_tokens", {AddedToken("<s>", true, false, false, false, false)}},
            {"pre_tokenizer",
             {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "first"}, {"split", true}}}});
  EXPECT_THAT(Ids(*t, "a b"), ElementsAre(1, 3));
  EXPECT_THAT(Ids(*t, "<s>b a"), ElementsAre(4, 2, 1));  // after an added token: no prefix
}

TEST(PipelineTokenizer, TruncationOnlySecondAndFixedPaddingFromTheLeft) {
  json j = {
      {"model",
       {{"type", "WordLevel"}, {"vocab", {{"[UNK]", 0}, {"a", 1}, {"b", 2}, {"[PAD]", 3}}}, {"unk_token", "[UNK]"}}},
      {"pre_tokenizer", {{"type", "WhitespaceSplit"}}},
      {"truncation", {{"max_length", 4}, {"strategy", "OnlySecond"}, {"direction", "Left"}, {"stride", 0}}},
      {"padding",
       {{"strategy", {{"Fixed", 6}}},
        {"direction", "Left"},
        {"pad_id", 3},
        {"pad_type_id", 0},
        {"pad_token", "[PAD]"},
        {"pad_to_multiple_of", nullptr}}}};
  auto t = Load("trunc", j);
  Example e = t->Encode("a a", std::string("b a b b"));
  EXPECT_THAT(e.input_ids, ElementsAre(3, 3, 1, 1, 2, 2));  // B keeps its last two
  EXPECT_THAT(e.attention_mask, ElementsAre(0, 0, 1, 1, 1, 1));
  EXPECT_THAT(e.token_type_ids, ElementsAre(0, 0, 0, 0, 1, 1));
  test::ExpectError<TokenizerError>([&] { t->Encode("a a a a a"); }, 507,
                                    "OnlySecond strategy truncates only a second");
  EXPECT_EQ(t->max_length(), 4);
  EXPECT_EQ(t->pad_id(), 3);
}

TEST(PipelineTokenizer, InvalidUtf8IsRefused) {
  auto t = Load("utf8", {{"model", {{"type", "WordLevel"}, {"vocab", {{"<unk>", 0}}}}}});
  test::ExpectError<TokenizerError>([&] { t->Encode("a\xFF"); }, 503, "invalid UTF-8");
}

}  // namespace
}  // namespace synapse
