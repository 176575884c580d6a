// Small tokenizer.json files of each pipeline component, with the ids Hugging Face
// tokenizers 0.22 (Node binding @anush008/tokenizers 0.6.0) gives for them, recorded by
// hand from the binding: BPE prefixes/suffixes, fuse_unk, byte fallback and no unk; added
// tokens' lstrip/rstrip/single_word/normalized and the ids the library assigns; Split
// behaviours; Metaspace prepend_scheme "first"; truncation and padding from the file;
// WordPiece files with padding and single_word; repeated Unigram pieces; untyped models.
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

// A BERT-family file with what the WordPiece path once ignored: padding (Fixed, to a
// multiple, from the left, a pad type id), Left and OnlyFirst truncation, a single_word
// normalized added token (not in the vocabulary: the library gives it id 12) and an lstrip
// [MASK]. Every id below is what the Node binding gives for the same file.
json BertFile() {
  json vocab = json::object();
  for (const char* t : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "win", "##s", "a", "cruise", "fr", "##ee", "!"})
    vocab[t] = static_cast<int64_t>(vocab.size());
  auto special = [](const char* name, int64_t id) { return json{{"SpecialToken", {{"id", name}, {"type_id", id}}}}; };
  auto sequence = [](const char* name, int64_t id) { return json{{"Sequence", {{"id", name}, {"type_id", id}}}}; };
  return {
      {"model",
       {{"type", "WordPiece"},
        {"unk_token", "[UNK]"},
        {"continuing_subword_prefix", "##"},
        {"max_input_chars_per_word", 100},
        {"vocab", vocab}}},
      {"normalizer",
       {{"type", "BertNormalizer"},
        {"clean_text", true},
        {"handle_chinese_chars", true},
        {"strip_accents", nullptr},
        {"lowercase", true}}},
      {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0)}},
        {"pair", {special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0), sequence("B", 1), special("[SEP]", 1)}},
        {"special_tokens",
         {{"[CLS]", {{"id", "[CLS]"}, {"ids", {2}}, {"tokens", {"[CLS]"}}}},
          {"[SEP]", {{"id", "[SEP]"}, {"ids", {3}}, {"tokens", {"[SEP]"}}}}}}}},
      {"added_tokens",
       {AddedToken("[PAD]", true, false, false, false, false), AddedToken("[UNK]", true, false, false, false, false),
        AddedToken("[CLS]", true, false, false, false, false), AddedToken("[SEP]", true, false, false, false, false),
        AddedToken("[MASK]", true, true, false, false, false), AddedToken("free", false, false, false, true, true)}}};
}

TEST(PipelineTokenizer, WordPieceSingleWordAddedTokenAsHuggingFace) {
  auto t = Load("wordpiece_plain", BertFile());
  EXPECT_THAT(Ids(*t, "Win a FREE cruise!"), ElementsAre(2, 5, 7, 12, 8, 11, 3));
  // "freely" is no single word "free": WordPiece finds fr + nothing for "eely", so [UNK].
  EXPECT_THAT(Ids(*t, "wins freely [MASK] free!"), ElementsAre(2, 5, 6, 1, 4, 12, 11, 3));
  Example p = t->Encode("free cruise", std::string("a  [MASK]"));
  EXPECT_THAT(p.input_ids, ElementsAre(2, 12, 8, 3, 7, 4, 3));
  EXPECT_THAT(p.token_type_ids, ElementsAre(0, 0, 0, 0, 1, 1, 1));
  EXPECT_EQ(t->Describe(), "WordPiece (tokenizer.json)");
  EXPECT_EQ(t->vocab_size(), 13);
  EXPECT_EQ(t->pad_id(), 0);
}

TEST(PipelineTokenizer, WordPiecePaddingFixedToAMultipleFromTheLeftAsHuggingFace) {
  json j = BertFile();
  j["padding"] = {{"strategy", {{"Fixed", 12}}},
                  {"direction", "Left"},
                  {"pad_to_multiple_of", 8},
                  {"pad_id", 0},
                  {"pad_type_id", 1},
                  {"pad_token", "[PAD]"}};
  j["truncation"] = {{"direction", "Left"}, {"max_length", 9}, {"strategy", "LongestFirst"}, {"stride", 0}};
  auto t = Load("wordpiece_padded", j);
  Example e = t->Encode("Win a FREE cruise!");
  EXPECT_THAT(e.input_ids, ElementsAre(0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 5, 7, 12, 8, 11, 3));
  EXPECT_THAT(e.token_type_ids, ElementsAre(1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0));
  EXPECT_THAT(e.attention_mask, ElementsAre(0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1));
  // Ten tokens, nine allowed: Left truncation drops a leading "win".
  EXPECT_THAT(Ids(*t, "win win win win win win win win"), ElementsAre(0, 0, 0, 0, 0, 0, 0, 2, 5, 5, 5, 5, 5, 5, 5, 3));
  EXPECT_EQ(t->max_length(), 9);
}

TEST(PipelineTokenizer, WordPieceOnlyFirstTruncationAndBatchLongestPaddingAsHuggingFace) {
  json j = BertFile();
  j["padding"] = {{"strategy", "BatchLongest"}, {"direction", "Right"}, {"pad_to_multiple_of", 4}, {"pad_id", 0},
                  {"pad_type_id", 0},           {"pad_token", "[PAD]"}};
  j["truncation"] = {{"direction", "Right"}, {"max_length", 8}, {"strategy", "OnlyFirst"}, {"stride", 0}};
  auto t = Load("wordpiece_only_first", j);
  Example e = t->Encode("Win a FREE cruise!");
  EXPECT_THAT(e.input_ids, ElementsAre(2, 5, 7, 12, 8, 11, 3, 0));
  EXPECT_THAT(e.attention_mask, ElementsAre(1, 1, 1, 1, 1, 1, 1, 0));
  EXPECT_THAT(Ids(*t, "win win win win win win win win"), ElementsAre(2, 5, 5, 5, 5, 5, 5, 3));
  EXPECT_THAT(t->Encode("free cruise", std::string("a  [MASK]")).input_ids, ElementsAre(2, 12, 8, 3, 7, 4, 3, 0));
}

TEST(PipelineTokenizer, UnigramRepeatedPieceTheLastOccurrenceWins) {
  // "a" at 1 (-1) and 5 (-3), "ab" at 3 (-5) and 4 (-0.5): as the Node binding, the last of
  // each, with its score, so "ab" is one piece (4) and "a" is 5.
  auto t = Load(
      "unigram_repeated",
      {{"model",
        {{"type", "Unigram"},
         {"unk_id", 0},
         {"vocab",
          json::parse(R"([["<unk>", 0.0], ["a", -1.0], ["b", -1.0], ["ab", -5.0], ["ab", -0.5], ["a", -3.0]])")}}}});
  EXPECT_THAT(Ids(*t, "ab"), ElementsAre(4));
  EXPECT_THAT(Ids(*t, "aab"), ElementsAre(5, 4));
  EXPECT_THAT(Ids(*t, "ba"), ElementsAre(2, 5));
  EXPECT_THAT(Ids(*t, "abc"), ElementsAre(4, 0));
  EXPECT_EQ(t->vocab_size(), 6);
}

TEST(PipelineTokenizer, UntypedModelIsTheFirstVariantWhoseFieldsAreAllThere) {
  // As ModelWrapper's untagged deserialization: BPE, WordPiece, WordLevel, Unigram, each
  // needing all its required fields. Ids from the Node binding.
  const json vocab = {{"[UNK]", 0}, {"ab", 1}, {"a", 2}, {"##b", 3}};
  auto untyped = [&](const std::string& name, json model) {
    model["vocab"] = vocab;
    return Load(name, {{"model", model}, {"pre_tokenizer", {{"type", "WhitespaceSplit"}}}});
  };
  // No max_input_chars_per_word: not a WordPiece, so a WordLevel.
  auto wl = untyped("untyped_wordlevel", {{"unk_token", "[UNK]"}, {"continuing_subword_prefix", "##"}});
  EXPECT_EQ(wl->Describe(), "WordLevel (tokenizer.json)");
  EXPECT_THAT(Ids(*wl, "ab a abb"), ElementsAre(1, 2, 0));
  auto wp = untyped("untyped_wordpiece",
                    {{"unk_token", "[UNK]"}, {"continuing_subword_prefix", "##"}, {"max_input_chars_per_word", 100}});
  EXPECT_EQ(wp->Describe(), "WordPiece (tokenizer.json)");
  EXPECT_THAT(Ids(*wp, "ab a abb"), ElementsAre(1, 2, 1, 3));
  auto bpe = untyped("untyped_bpe", {{"merges", json::array()},
                                     {"unk_token", "[UNK]"},
                                     {"continuing_subword_prefix", "##"},
                                     {"max_input_chars_per_word", 100}});
  EXPECT_EQ(bpe->Describe(), "BPE (tokenizer.json)");
  EXPECT_THAT(Ids(*bpe, "ab a abb"), ElementsAre(2, 3, 2, 2, 3, 3));
  // The library refuses these ("data did not match any variant of untagged enum"): so does Synapse.
  for (const json& model : {json{{"continuing_subword_prefix", "##"}}, json::object()}) {
    test::ExpectError<TokenizerError>([&] { untyped("untyped_none", model); }, 506,
                                      "model.type: is missing, and the fields match no model");
  }
}

TEST(PipelineTokenizer, InvalidUtf8IsRefused) {
  auto t = Load("utf8", {{"model", {{"type", "WordLevel"}, {"vocab", {{"<unk>", 0}}}}}});
  test::ExpectError<TokenizerError>([&] { t->Encode("a\xFF"); }, 503, "invalid UTF-8");
}

}  // namespace
}  // namespace synapse
