// WordPiece tokenization, rule for rule as Hugging Face's `tokenizers` (Rust) does it
// (other models go through tokenizer/pipeline_tokenizer.cpp):
// BertNormalizer → BertPreTokenizer → WordPiece → TemplateProcessing/BertProcessing,
// with special added tokens split out of the raw text first and longest-first truncation.
// Normalization and pre-tokenization live in bert_text.cpp, shared with the trainer.
#include <unicode/utf8.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "bert_text.h"
#include "json_error_text.h"
#include "synapse/error.h"
#include "synapse/tokenizer.h"
#include "tokenizer/components.h"
#include "tokenizer/pipeline_tokenizer.h"

namespace synapse {
namespace {

using nlohmann::json;

constexpr int64_t kDefaultMaxLength = 512;

// A tokenizer.json without a normalizer has none; else BertNormalizer's switches.
struct NormalizerConfig {
  bool enabled = true;
  BertNormalizerConfig bert;
};

struct AddedToken {
  std::string content;
  int64_t id = 0;
  bool lstrip = false;
  bool rstrip = false;
};

// One item of a post-processing template.
struct TemplatePiece {
  bool is_sequence = false;
  int sequence = 0;          // 0 = A, 1 = B
  std::vector<int64_t> ids;  // special token ids
  int64_t type_id = 0;
};

class WordPieceTokenizer : public Tokenizer {
 public:
  WordPieceTokenizer(std::string source, std::unordered_map<std::string, int64_t> vocab, std::string unk,
                     std::string prefix, int64_t max_chars, NormalizerConfig normalizer, bool pre_tokenize,
                     std::vector<AddedToken> added, std::vector<TemplatePiece> single, std::vector<TemplatePiece> pair,
                     int64_t max_length, int64_t pad_id)
      : source_(std::move(source)),
        vocab_(std::move(vocab)),
        prefix_(std::move(prefix)),
        max_chars_(max_chars),
        normalizer_(normalizer),
        pre_tokenize_(pre_tokenize),
        added_(std::move(added)),
        single_(std::move(single)),
        pair_(std::move(pair)),
        max_length_(max_length),
        pad_id_(pad_id) {
    unk_id_ = vocab_.at(unk);  // the loaders check that it is there
    std::sort(added_.begin(), added_.end(),
              [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });
  }

  Example Encode(const std::string& text, const std::optional<std::string>& pair) const override {
    std::vector<int64_t> a = Tokenize(text);
    std::vector<int64_t> b;
    if (pair) b = Tokenize(*pair);
    Truncate(&a, pair ? &b : nullptr);
    Example out;
    const std::vector<TemplatePiece>& tmpl = pair ? pair_ : single_;
    for (const TemplatePiece& piece : tmpl) {
      const std::vector<int64_t>& ids = piece.is_sequence ? (piece.sequence == 0 ? a : b) : piece.ids;
      out.input_ids.insert(out.input_ids.end(), ids.begin(), ids.end());
      out.token_type_ids.insert(out.token_type_ids.end(), ids.size(), piece.type_id);
    }
    out.attention_mask.assign(out.input_ids.size(), 1);
    return out;
  }

  int64_t pad_id() const override { return pad_id_; }
  int64_t vocab_size() const override { return static_cast<int64_t>(vocab_.size()); }
  int64_t max_length() const override { return max_length_; }
  std::string Describe() const override { return "WordPiece (" + source_ + ")"; }

 private:
  size_t SpecialCount(bool is_pair) const {
    size_t n = 0;
    for (const TemplatePiece& p : is_pair ? pair_ : single_) n += p.is_sequence ? 0 : p.ids.size();
    return n;
  }

  // tokenizers' LongestFirst strategy (utils/truncation.rs).
  void Truncate(std::vector<int64_t>* a, std::vector<int64_t>* b) const {
    const int64_t special = static_cast<int64_t>(SpecialCount(b != nullptr));
    const int64_t limit = std::max<int64_t>(0, max_length_ - special);
    const int64_t total = static_cast<int64_t>(a->size() + (b ? b->size() : 0));
    if (total <= limit) return;
    if (!b) {
      a->resize(static_cast<size_t>(limit));
      return;
    }
    const auto [n1, n2] = LongestFirstLengths(static_cast<int64_t>(a->size()), static_cast<int64_t>(b->size()), limit);
    if (static_cast<int64_t>(a->size()) > n1) a->resize(static_cast<size_t>(n1));
    if (static_cast<int64_t>(b->size()) > n2) b->resize(static_cast<size_t>(n2));
  }

  // Special added tokens are found in the raw text first; the rest is tokenized.
  std::vector<int64_t> Tokenize(const std::string& text) const {
    std::vector<int64_t> ids;
    size_t start = 0, pos = 0;
    while (pos < text.size() && !added_.empty()) {
      const AddedToken* hit = nullptr;
      for (const AddedToken& t : added_) {
        if (text.compare(pos, t.content.size(), t.content) == 0) {
          hit = &t;
          break;
        }
      }
      if (!hit) {
        ++pos;
        continue;
      }
      size_t seg_end = pos;
      if (hit->lstrip) {
        while (seg_end > start && std::isspace(static_cast<unsigned char>(text[seg_end - 1]))) --seg_end;
      }
      TokenizeSegment(text.substr(start, seg_end - start), &ids);
      ids.push_back(hit->id);
      pos += hit->content.size();
      if (hit->rstrip) {
        while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
      }
      start = pos;
    }
    TokenizeSegment(text.substr(start), &ids);
    return ids;
  }

  void TokenizeSegment(const std::string& segment, std::vector<int64_t>* ids) const {
    if (segment.empty()) return;
    std::vector<UChar32> chars = DecodeUtf8(segment);
    if (normalizer_.enabled) chars = BertNormalize(std::move(chars), normalizer_.bert);
    if (pre_tokenize_) {
      BertPreTokenize(chars, [&](const std::string& word) { WordPiece(word, ids); });
      return;
    }
    std::string word;
    for (UChar32 c : chars) AppendUtf8(c, &word);
    if (!word.empty()) WordPiece(word, ids);
  }

  // Greedy longest-match-first, as tokenizers' WordPiece::tokenize.
  void WordPiece(const std::string& word, std::vector<int64_t>* ids) const {
    std::vector<size_t> bounds;  // byte offsets of char starts, plus the end
    const auto* s = reinterpret_cast<const uint8_t*>(word.data());
    int32_t i = 0, n = static_cast<int32_t>(word.size());
    while (i < n) {
      bounds.push_back(static_cast<size_t>(i));
      U8_FWD_1(s, i, n);
    }
    bounds.push_back(word.size());
    if (static_cast<int64_t>(bounds.size() - 1) > max_chars_) {
      ids->push_back(unk_id_);
      return;
    }
    std::vector<int64_t> pieces;
    size_t start = 0;
    std::string candidate;
    while (start + 1 < bounds.size()) {
      size_t end = bounds.size() - 1;
      int64_t found = -1;
      while (end > start) {
        candidate.assign(start > 0 ? prefix_ : std::string());
        candidate.append(word, bounds[start], bounds[end] - bounds[start]);
        auto it = vocab_.find(candidate);
        if (it != vocab_.end()) {
          found = it->second;
          break;
        }
        --end;
      }
      if (found < 0) {
        ids->push_back(unk_id_);
        return;
      }
      pieces.push_back(found);
      start = end;
    }
    ids->insert(ids->end(), pieces.begin(), pieces.end());
  }

  std::string source_;
  std::unordered_map<std::string, int64_t> vocab_;
  std::string prefix_;
  int64_t max_chars_;
  NormalizerConfig normalizer_;
  bool pre_tokenize_;
  std::vector<AddedToken> added_;
  std::vector<TemplatePiece> single_, pair_;
  int64_t max_length_;
  int64_t pad_id_;
  int64_t unk_id_ = 0;
};

[[noreturn]] void Unsupported(const std::string& path, const std::string& what) {
  throw TokenizerError(502, path + ": " + what);
}

std::vector<TemplatePiece> BertTemplate(int64_t cls, int64_t sep, bool pair) {
  std::vector<TemplatePiece> t = {{false, 0, {cls}, 0}, {true, 0, {}, 0}, {false, 0, {sep}, 0}};
  if (pair) {
    t.push_back({true, 1, {}, 1});
    t.push_back({false, 0, {sep}, 1});
  }
  return t;
}

std::vector<TemplatePiece> ParseTemplate(const json& items, const json& special, const std::string& path) {
  std::vector<TemplatePiece> out;
  for (const json& item : items) {
    if (item.contains("Sequence")) {
      const json& s = item["Sequence"];
      out.push_back({true, s.value("id", std::string("A")) == "B" ? 1 : 0, {}, s.value("type_id", int64_t{0})});
    } else if (item.contains("SpecialToken")) {
      const json& s = item["SpecialToken"];
      std::string name = s.at("id").get<std::string>();
      if (!special.contains(name)) Unsupported(path, "post_processor: special token \"" + name + "\" is not defined");
      out.push_back({false, 0, special[name].at("ids").get<std::vector<int64_t>>(), s.value("type_id", int64_t{0})});
    } else {
      Unsupported(path, "post_processor: unknown template item " + item.dump());
    }
  }
  return out;
}

std::unique_ptr<Tokenizer> LoadTokenizerJson(const std::string& path, const std::string& text, const json& j,
                                             const TokenizerOptions& options) {
  const json& model = j.at("model");
  try {
    if (ComponentType(model, "model") != "WordPiece") return LoadPipelineTokenizer(j, text, options);
  } catch (const TokenizerError& e) {
    throw TokenizerError(e.id(), path + ": " + e.detail());
  }
  std::unordered_map<std::string, int64_t> vocab;
  for (const auto& [token, id] : model.at("vocab").items()) vocab.emplace(token, id.get<int64_t>());
  const std::string unk = model.value("unk_token", std::string("[UNK]"));
  if (!vocab.count(unk))
    throw TokenizerError(501, path + ": the unknown token \"" + unk + "\" is not in the vocabulary");

  NormalizerConfig norm;
  const json& n = j.value("normalizer", json());
  if (n.is_null()) {
    norm.enabled = false;
  } else if (n.value("type", std::string()) == "BertNormalizer") {
    norm.bert.clean_text = n.value("clean_text", true);
    norm.bert.handle_chinese_chars = n.value("handle_chinese_chars", true);
    norm.bert.lowercase = n.value("lowercase", true);
    norm.bert.strip_accents = n.contains("strip_accents") && !n["strip_accents"].is_null()
                                  ? n["strip_accents"].get<bool>()
                                  : norm.bert.lowercase;
  } else {
    Unsupported(
        path, "normalizer " + n.value("type", std::string("?")) + " is not supported yet (supported: BertNormalizer)");
  }

  const json& pt = j.value("pre_tokenizer", json());
  bool pre_tokenize = true;
  if (pt.is_null()) {
    pre_tokenize = false;
  } else if (pt.value("type", std::string()) != "BertPreTokenizer") {
    Unsupported(path, "pre_tokenizer " + pt.value("type", std::string("?")) +
                          " is not supported yet (supported: BertPreTokenizer)");
  }

  std::vector<AddedToken> added;
  for (const json& t : j.value("added_tokens", json::array())) {
    if (!t.value("special", false) && t.value("normalized", true)) {
      Unsupported(path, "added token \"" + t.value("content", std::string()) +
                            "\" is normalized; only special added tokens are supported");
    }
    added.push_back({t.at("content").get<std::string>(), t.at("id").get<int64_t>(), t.value("lstrip", false),
                     t.value("rstrip", false)});
  }

  std::vector<TemplatePiece> single, pair;
  const json& pp = j.value("post_processor", json());
  if (pp.is_null()) {
    single = {{true, 0, {}, 0}};
    pair = {{true, 0, {}, 0}, {true, 1, {}, 1}};
  } else if (pp.value("type", std::string()) == "TemplateProcessing") {
    single = ParseTemplate(pp.at("single"), pp.at("special_tokens"), path);
    pair = ParseTemplate(pp.at("pair"), pp.at("special_tokens"), path);
  } else if (pp.value("type", std::string()) == "BertProcessing") {
    single = BertTemplate(pp.at("cls")[1].get<int64_t>(), pp.at("sep")[1].get<int64_t>(), false);
    pair = BertTemplate(pp.at("cls")[1].get<int64_t>(), pp.at("sep")[1].get<int64_t>(), true);
  } else {
    Unsupported(path, "post_processor " + pp.value("type", std::string("?")) +
                          " is not supported yet (supported: TemplateProcessing, BertProcessing)");
  }

  int64_t max_length = options.max_length();
  const json& trunc = j.value("truncation", json());
  if (!trunc.is_null()) {
    if (trunc.value("strategy", std::string("LongestFirst")) != "LongestFirst" ||
        trunc.value("direction", std::string("Right")) != "Right") {
      Unsupported(path, "truncation: only the LongestFirst strategy from the right is supported");
    }
    if (max_length == 0) max_length = trunc.value("max_length", kDefaultMaxLength);
  }
  if (max_length == 0) max_length = kDefaultMaxLength;

  int64_t pad_id = 0;
  const json& padding = j.value("padding", json());
  if (!padding.is_null())
    pad_id = padding.value("pad_id", int64_t{0});
  else if (vocab.count("[PAD]"))
    pad_id = vocab.at("[PAD]");

  return std::make_unique<WordPieceTokenizer>("tokenizer.json", std::move(vocab), unk,
                                              model.value("continuing_subword_prefix", std::string("##")),
                                              model.value("max_input_chars_per_word", int64_t{100}), norm, pre_tokenize,
                                              std::move(added), std::move(single), std::move(pair), max_length, pad_id);
}

std::unique_ptr<Tokenizer> LoadVocabTxt(const std::string& path, std::ifstream& in, const TokenizerOptions& options) {
  std::unordered_map<std::string, int64_t> vocab;
  std::string line;
  for (int64_t id = 0; std::getline(in, line); ++id) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    vocab.emplace(line, id);
  }
  for (const char* t : {"[CLS]", "[SEP]", "[UNK]"}) {
    if (!vocab.count(t))
      throw TokenizerError(501, path + ": " + t + " is not in the vocabulary; is this a BERT vocab.txt?");
  }
  NormalizerConfig norm;
  norm.bert.lowercase = norm.bert.strip_accents = options.lowercase();
  std::vector<AddedToken> added;
  for (const char* t : {"[CLS]", "[SEP]", "[UNK]", "[PAD]", "[MASK]"}) {
    if (vocab.count(t)) added.push_back({t, vocab.at(t), false, false});
  }
  const int64_t cls = vocab.at("[CLS]"), sep = vocab.at("[SEP]");
  const int64_t pad = vocab.count("[PAD]") ? vocab.at("[PAD]") : 0;
  return std::make_unique<WordPieceTokenizer>(
      "vocab.txt", std::move(vocab), "[UNK]", "##", 100, norm, true, std::move(added), BertTemplate(cls, sep, false),
      BertTemplate(cls, sep, true), options.max_length() ? options.max_length() : kDefaultMaxLength, pad);
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::Load(const std::string& path, const TokenizerOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TokenizerError(501, path + ": cannot open for reading");
  int first = in.peek();
  while (first == ' ' || first == '\n' || first == '\t' || first == '\r') {
    in.get();
    first = in.peek();
  }
  if (first != '{') return LoadVocabTxt(path, in, options);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw TokenizerError(501, path + ": malformed JSON: " + JsonErrorText(e));
  }
  try {
    return LoadTokenizerJson(path, text, j, options);
  } catch (const json::exception& e) {
    throw TokenizerError(501, path + ": not a tokenizer.json this version understands: " + JsonErrorText(e));
  }
}

}  // namespace synapse
