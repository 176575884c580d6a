// WordPiece training as Hugging Face's WordPieceTrainer does it (tokenizers'
// models/bpe/trainer.rs with the "##" continuing prefix), with pair counts kept up to date
// incrementally and ties broken by the pieces' text instead of hash-order ids.
#include "synapse/wordpiece_trainer.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "tokenizer/bert_text.h"
#include "util/json_error_text.h"
#include "util/atomic_file.h"
#include "synapse/error.h"

namespace synapse {
namespace {

constexpr const char* kSpecialTokens[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
constexpr int64_t kSpecialCount = 5;
const std::string kPrefix = "##";

// Two piece ids, left in the high half: one integer key for the hash maps.
using Pair = uint64_t;
Pair MakePair(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}
int32_t LeftOf(Pair p) { return static_cast<int32_t>(p >> 32); }
int32_t RightOf(Pair p) { return static_cast<int32_t>(p & 0xFFFFFFFFu); }

struct Word {
  std::vector<int32_t> pieces;
  int64_t count = 0;
};

// A candidate merge in the queue. `count` may be stale: the queue is lazy, entries are
// checked against the live count when they reach the top.
struct Candidate {
  int64_t count;
  Pair pair;
};

// The order of the merge queue: higher count first, then the smaller left piece, then the
// smaller right piece (byte-wise, which for UTF-8 is code point order).
class CandidateOrder {
 public:
  explicit CandidateOrder(const std::vector<std::string>* tokens) : tokens_(tokens) {}
  // True when `a` comes out of the queue after `b`.
  bool operator()(const Candidate& a, const Candidate& b) const {
    if (a.count != b.count) return a.count < b.count;
    const std::string& a_left = (*tokens_)[LeftOf(a.pair)];
    const std::string& b_left = (*tokens_)[LeftOf(b.pair)];
    if (a_left != b_left) return a_left > b_left;
    return (*tokens_)[RightOf(a.pair)] > (*tokens_)[RightOf(b.pair)];
  }

 private:
  const std::vector<std::string>* tokens_;
};

[[noreturn]] void BadOption(const std::string& what) { throw TokenizerError(504, "WordPieceTrainerOptions::" + what); }

void CheckOptions(const WordPieceTrainerOptions& o) {
  if (o.vocab_size() < kSpecialCount + 1) {
    BadOption("vocab_size " + std::to_string(o.vocab_size()) +
              " leaves no room beside the 5 special tokens; use at least a few hundred");
  }
  if (o.min_frequency() < 0) {
    BadOption("min_frequency " + std::to_string(o.min_frequency()) + " is negative; use 1 or more");
  }
  if (o.limit_alphabet() < 1) {
    BadOption("limit_alphabet " + std::to_string(o.limit_alphabet()) +
              " keeps no character; use 1 or more (1000 by default)");
  }
  if (o.max_input_chars_per_word() < 1) {
    BadOption("max_input_chars_per_word " + std::to_string(o.max_input_chars_per_word()) +
              " must be at least 1 (100 by default)");
  }
  if (o.max_length() < 1) {
    BadOption("max_length " + std::to_string(o.max_length()) + " must be at least 1 (128 by default)");
  }
}

// Distinct pre-tokenized words of the normalized texts, with their number of occurrences.
std::unordered_map<std::string, int64_t> CountWords(const std::vector<std::string>& texts,
                                                    const BertNormalizerConfig& normalizer) {
  std::unordered_map<std::string, int64_t> counts;
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<UChar32> chars;
    try {
      chars = DecodeUtf8(texts[i]);
    } catch (const TokenizerError& e) {
      throw TokenizerError(503, "training text " + std::to_string(i) + ": " + e.detail() + "; pass valid UTF-8");
    }
    BertPreTokenize(BertNormalize(std::move(chars), normalizer), [&](const std::string& word) { ++counts[word]; });
  }
  return counts;
}

class Trainer {
 public:
  Trainer(const std::unordered_map<std::string, int64_t>& word_counts, const WordPieceTrainerOptions& options)
      : options_(options) {
    for (const char* t : kSpecialTokens) AddToken(t);
    // Sorted, so that word indices (and with them every container below) do not depend on
    // hashing.
    std::vector<std::pair<std::string, int64_t>> sorted(word_counts.begin(), word_counts.end());
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::vector<UChar32>> chars;
    chars.reserve(sorted.size());
    for (const auto& [word, count] : sorted) chars.push_back(DecodeUtf8(word));
    BuildAlphabet(sorted, chars);
    for (size_t w = 0; w < sorted.size(); ++w) {
      Word word{{}, sorted[w].second};
      for (size_t i = 0; i < chars[w].size(); ++i) {
        auto it = alphabet_ids_.find(chars[w][i]);
        if (it == alphabet_ids_.end()) continue;  // left out of the alphabet: skipped, as HF does
        word.pieces.push_back(i == 0 ? it->second.first : it->second.second);
      }
      if (word.pieces.size() >= 2) words_.push_back(std::move(word));  // no pair, nothing to merge
    }
  }

  std::vector<std::string> Run() {
    if (static_cast<int64_t>(tokens_.size()) > options_.vocab_size()) {
      throw TokenizerError(504, "WordPieceTrainerOptions::vocab_size " + std::to_string(options_.vocab_size()) +
                                    " is below the 5 special tokens plus the " +
                                    std::to_string(tokens_.size() - kSpecialCount) +
                                    "-token alphabet; raise vocab_size to at least " + std::to_string(tokens_.size()) +
                                    " or lower limit_alphabet");
    }
    CountPairs();
    const int64_t min_count = std::max<int64_t>(1, options_.min_frequency());
    while (static_cast<int64_t>(tokens_.size()) < options_.vocab_size() && !queue_.empty()) {
      const Candidate top = queue_.top();
      queue_.pop();
      auto live = pair_counts_.find(top.pair);
      const int64_t count = live == pair_counts_.end() ? 0 : live->second;
      if (count != top.count) {
        if (count > 0) queue_.push({count, top.pair});
        continue;
      }
      if (count < min_count) break;
      Merge(top.pair);
    }
    return std::move(tokens_);
  }

 private:
  int32_t AddToken(const std::string& token) {
    auto [it, added] = token_ids_.emplace(token, static_cast<int32_t>(tokens_.size()));
    if (added) tokens_.push_back(token);
    return it->second;
  }

  void BuildAlphabet(const std::vector<std::pair<std::string, int64_t>>& words,
                     const std::vector<std::vector<UChar32>>& chars) {
    std::unordered_map<UChar32, int64_t> frequency;
    std::unordered_set<UChar32> inside;  // seen after a word's first character
    for (size_t w = 0; w < words.size(); ++w) {
      for (size_t i = 0; i < chars[w].size(); ++i) {
        frequency[chars[w][i]] += words[w].second;
        if (i > 0) inside.insert(chars[w][i]);
      }
    }
    std::vector<std::pair<UChar32, int64_t>> kept(frequency.begin(), frequency.end());
    std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    if (static_cast<int64_t>(kept.size()) > options_.limit_alphabet()) kept.resize(options_.limit_alphabet());
    for (const auto& [c, n] : kept) {
      std::string s;
      AppendUtf8(c, &s);
      alphabet_ids_[c] = {AddToken(s), -1};
    }
    for (const auto& [c, n] : kept) {
      if (!inside.count(c)) continue;
      std::string s = kPrefix;
      AppendUtf8(c, &s);
      alphabet_ids_[c].second = AddToken(s);
    }
  }

  void CountPairs() {
    for (int32_t w = 0; w < static_cast<int32_t>(words_.size()); ++w) {
      const Word& word = words_[w];
      for (size_t i = 0; i + 1 < word.pieces.size(); ++i) {
        const Pair p = MakePair(word.pieces[i], word.pieces[i + 1]);
        pair_counts_[p] += word.count;
        std::vector<int32_t>& where = pair_words_[p];
        if (where.empty() || where.back() != w) where.push_back(w);
      }
    }
    std::vector<Candidate> candidates;
    candidates.reserve(pair_counts_.size());
    for (const auto& [p, n] : pair_counts_) candidates.push_back({n, p});
    queue_ = Queue(CandidateOrder(&tokens_), std::move(candidates));
  }

  // Merges `pair` in every word that has it, as tokens' Word::merge: left to right, never
  // overlapping ("##a ##a ##a" → "##aa ##a"), adjusting the counts of the neighbours' pairs.
  void Merge(Pair pair) {
    const int32_t left = LeftOf(pair), right = RightOf(pair);
    std::string right_text = tokens_[right];
    if (right_text.compare(0, kPrefix.size(), kPrefix) == 0) right_text.erase(0, kPrefix.size());
    const int32_t merged = AddToken(tokens_[left] + right_text);

    std::vector<int32_t> where = std::move(pair_words_[pair]);
    pair_words_.erase(pair);
    std::sort(where.begin(), where.end());
    where.erase(std::unique(where.begin(), where.end()), where.end());
    std::vector<Pair> grown;
    for (int32_t w : where) {
      Word& word = words_[w];
      auto change = [&](Pair p, int64_t sign) {
        pair_counts_[p] += sign * word.count;
        if (sign > 0) {
          std::vector<int32_t>& list = pair_words_[p];
          if (list.empty() || list.back() != w) list.push_back(w);
          grown.push_back(p);
        }
      };
      std::vector<int32_t>& s = word.pieces;
      size_t out = 0;
      for (size_t in = 0; in < s.size();) {
        if (in + 1 < s.size() && s[in] == left && s[in + 1] == right) {
          if (out > 0) {
            change(MakePair(s[out - 1], left), -1);
            change(MakePair(s[out - 1], merged), +1);
          }
          if (in + 2 < s.size()) {
            change(MakePair(right, s[in + 2]), -1);
            change(MakePair(merged, s[in + 2]), +1);
          }
          s[out++] = merged;
          in += 2;
        } else {
          s[out++] = s[in++];
        }
      }
      s.resize(out);
    }
    pair_counts_.erase(pair);  // every occurrence is merged now
    std::sort(grown.begin(), grown.end());
    grown.erase(std::unique(grown.begin(), grown.end()), grown.end());
    for (Pair p : grown) {
      const int64_t n = pair_counts_[p];
      if (n > 0) queue_.push({n, p});
    }
  }

  using Queue = std::priority_queue<Candidate, std::vector<Candidate>, CandidateOrder>;

  const WordPieceTrainerOptions& options_;
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int32_t> token_ids_;
  std::unordered_map<UChar32, std::pair<int32_t, int32_t>> alphabet_ids_;  // char → (c, ##c)
  std::vector<Word> words_;
  std::unordered_map<Pair, int64_t> pair_counts_;
  std::unordered_map<Pair, std::vector<int32_t>> pair_words_;  // may list words that lost the pair
  Queue queue_{CandidateOrder(&tokens_)};
};

nlohmann::ordered_json SpecialToken(const std::string& content, int64_t id) {
  return {{"id", id},        {"content", content},  {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", false}, {"special", true}};
}

nlohmann::ordered_json TemplateItem(const char* kind, const std::string& id, int64_t type_id) {
  return {{kind, {{"id", id}, {"type_id", type_id}}}};
}

void CheckVocabulary(const WordPieceVocabulary& v, const std::string& path) {
  auto bad = [&](const std::string& what) {
    throw TokenizerError(504, path + ": cannot save this vocabulary: " + what);
  };
  for (int64_t i = 0; i < kSpecialCount; ++i) {
    if (static_cast<int64_t>(v.tokens.size()) <= i || v.tokens[i] != kSpecialTokens[i]) {
      bad("tokens[" + std::to_string(i) + "] must be " + kSpecialTokens[i] + "; train it with TrainWordPiece");
    }
  }
  std::unordered_set<std::string> seen;
  for (const std::string& t : v.tokens) {
    if (t.empty()) bad("a token is empty");
    if (!seen.insert(t).second) bad("token \"" + t + "\" appears twice");
  }
  if (v.max_input_chars_per_word < 1) bad("max_input_chars_per_word must be at least 1");
  if (v.max_length < 1) bad("max_length must be at least 1");
}

}  // namespace

WordPieceVocabulary TrainWordPiece(const std::vector<std::string>& texts, const WordPieceTrainerOptions& options) {
  CheckOptions(options);
  BertNormalizerConfig normalizer;
  normalizer.lowercase = normalizer.strip_accents = options.lowercase();
  const std::unordered_map<std::string, int64_t> words = CountWords(texts, normalizer);
  if (words.empty()) {
    throw TokenizerError(504, "TrainWordPiece: the " + std::to_string(texts.size()) +
                                  " training texts contain no word; pass texts with some non-space characters");
  }
  WordPieceVocabulary vocabulary;
  vocabulary.tokens = Trainer(words, options).Run();
  vocabulary.lowercase = options.lowercase();
  vocabulary.max_input_chars_per_word = options.max_input_chars_per_word();
  vocabulary.max_length = options.max_length();
  return vocabulary;
}

void SaveTokenizerJson(const WordPieceVocabulary& vocabulary, const std::string& path) {
  using nlohmann::ordered_json;
  CheckVocabulary(vocabulary, path);
  // Keys in the order Hugging Face writes them, so that the file diffs cleanly against one
  // it saved.
  ordered_json added = ordered_json::array();
  for (int64_t i = 0; i < kSpecialCount; ++i) added.push_back(SpecialToken(kSpecialTokens[i], i));
  ordered_json vocab = ordered_json::object();
  for (size_t i = 0; i < vocabulary.tokens.size(); ++i) vocab[vocabulary.tokens[i]] = static_cast<int64_t>(i);
  auto special = [](const std::string& token, int64_t id) {
    return ordered_json{{"id", token}, {"ids", {id}}, {"tokens", {token}}};
  };
  ordered_json j = {
      {"version", "1.0"},
      {"truncation",
       {{"direction", "Right"}, {"max_length", vocabulary.max_length}, {"strategy", "LongestFirst"}, {"stride", 0}}},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer",
       {{"type", "BertNormalizer"},
        {"clean_text", true},
        {"handle_chinese_chars", true},
        {"strip_accents", nullptr},
        {"lowercase", vocabulary.lowercase}}},
      {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single",
         {TemplateItem("SpecialToken", "[CLS]", 0), TemplateItem("Sequence", "A", 0),
          TemplateItem("SpecialToken", "[SEP]", 0)}},
        {"pair",
         {TemplateItem("SpecialToken", "[CLS]", 0), TemplateItem("Sequence", "A", 0),
          TemplateItem("SpecialToken", "[SEP]", 0), TemplateItem("Sequence", "B", 1),
          TemplateItem("SpecialToken", "[SEP]", 1)}},
        {"special_tokens", {{"[CLS]", special("[CLS]", 2)}, {"[SEP]", special("[SEP]", 3)}}}}},
      {"decoder", {{"type", "WordPiece"}, {"prefix", kPrefix}, {"cleanup", true}}},
      {"model",
       {{"type", "WordPiece"},
        {"unk_token", "[UNK]"},
        {"continuing_subword_prefix", kPrefix},
        {"max_input_chars_per_word", vocabulary.max_input_chars_per_word},
        {"vocab", std::move(vocab)}}},
  };
  std::string text;
  try {
    text = j.dump();
  } catch (const nlohmann::json::exception& e) {
    throw TokenizerError(504,
                         path + ": cannot save this vocabulary: a token is not valid UTF-8 (" + JsonErrorText(e) + ")");
  }
  try {
    WriteFileAtomically(path, text);
  } catch (const DataError& e) {
    throw TokenizerError(505, e.detail() + "; check that the directory exists and is writable");
  }
}

}  // namespace synapse
