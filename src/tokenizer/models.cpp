// tokenizer.json models: BPE (models/bpe/{model,word}.rs), Unigram (models/unigram/model.rs,
// the optimized Viterbi), WordPiece (models/wordpiece/mod.rs) and WordLevel, each giving the
// ids tokenizers gives.
#include <unicode/utf8.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <mutex>
#include <queue>
#include <unordered_map>

#include "synapse/error.h"
#include "tokenizer/components.h"
#include "tokenizer/json_float.h"

namespace synapse {
namespace {

using nlohmann::json;

constexpr double kUnkPenalty = 10.0;

std::string ByteToken(uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "<0x%02X>", b);
  return buf;
}

std::optional<std::string> OptionalString(const json& j, const char* key, const std::string& path) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  if (!j[key].is_string()) RefuseSetting(path + "." + key, "must be a string or null");
  return j[key].get<std::string>();
}

bool BoolField(const json& j, const char* key, bool fallback, const std::string& path) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean()) RefuseSetting(path + "." + key, "must be true or false, not " + j[key].dump());
  return j[key].get<bool>();
}

std::unordered_map<std::string, int64_t> VocabMap(const json& j, const std::string& path) {
  if (!j.contains("vocab") || !j["vocab"].is_object()) RefuseSetting(path + ".vocab", "must be an object {token: id}");
  std::unordered_map<std::string, int64_t> vocab;
  vocab.reserve(j["vocab"].size());
  for (const auto& [token, id] : j["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
      RefuseSetting(path + ".vocab", "the id of \"" + token + "\" is not a non-negative 32-bit integer");
    }
    vocab.emplace(token, id.get<int64_t>());
  }
  return vocab;
}

std::optional<int64_t> Find(const std::unordered_map<std::string, int64_t>& vocab, const std::string& token) {
  auto it = vocab.find(token);
  if (it == vocab.end()) return std::nullopt;
  return it->second;
}

// Ids of words seen before, as tokenizers' models cache them (10,000 words, then no more
// insertions): most words of a corpus repeat. Shared by the threads that encode with one
// tokenizer, behind a mutex.
class WordCache {
 public:
  bool Find(const std::string& word, std::vector<int64_t>* ids) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = map_.find(word);
    if (it == map_.end()) return false;
    ids->insert(ids->end(), it->second.begin(), it->second.end());
    return true;
  }
  void Insert(const std::string& word, const int64_t* begin, const int64_t* end) const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (map_.size() < kCapacity) map_.emplace(word, std::vector<int64_t>(begin, end));
  }

 private:
  static constexpr size_t kCapacity = 10000;
  mutable std::mutex mutex_;
  mutable std::unordered_map<std::string, std::vector<int64_t>> map_;
};

class BpeModel : public Model {
 public:
  BpeModel(const json& j, const std::string& path) : vocab_(VocabMap(j, path)) {
    if (j.contains("dropout") && !j["dropout"].is_null() && j["dropout"].get<double>() != 0.0) {
      RefuseSetting(path + ".dropout", "BPE dropout is random at encoding time; Synapse needs the same ids every run");
    }
    unk_ = OptionalString(j, "unk_token", path);
    prefix_ = OptionalString(j, "continuing_subword_prefix", path).value_or("");
    suffix_ = OptionalString(j, "end_of_word_suffix", path).value_or("");
    fuse_unk_ = BoolField(j, "fuse_unk", false, path);
    byte_fallback_ = BoolField(j, "byte_fallback", false, path);
    ignore_merges_ = BoolField(j, "ignore_merges", false, path);
    if (!j.contains("merges") || !j["merges"].is_array()) RefuseSetting(path + ".merges", "must be a list");
    const json& merges = j["merges"];
    merges_.reserve(merges.size());
    for (size_t rank = 0; rank < merges.size(); ++rank) {
      const json& m = merges[rank];
      std::string a, b;
      if (m.is_string()) {
        const std::string line = m.get<std::string>();
        const size_t space = line.find(' ');
        if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
          RefuseSetting(path + ".merges[" + std::to_string(rank) + "]", "\"" + line + "\" is not two tokens \"a b\"");
        }
        a = line.substr(0, space);
        b = line.substr(space + 1);
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        a = m[0].get<std::string>();
        b = m[1].get<std::string>();
      } else {
        RefuseSetting(path + ".merges[" + std::to_string(rank) + "]", "is neither \"a b\" nor [\"a\", \"b\"]");
      }
      auto ia = vocab_.find(a), ib = vocab_.find(b);
      // As tokenizers: the second token loses as many bytes as the prefix has.
      std::string merged = a + b.substr(std::min(prefix_.size(), b.size()));
      auto im = vocab_.find(merged);
      if (ia == vocab_.end() || ib == vocab_.end() || im == vocab_.end()) {
        RefuseSetting(path + ".merges[" + std::to_string(rank) + "]",
                      "\"" + a + " " + b + "\" names a token that is not in the vocabulary");
      }
      merges_[Key(ia->second, ib->second)] = {static_cast<int32_t>(rank), static_cast<int32_t>(im->second)};
    }
    for (int b = 0; b < 256 && byte_fallback_; ++b) {
      auto it = vocab_.find(ByteToken(static_cast<uint8_t>(b)));
      byte_ids_[b] = it == vocab_.end() ? -1 : it->second;
    }
  }

  void Tokenize(const std::string& word, std::vector<int64_t>* ids) const override {
    if (word.empty() || cache_.Find(word, ids)) return;
    const size_t first = ids->size();
    TokenizeUncached(word, ids);
    cache_.Insert(word, ids->data() + first, ids->data() + ids->size());
  }

  std::optional<int64_t> TokenToId(const std::string& token) const override { return Find(vocab_, token); }
  int64_t vocab_size() const override { return static_cast<int64_t>(vocab_.size()); }
  std::string Name() const override { return "BPE"; }

 private:
  void TokenizeUncached(const std::string& word, std::vector<int64_t>* ids) const {
    if (ignore_merges_) {
      if (auto id = Find(vocab_, word)) {
        ids->push_back(*id);
        return;
      }
    }
    std::vector<Symbol> symbols;
    symbols.reserve(word.size());
    const auto* s = reinterpret_cast<const uint8_t*>(word.data());
    const int32_t n = static_cast<int32_t>(word.size());
    int64_t unk = -1;  // a pending unknown's id, -1 for none (fuse_unk joins consecutive ones)
    std::string piece;
    for (int32_t i = 0; i < n;) {
      const int32_t begin = i;
      U8_FWD_1(s, i, n);
      piece.clear();
      if (begin > 0) piece += prefix_;
      piece.append(word, static_cast<size_t>(begin), static_cast<size_t>(i - begin));
      if (i == n) piece += suffix_;
      auto it = vocab_.find(piece);
      if (it != vocab_.end()) {
        if (unk >= 0) {
          Add(&symbols, unk);
          unk = -1;
        }
        Add(&symbols, it->second);
        continue;
      }
      if (byte_fallback_) {
        bool all = true;
        for (char c : piece) all = all && byte_ids_[static_cast<unsigned char>(c)] >= 0;
        if (all) {
          // As tokenizers does: the bytes go in before a pending unknown.
          for (char c : piece) Add(&symbols, byte_ids_[static_cast<unsigned char>(c)]);
          continue;
        }
      }
      if (unk_) {
        auto found = vocab_.find(*unk_);
        if (found == vocab_.end()) {
          throw TokenizerError(
              507, "BPE: a character is not in the vocabulary and neither is the unk_token \"" + *unk_ + "\"");
        }
        const int64_t unk_id = found->second;
        if (unk >= 0 && !fuse_unk_) Add(&symbols, unk);
        unk = unk_id;
      }
    }
    if (unk >= 0) Add(&symbols, unk);
    MergeAll(&symbols);
    for (const Symbol& sym : symbols) {
      if (sym.alive) ids->push_back(sym.id);
    }
  }

  struct Symbol {
    int64_t id;
    int32_t prev, next;
    bool alive;
  };
  struct Merge {
    int32_t pos, rank;
    int64_t new_id;
    // std::priority_queue pops the largest: make that the lowest rank, then the leftmost.
    bool operator<(const Merge& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };

  static uint64_t Key(int64_t a, int64_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint64_t>(b); }

  static void Add(std::vector<Symbol>* symbols, int64_t id) {
    const int32_t pos = static_cast<int32_t>(symbols->size());
    if (pos > 0) (*symbols)[static_cast<size_t>(pos - 1)].next = pos;
    symbols->push_back({id, pos - 1, -1, true});
  }

  const std::pair<int32_t, int32_t>* Lookup(int64_t a, int64_t b) const {
    auto it = merges_.find(Key(a, b));
    return it == merges_.end() ? nullptr : &it->second;
  }

  // Word::merge_all without dropout.
  void MergeAll(std::vector<Symbol>* symbols) const {
    std::vector<Symbol>& sym = *symbols;
    std::priority_queue<Merge> queue;
    for (size_t i = 0; i + 1 < sym.size(); ++i) {
      if (const auto* m = Lookup(sym[i].id, sym[i + 1].id)) queue.push({static_cast<int32_t>(i), m->first, m->second});
    }
    while (!queue.empty()) {
      const Merge top = queue.top();
      queue.pop();
      Symbol& left = sym[static_cast<size_t>(top.pos)];
      if (!left.alive || left.next == -1) continue;
      const int32_t next_pos = left.next;
      const Symbol right = sym[static_cast<size_t>(next_pos)];
      const auto* current = Lookup(left.id, right.id);
      if (!current || current->second != top.new_id) continue;
      left.id = top.new_id;
      left.next = right.next;
      sym[static_cast<size_t>(next_pos)].alive = false;
      if (right.next > -1 && static_cast<size_t>(right.next) < sym.size())
        sym[static_cast<size_t>(right.next)].prev = top.pos;
      if (left.prev >= 0) {
        if (const auto* m = Lookup(sym[static_cast<size_t>(left.prev)].id, left.id))
          queue.push({left.prev, m->first, m->second});
      }
      if (left.next >= 0 && static_cast<size_t>(left.next) < sym.size()) {
        if (const auto* m = Lookup(left.id, sym[static_cast<size_t>(left.next)].id))
          queue.push({top.pos, m->first, m->second});
      }
    }
  }

  std::unordered_map<std::string, int64_t> vocab_;
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;
  std::optional<std::string> unk_;
  std::string prefix_, suffix_;
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
  int64_t byte_ids_[256] = {};
  WordCache cache_;
};

// A byte trie over the pieces, for Unigram's common-prefix search.
class PieceTrie {
 public:
  PieceTrie() : nodes_(1) {}
  void Insert(const std::string& key, int64_t id) {
    int32_t node = 0;
    for (char ch : key) {
      const auto c = static_cast<uint8_t>(ch);
      int32_t child = -1;  // children are sorted only once all pieces are in (Finish)
      for (const auto& [label, next] : nodes_[static_cast<size_t>(node)].children) {
        if (label == c) child = next;
      }
      if (child < 0) {
        child = static_cast<int32_t>(nodes_.size());
        nodes_[static_cast<size_t>(node)].children.push_back({c, child});
        nodes_.emplace_back();
      }
      node = child;
    }
    nodes_[static_cast<size_t>(node)].id = id;  // the last of a repeated piece, as ids_
  }
  void Finish() {
    for (Node& n : nodes_) std::sort(n.children.begin(), n.children.end());
  }
  /// Calls f(length, id) for every piece that is a prefix of text[start..], shortest first.
  template <typename F>
  void CommonPrefixes(const std::string& text, size_t start, F f) const {
    int32_t node = 0;
    for (size_t i = start; i < text.size(); ++i) {
      node = Child(node, static_cast<uint8_t>(text[i]));
      if (node < 0) return;
      const int64_t id = nodes_[static_cast<size_t>(node)].id;
      if (id >= 0) f(i + 1 - start, id);
    }
  }

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;
    int64_t id = -1;
  };
  int32_t Child(int32_t node, uint8_t c) const {
    const auto& ch = nodes_[static_cast<size_t>(node)].children;
    auto it = std::lower_bound(ch.begin(), ch.end(), std::make_pair(c, int32_t{-1}));
    return it != ch.end() && it->first == c ? it->second : -1;
  }
  std::vector<Node> nodes_;
};

class UnigramModel : public Model {
 public:
  UnigramModel(const json& j, const std::string& path, const std::vector<std::string>& score_texts) {
    if (!j.contains("vocab") || !j["vocab"].is_array())
      RefuseSetting(path + ".vocab", "must be a list of [piece, score]");
    const json& vocab = j["vocab"];
    scores_.reserve(vocab.size());
    for (size_t i = 0; i < vocab.size(); ++i) {
      const json& e = vocab[i];
      if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number()) {
        RefuseSetting(path + ".vocab[" + std::to_string(i) + "]", "is not [piece, score]");
      }
      const std::string piece = e[0].get<std::string>();
      // The value serde_json reads, where the literal is at hand: see json_float.h.
      std::optional<double> exact;
      if (score_texts.size() == vocab.size()) exact = SerdeJsonFloat(score_texts[i]);
      const double score = exact ? *exact : e[1].get<double>();
      // A repeated piece: the last occurrence wins, its id and its score, as in tokenizers'
      // Unigram::from (token_to_ids.insert in order; the lattice reads scores through it).
      ids_[piece] = static_cast<int64_t>(i);
      scores_.push_back(score);
      trie_.Insert(piece, static_cast<int64_t>(i));
      min_score_ = std::min(min_score_, score);
    }
    trie_.Finish();
    if (j.contains("unk_id") && !j["unk_id"].is_null()) {
      if (!j["unk_id"].is_number_integer() || j["unk_id"].get<int64_t>() < 0 ||
          j["unk_id"].get<int64_t>() >= static_cast<int64_t>(vocab.size())) {
        RefuseSetting(path + ".unk_id", "is not the index of a piece");
      }
      unk_id_ = j["unk_id"].get<int64_t>();
    }
    byte_fallback_ = BoolField(j, "byte_fallback", false, path);
  }

  void Tokenize(const std::string& word, std::vector<int64_t>* ids) const override {
    if (word.empty() || cache_.Find(word, ids)) return;
    const size_t first = ids->size();
    TokenizeUncached(word, ids);
    cache_.Insert(word, ids->data() + first, ids->data() + ids->size());
  }

  std::optional<int64_t> TokenToId(const std::string& token) const override { return Find(ids_, token); }
  int64_t vocab_size() const override { return static_cast<int64_t>(scores_.size()); }
  std::string Name() const override { return "Unigram"; }

 private:
  // Unigram::encode_optimized, then tokenize's lookups and byte fallback.
  void TokenizeUncached(const std::string& word, std::vector<int64_t>* ids) const {
    struct Best {
      int64_t id = -1;
      double score = 0;
      int64_t starts_at = -1;
    };
    const size_t size = word.size();
    std::vector<Best> best(size + 1);
    const double unk_score = min_score_ - kUnkPenalty;
    const auto* s = reinterpret_cast<const uint8_t*>(word.data());
    for (size_t start = 0; start < size;) {
      const double till_here = best[start].score;
      int32_t next = static_cast<int32_t>(start);
      U8_FWD_1(s, next, static_cast<int32_t>(size));
      const size_t mblen = static_cast<size_t>(next) - start;
      bool single = false;
      trie_.CommonPrefixes(word, start, [&](size_t length, int64_t id) {
        Best& target = best[start + length];
        const double candidate = scores_[static_cast<size_t>(id)] + till_here;
        if (target.starts_at < 0 || candidate > target.score) target = {id, candidate, static_cast<int64_t>(start)};
        if (length == mblen) single = true;
      });
      if (!single) {
        Best& target = best[start + mblen];
        const double candidate = unk_score + till_here;
        if (target.starts_at < 0 || candidate > target.score) {
          if (!unk_id_)
            throw TokenizerError(507, "Unigram: a character is not in the vocabulary and the model has no unk_id");
          target = {*unk_id_, candidate, static_cast<int64_t>(start)};
        }
      }
      start += mblen;
    }
    // Back from the end; consecutive unknowns fuse into one piece (Unigram always fuses).
    std::vector<std::string> pieces;
    std::string unknown;
    for (size_t end = size; end > 0;) {
      const Best& node = best[end];
      const size_t start = static_cast<size_t>(node.starts_at);
      if (unk_id_ && node.id == *unk_id_) {
        unknown.insert(0, word, start, end - start);
      } else {
        if (!unknown.empty()) pieces.push_back(std::move(unknown));
        unknown.clear();
        pieces.push_back(word.substr(start, end - start));
      }
      end = start;
    }
    if (!unknown.empty()) pieces.push_back(std::move(unknown));
    for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
      auto found = ids_.find(*it);
      if (found != ids_.end()) {
        ids->push_back(found->second);
        continue;
      }
      if (byte_fallback_) {
        std::vector<int64_t> bytes;
        for (char c : *it) {
          auto b = ids_.find(ByteToken(static_cast<uint8_t>(c)));
          if (b == ids_.end()) break;
          bytes.push_back(b->second);
        }
        if (bytes.size() == it->size()) {
          ids->insert(ids->end(), bytes.begin(), bytes.end());
          continue;
        }
      }
      if (!unk_id_) throw TokenizerError(507, "Unigram: a piece is not in the vocabulary and the model has no unk_id");
      ids->push_back(*unk_id_);
    }
  }

  std::unordered_map<std::string, int64_t> ids_;
  std::vector<double> scores_;
  PieceTrie trie_;
  double min_score_ = std::numeric_limits<double>::infinity();
  std::optional<int64_t> unk_id_;
  bool byte_fallback_ = false;
  WordCache cache_;
};

// Greedy longest-match-first, as tokenizers' WordPiece::tokenize: a word longer than
// max_input_chars_per_word, or one with a stretch no piece matches, is one unknown token.
class WordPieceModel : public Model {
 public:
  WordPieceModel(const json& j, const std::string& path) : vocab_(VocabMap(j, path)) {
    const std::string unk = OptionalString(j, "unk_token", path).value_or("[UNK]");
    // tokenizers fails only when an unknown word occurs; refusing the file at load is
    // stricter and never gives a wrong id.
    auto it = vocab_.find(unk);
    if (it == vocab_.end()) {
      throw TokenizerError(501, "the unknown token \"" + unk + "\" is not in the vocabulary");
    }
    unk_id_ = it->second;
    prefix_ = OptionalString(j, "continuing_subword_prefix", path).value_or("##");
    if (j.contains("max_input_chars_per_word") && !j["max_input_chars_per_word"].is_null()) {
      if (!j["max_input_chars_per_word"].is_number_integer() || j["max_input_chars_per_word"].get<int64_t>() < 0) {
        RefuseSetting(path + ".max_input_chars_per_word", "must be a non-negative integer");
      }
      max_chars_ = j["max_input_chars_per_word"].get<uint64_t>();
    }
  }

  void Tokenize(const std::string& word, std::vector<int64_t>* ids) const override {
    std::vector<size_t> bounds;  // byte offsets of char starts, plus the end
    const auto* s = reinterpret_cast<const uint8_t*>(word.data());
    const int32_t n = static_cast<int32_t>(word.size());
    for (int32_t i = 0; i < n;) {
      bounds.push_back(static_cast<size_t>(i));
      U8_FWD_1(s, i, n);
    }
    bounds.push_back(word.size());
    if (bounds.size() - 1 > max_chars_) {
      ids->push_back(unk_id_);
      return;
    }
    const size_t first = ids->size();
    std::string candidate;
    for (size_t start = 0; start + 1 < bounds.size();) {
      size_t end = bounds.size() - 1;
      int64_t found = -1;
      for (; end > start; --end) {
        candidate.assign(start > 0 ? prefix_ : std::string());
        candidate.append(word, bounds[start], bounds[end] - bounds[start]);
        auto it = vocab_.find(candidate);
        if (it != vocab_.end()) {
          found = it->second;
          break;
        }
      }
      if (found < 0) {
        ids->resize(first);
        ids->push_back(unk_id_);
        return;
      }
      ids->push_back(found);
      start = end;
    }
  }

  std::optional<int64_t> TokenToId(const std::string& token) const override { return Find(vocab_, token); }
  int64_t vocab_size() const override { return static_cast<int64_t>(vocab_.size()); }
  std::string Name() const override { return "WordPiece"; }

 private:
  std::unordered_map<std::string, int64_t> vocab_;
  std::string prefix_;
  uint64_t max_chars_ = 100;
  int64_t unk_id_ = 0;
};

class WordLevelModel : public Model {
 public:
  WordLevelModel(const json& j, const std::string& path) : vocab_(VocabMap(j, path)) {
    unk_ = OptionalString(j, "unk_token", path).value_or("<unk>");
  }
  void Tokenize(const std::string& word, std::vector<int64_t>* ids) const override {
    auto it = vocab_.find(word);
    if (it != vocab_.end()) {
      ids->push_back(it->second);
      return;
    }
    auto unk = vocab_.find(unk_);
    if (unk == vocab_.end()) {
      throw TokenizerError(
          507, "WordLevel: a word is not in the vocabulary and its unk_token \"" + unk_ + "\" is not either");
    }
    ids->push_back(unk->second);
  }
  std::optional<int64_t> TokenToId(const std::string& token) const override { return Find(vocab_, token); }
  int64_t vocab_size() const override { return static_cast<int64_t>(vocab_.size()); }
  std::string Name() const override { return "WordLevel"; }

 private:
  std::unordered_map<std::string, int64_t> vocab_;
  std::string unk_;
};

}  // namespace

std::unique_ptr<Model> MakeModel(const json& j, const std::string& path, const std::string& file_text) {
  const std::string type = ComponentType(j, path);
  if (type == "BPE") return std::make_unique<BpeModel>(j, path);
  if (type == "Unigram") return std::make_unique<UnigramModel>(j, path, UnigramScoreTexts(file_text));
  if (type == "WordLevel") return std::make_unique<WordLevelModel>(j, path);
  if (type == "WordPiece") return std::make_unique<WordPieceModel>(j, path);
  RefuseComponent(path, type, "BPE, Unigram, WordLevel, WordPiece");
}

}  // namespace synapse
