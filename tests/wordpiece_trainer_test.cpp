// WordPiece training: merges checked by hand on a tiny corpus, the stopping rules, the
// alphabet limit, determinism, and the saved tokenizer.json read back by synapse::Tokenizer
// and by Hugging Face tokenizers itself (tests/tokenizer_parity/encode.js), which must give
// the same ids on real SpamAssassin messages.
#include "synapse/wordpiece_trainer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "synapse/error.h"
#include "synapse/tokenizer.h"
#include "test_util.h"

namespace synapse {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

// Sennrich et al.'s example, with case that the uncased normalizer folds: low ×5, lower ×2,
// newest ×6, widest ×3.
const std::vector<std::string> kTiny = {"Low low LOW low low lower Lower", "newest newest newest newest newest newest",
                                        "widest widest widest"};

// By hand. Characters (anywhere in a word): e 17, w 16, s 9, t 9, l 7, o 7, n 6, d 3, i 3,
// r 2; inside words all but l and n. Merges, by count then the smaller left/right piece:
//  ##e+##s 9 (ties ##s+##t 9) · ##es+##t 9 · ##o+##w 7 (ties l+##o) · l+##ow 7 ·
//  ##e+##w 6 (ties n+##e, ##w+##est) · ##ew+##est 6 · n+##ewest 6 · ##d+##est 3 ·
//  ##i+##dest 3 · w+##idest 3 · ##e+##r 2 (ties low+##e) · low+##er 2.
const std::vector<std::string> kTinyVocabulary = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",  "e",      "w",      "s",       "t",      "l",    "o",    "n",
    "d",     "i",     "r",     "##e",   "##w",     "##s",    "##t",    "##o",     "##d",    "##i",  "##r",  "##es",
    "##est", "##ow",  "low",   "##ew",  "##ewest", "newest", "##dest", "##idest", "widest", "##er", "lower"};

const std::string kRefDir = SYNAPSE_TOKENIZER_REF_DIR;

const std::vector<std::string>& SpamTexts() {
  static const std::vector<std::string> texts =
      json::parse(std::ifstream(kRefDir + "/texts.json"))["texts"].get<std::vector<std::string>>();
  return texts;
}

// The messages Hugging Face and we train on: five in six (about 5,000), ham and spam.
std::vector<std::string> TrainingMessages() {
  std::vector<std::string> out;
  for (size_t i = 0; i + 14 < SpamTexts().size(); ++i) {  // the last 14 texts are edge cases
    if (i % 6 != 1) out.push_back(SpamTexts()[i]);
  }
  return out;
}

// Every `stride`-th text from `first` on, at most `limit`.
std::vector<std::string> Every(size_t stride, size_t first, size_t limit = SIZE_MAX) {
  std::vector<std::string> out;
  for (size_t i = first; i < SpamTexts().size() && out.size() < limit; i += stride) out.push_back(SpamTexts()[i]);
  return out;
}

std::vector<std::string> Prefix(const std::vector<std::string>& v, size_t n) {
  return {v.begin(), v.begin() + static_cast<std::ptrdiff_t>(std::min(n, v.size()))};
}

int64_t Id(const WordPieceVocabulary& v, const std::string& token) {
  auto it = std::find(v.tokens.begin(), v.tokens.end(), token);
  return it == v.tokens.end() ? -1 : it - v.tokens.begin();
}

// One code point, alone or after "##": an alphabet piece, not a merge.
bool IsAlphabetPiece(const std::string& token) {
  std::string s = token.compare(0, 2, "##") == 0 && token.size() > 2 ? token.substr(2) : token;
  if (s.empty()) return false;
  size_t n = 1;
  while (n < s.size() && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) ++n;
  return n == s.size();
}

std::unique_ptr<Tokenizer> SaveAndLoad(const WordPieceVocabulary& v, const std::string& name) {
  const std::string path = test::TempDir(name) + "/tokenizer.json";
  SaveTokenizerJson(v, path);
  return Tokenizer::Load(path);
}

TEST(WordPieceTrainer, TinyCorpusGivesTheHandCheckedVocabulary) {
  WordPieceVocabulary v = TrainWordPiece(kTiny, WordPieceTrainerOptions().vocab_size(100));
  EXPECT_THAT(v.tokens, ElementsAreArray(kTinyVocabulary));
  EXPECT_TRUE(v.lowercase);
  EXPECT_EQ(v.max_input_chars_per_word, 100);
  EXPECT_EQ(v.max_length, 128);
}

TEST(WordPieceTrainer, VocabSizeStopsTheMerges) {
  // Five specials and eighteen alphabet pieces leave room for the first four merges.
  WordPieceVocabulary v = TrainWordPiece(kTiny, WordPieceTrainerOptions().vocab_size(27));
  EXPECT_THAT(v.tokens, ElementsAreArray(Prefix(kTinyVocabulary, 27)));

  const std::vector<std::string> texts = Every(7, 0, 400);
  WordPieceVocabulary big = TrainWordPiece(texts, WordPieceTrainerOptions().vocab_size(1500));
  WordPieceVocabulary small = TrainWordPiece(texts, WordPieceTrainerOptions().vocab_size(700));
  EXPECT_EQ(big.tokens.size(), 1500u);
  EXPECT_EQ(small.tokens.size(), 700u);
  EXPECT_EQ(small.tokens, Prefix(big.tokens, 700)) << "a smaller vocabulary is the same training stopped early";
}

TEST(WordPieceTrainer, MinFrequencyStopsTheMerges) {
  // The last two merges (##er, lower) were seen twice only.
  WordPieceVocabulary v = TrainWordPiece(kTiny, WordPieceTrainerOptions().vocab_size(100).min_frequency(3));
  EXPECT_THAT(v.tokens, ElementsAreArray(Prefix(kTinyVocabulary, kTinyVocabulary.size() - 2)));
  v = TrainWordPiece(kTiny, WordPieceTrainerOptions().vocab_size(100).min_frequency(7));
  EXPECT_THAT(v.tokens, ElementsAreArray(Prefix(kTinyVocabulary, 23 + 4)));
  v = TrainWordPiece(kTiny, WordPieceTrainerOptions().vocab_size(100).min_frequency(10));
  EXPECT_THAT(v.tokens, ElementsAreArray(Prefix(kTinyVocabulary, 23))) << "no pair is seen 10 times";

  const std::vector<std::string> texts = Every(7, 0, 400);
  WordPieceVocabulary all = TrainWordPiece(texts, WordPieceTrainerOptions().vocab_size(100000));
  WordPieceVocabulary frequent = TrainWordPiece(texts, WordPieceTrainerOptions().vocab_size(100000).min_frequency(50));
  EXPECT_LT(frequent.tokens.size(), all.tokens.size());
  EXPECT_EQ(frequent.tokens, Prefix(all.tokens, frequent.tokens.size()));
}

TEST(WordPieceTrainer, LimitAlphabetLeavesRareCharactersToUnk) {
  std::vector<std::string> texts = kTiny;
  texts.push_back("ж");  // once: the rarest character
  WordPieceVocabulary limited = TrainWordPiece(texts, WordPieceTrainerOptions().vocab_size(100).limit_alphabet(10));
  EXPECT_EQ(Id(limited, "ж"), -1);
  EXPECT_THAT(limited.tokens, ElementsAreArray(kTinyVocabulary)) << "nothing else changes";
  auto tok = SaveAndLoad(limited, "wp_alphabet");
  EXPECT_THAT(tok->Encode("ж low").input_ids, ElementsAre(2, 1, Id(limited, "low"), 3));
  EXPECT_THAT(tok->Encode("lowж").input_ids, ElementsAre(2, 1, 3)) << "the whole word is unknown";

  WordPieceVocabulary full = TrainWordPiece(texts, WordPieceTrainerOptions().vocab_size(100).limit_alphabet(11));
  EXPECT_EQ(Id(full, "ж"), 15) << "after the ten other characters";
  EXPECT_THAT(SaveAndLoad(full, "wp_alphabet_full")->Encode("ж").input_ids, ElementsAre(2, 15, 3));
}

TEST(WordPieceTrainer, SameWordsGiveTheSameVocabularyInAnyOrder) {
  std::vector<std::string> texts = Every(5, 1, 600);
  WordPieceVocabulary a = TrainWordPiece(texts, WordPieceTrainerOptions().vocab_size(2000));
  WordPieceVocabulary b = TrainWordPiece(texts, WordPieceTrainerOptions().vocab_size(2000));
  std::reverse(texts.begin(), texts.end());
  WordPieceVocabulary reversed = TrainWordPiece(texts, WordPieceTrainerOptions().vocab_size(2000));
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.tokens, reversed.tokens);
  EXPECT_EQ(std::set<std::string>(a.tokens.begin(), a.tokens.end()).size(), a.tokens.size()) << "no duplicates";
}

TEST(WordPieceTrainer, CasedTrainingKeepsCaseAndAccents) {
  WordPieceVocabulary v =
      TrainWordPiece({"Café Café café CAFÉ"}, WordPieceTrainerOptions().vocab_size(100).lowercase(false));
  EXPECT_NE(Id(v, "Café"), -1);
  EXPECT_NE(Id(v, "C"), -1);
  EXPECT_NE(Id(v, "##É"), -1);
  EXPECT_FALSE(v.lowercase);
  auto tok = SaveAndLoad(v, "wp_cased");
  EXPECT_THAT(tok->Encode("Café café").input_ids, ElementsAre(2, Id(v, "Café"), Id(v, "c"), Id(v, "##afé"), 3));
}

TEST(WordPieceTrainer, SavedTokenizerEncodesAsTheVocabularyImplies) {
  WordPieceVocabulary v =
      TrainWordPiece(kTiny, WordPieceTrainerOptions().vocab_size(100).max_length(9).max_input_chars_per_word(6));
  auto tok = SaveAndLoad(v, "wp_roundtrip");
  EXPECT_EQ(tok->vocab_size(), static_cast<int64_t>(kTinyVocabulary.size()));
  EXPECT_EQ(tok->max_length(), 9);
  EXPECT_EQ(tok->pad_id(), 0);
  auto ids = [&](std::initializer_list<const char*> tokens) {
    std::vector<int64_t> out;
    for (const char* t : tokens) out.push_back(Id(v, t));
    return out;
  };
  // Greedy longest match: "lowest" = low ##est, "newer" = n ##ew ##er, "Wider" = w ##i ##d ##er.
  EXPECT_EQ(tok->Encode("LOWEST newer").input_ids, ids({"[CLS]", "low", "##est", "n", "##ew", "##er", "[SEP]"}));
  EXPECT_EQ(tok->Encode("Wider, lówer").input_ids, ids({"[CLS]", "w", "##i", "##d", "##er", "[UNK]", "lower", "[SEP]"}))
      << "',' is not in the alphabet; accents are stripped";
  EXPECT_EQ(tok->Encode("widests").input_ids, ids({"[CLS]", "[UNK]", "[SEP]"})) << "7 characters > 6";
  // 5 + 2 pieces and 3 specials > 9: the longer side is cut to 4.
  Example pair = tok->Encode("low low low low low", "newest widest");
  EXPECT_EQ(pair.input_ids, ids({"[CLS]", "low", "low", "low", "low", "[SEP]", "newest", "widest", "[SEP]"}));
  EXPECT_THAT(pair.token_type_ids, ElementsAre(0, 0, 0, 0, 0, 0, 1, 1, 1));
  EXPECT_EQ(tok->Encode("low low low low low low low low").input_ids.size(), 9u) << "truncated to max_length";
}

TEST(WordPieceTrainer, SavedJsonHasTheShapeHuggingFaceWrites) {
  WordPieceVocabulary v = TrainWordPiece(kTiny, WordPieceTrainerOptions().vocab_size(100));
  const std::string dir = test::TempDir("wp_shape");
  SaveTokenizerJson(v, dir + "/tokenizer.json");
  const json ours = json::parse(test::ReadFile(dir + "/tokenizer.json"));
  const json hf = json::parse(std::ifstream(kRefDir + "/uncased.json"));  // saved by Hugging Face
  for (const char* key : {"version", "padding", "added_tokens", "normalizer", "pre_tokenizer", "post_processor"}) {
    EXPECT_EQ(ours[key], hf[key]) << key;
  }
  EXPECT_EQ(ours["truncation"],
            json({{"direction", "Right"}, {"max_length", 128}, {"strategy", "LongestFirst"}, {"stride", 0}}));
  EXPECT_EQ(ours["decoder"], json({{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}}));
  json model = ours["model"];
  const json vocab = model["vocab"];
  model.erase("vocab");
  json hf_model = hf["model"];
  hf_model.erase("vocab");
  EXPECT_EQ(model, hf_model);
  ASSERT_EQ(vocab.size(), kTinyVocabulary.size());
  for (size_t i = 0; i < kTinyVocabulary.size(); ++i) EXPECT_EQ(vocab[kTinyVocabulary[i]], i) << kTinyVocabulary[i];
  // Written in id order, as Hugging Face does.
  const std::string text = test::ReadFile(dir + "/tokenizer.json");
  EXPECT_LT(text.find("\"[PAD]\":0"), text.find("\"e\":5"));
  EXPECT_LT(text.find("\"e\":5"), text.find("\"lower\":34"));
}

TEST(WordPieceTrainer, ErrorsNameTheFieldAndWhatToDo) {
  test::ExpectError<TokenizerError>([] { TrainWordPiece(kTiny, WordPieceTrainerOptions().vocab_size(20)); }, 504,
                                    "vocab_size 20 is below the 5 special tokens plus the 18-token alphabet; "
                                    "raise vocab_size to at least 23 or lower limit_alphabet");
  test::ExpectError<TokenizerError>([] { TrainWordPiece(kTiny, WordPieceTrainerOptions().limit_alphabet(0)); }, 504,
                                    "WordPieceTrainerOptions::limit_alphabet 0 keeps no character");
  test::ExpectError<TokenizerError>([] { TrainWordPiece(kTiny, WordPieceTrainerOptions().min_frequency(-1)); }, 504,
                                    "min_frequency -1 is negative");
  test::ExpectError<TokenizerError>([] { TrainWordPiece({"", " \t\n"}); }, 504, "the 2 training texts contain no word");
  test::ExpectError<TokenizerError>(
      [] {
        TrainWordPiece({"fine", "ok \xff bad"});
      },
      503, "training text 1: invalid UTF-8 at byte 3");
  const WordPieceVocabulary v = TrainWordPiece(kTiny, WordPieceTrainerOptions().vocab_size(100));
  test::ExpectError<TokenizerError>([&] { SaveTokenizerJson(v, "/nonexistent/dir/tokenizer.json"); }, 505,
                                    "/nonexistent/dir/tokenizer.json: cannot write: No such file or directory; "
                                    "check that the directory exists and is writable");
  WordPieceVocabulary bad = v;
  std::swap(bad.tokens[0], bad.tokens[1]);
  test::ExpectError<TokenizerError>([&] { SaveTokenizerJson(bad, test::TempDir("wp_bad") + "/t.json"); }, 504,
                                    "cannot save this vocabulary: tokens[0] must be [PAD]");
  bad = v;
  bad.tokens.push_back("low");
  test::ExpectError<TokenizerError>([&] { SaveTokenizerJson(bad, test::TempDir("wp_bad") + "/t.json"); }, 504,
                                    "token \"low\" appears twice");
}

// --- Hugging Face itself on real messages ------------------------------------------------

const std::string kNode = std::string("NODE_PATH='") + SYNAPSE_NODE_PATH + "' node '" + SYNAPSE_TOKENIZER_SCRIPTS;

// Encodes `items` (texts or [text, pair]) with Hugging Face tokenizers and the tokenizer.json
// at `path`, and compares every encoding with synapse::Tokenizer's.
void ExpectHuggingFaceIds(const std::string& path, const json& items, const std::string& scratch) {
  test::WriteFile(scratch + "/items.json", items.dump());
  const test::CommandResult r = test::RunCommand(
      kNode + "/encode.js' '" + path + "' '" + scratch + "/items.json' '" + scratch + "/hf.jsonl'", scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(scratch + "/hf.jsonl");
  auto tok = Tokenizer::Load(path);
  size_t row = 0, mismatched = 0;
  for (std::string line; std::getline(in, line); ++row) {
    ASSERT_LT(row, items.size());
    const json hf = json::parse(line);
    const json& item = items[row];
    const Example e = item.is_array() ? tok->Encode(item[0].get<std::string>(), item[1].get<std::string>())
                                      : tok->Encode(item.get<std::string>());
    if (e.input_ids != hf["ids"].get<std::vector<int64_t>>() ||
        e.token_type_ids != hf["type_ids"].get<std::vector<int64_t>>()) {
      if (++mismatched <= 5) ADD_FAILURE() << path << " item " << row << ": " << item.dump().substr(0, 120);
    }
  }
  EXPECT_EQ(row, items.size());
  EXPECT_EQ(mismatched, 0u);
  std::cout << "[ parity   ] " << row - mismatched << " / " << row
            << " encodings with the trained vocabulary identical to Hugging Face tokenizers\n";
}

TEST(WordPieceTrainer, HuggingFaceEncodesWithTheTrainedVocabularyAsWeDo) {
  const std::vector<std::string> train = TrainingMessages();
  const auto start = std::chrono::steady_clock::now();
  WordPieceVocabulary v = TrainWordPiece(train);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(v.tokens.size(), 4096u);
  std::cout << "[ train    ] " << train.size() << " messages, vocab 4096 in " << seconds << " s\n";

  const std::string dir = test::TempDir("wp_hf_parity");
  SaveTokenizerJson(v, dir + "/tokenizer.json");
  // Messages it was not trained on, the edge cases (accents, CJK, emoji, controls, long
  // words, [CLS] in the text) and pairs; several are cut by max_length 128.
  json items = json::array();
  for (const std::string& t : Every(6, 1, 300)) items.push_back(t);  // none trained on
  for (size_t i = SpamTexts().size() - 14; i < SpamTexts().size(); ++i) items.push_back(SpamTexts()[i]);
  for (size_t i = 0; i < 30; ++i) items.push_back({SpamTexts()[i * 97 + 2].substr(0, 300), SpamTexts()[i * 89 + 5]});
  ExpectHuggingFaceIds(dir + "/tokenizer.json", items, dir);
}

TEST(WordPieceTrainer, HuggingFaceEncodesWithATrainedCasedVocabularyAsWeDo) {
  WordPieceVocabulary v =
      TrainWordPiece(Every(9, 4), WordPieceTrainerOptions().vocab_size(3000).lowercase(false).limit_alphabet(300));
  const std::string dir = test::TempDir("wp_hf_cased");
  SaveTokenizerJson(v, dir + "/tokenizer.json");
  json items = json::array();
  for (const std::string& t : Every(31, 2, 150)) items.push_back(t);
  for (size_t i = SpamTexts().size() - 14; i < SpamTexts().size(); ++i) items.push_back(SpamTexts()[i]);
  ExpectHuggingFaceIds(dir + "/tokenizer.json", items, dir);
}

// For information only: Hugging Face's own trainer on the same texts. Its ties go by
// hash-order ids, and the Node binding offers only its defaults (no alphabet limit,
// min_frequency 0), so the vocabularies are compared, not required to be equal.
TEST(WordPieceTrainer, OverlapWithHuggingFacesOwnTrainer) {
  const std::vector<std::string> train = TrainingMessages();
  WordPieceVocabulary v = TrainWordPiece(train);
  const std::string dir = test::TempDir("wp_hf_trainer");
  test::WriteFile(dir + "/texts.json", json(train).dump());
  const test::CommandResult r =
      test::RunCommand(kNode + "/train_wordpiece.js' '" + dir + "/texts.json' '" + dir + "/hf.json'", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json hf = json::parse(test::ReadFile(dir + "/hf.json"));
  const auto hf_tokens = hf["tokens"].get<std::vector<std::string>>();
  const size_t hf_alphabet = hf["alphabet"].get<size_t>();

  std::vector<std::string> our_alphabet, our_merges;
  for (size_t i = 5; i < v.tokens.size(); ++i)
    (IsAlphabetPiece(v.tokens[i]) ? our_alphabet : our_merges).push_back(v.tokens[i]);
  ASSERT_GE(hf_tokens.size(), hf_alphabet + our_merges.size());
  const std::set<std::string> hf_merges(hf_tokens.begin() + hf_alphabet,
                                        hf_tokens.begin() + hf_alphabet + our_merges.size());
  const std::set<std::string> hf_alphabet_set(hf_tokens.begin(), hf_tokens.begin() + hf_alphabet);
  size_t same_merges = 0, same_alphabet = 0, same_place = 0;
  for (size_t i = 0; i < our_merges.size(); ++i) {
    same_merges += hf_merges.count(our_merges[i]);
    same_place += our_merges[i] == hf_tokens[hf_alphabet + i];
  }
  for (const std::string& t : our_alphabet) same_alphabet += hf_alphabet_set.count(t);
  const size_t ours = our_alphabet.size() + our_merges.size();
  std::cout << "[ hf train ] our " << v.tokens.size() << " tokens = 5 special + " << our_alphabet.size()
            << " alphabet + " << our_merges.size() << " merges; Hugging Face's alphabet has " << hf_alphabet
            << " pieces (no limit)\n"
            << "[ hf train ] alphabet: " << same_alphabet << " / " << our_alphabet.size()
            << " of ours in HF's; merges: " << same_merges << " / " << our_merges.size() << " of ours among HF's first "
            << our_merges.size() << " (" << same_place << " at the same position); vocabulary overlap "
            << same_alphabet + same_merges << " / " << ours << " = "
            << 100.0 * static_cast<double>(same_alphabet + same_merges) / static_cast<double>(ours) << "%\n";
  EXPECT_GT(same_merges, our_merges.size() * 9 / 10) << "the same algorithm should mostly agree";
}

}  // namespace
}  // namespace synapse
