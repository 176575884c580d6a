// One Tokenizer over the tokenizer.json components, in the order tokenizers'
// TokenizerImpl::encode runs them.
#include "tokenizer/pipeline_tokenizer.h"

#include <unordered_map>

#include "tokenizer/bert_text.h"
#include "synapse/error.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/components.h"
#include "tokenizer/post_processors.h"

namespace synapse {
namespace {

using nlohmann::json;

constexpr int64_t kDefaultMaxLength = 512;

class PipelineTokenizer : public Tokenizer {
 public:
  PipelineTokenizer(std::unique_ptr<Normalizer> normalizer, std::unique_ptr<PreTokenizer> pre_tokenizer,
                    std::unique_ptr<Model> model, std::vector<AddedTokenSpec> added, PostProcessor post,
                    Truncation truncation, Padding padding, int64_t pad_id, int64_t vocab_size, std::string source)
      : normalizer_(std::move(normalizer)),
        pre_tokenizer_(std::move(pre_tokenizer)),
        model_(std::move(model)),
        added_(std::move(added), normalizer_.get()),
        post_(std::move(post)),
        truncation_(truncation),
        padding_(padding),
        pad_id_(pad_id),
        vocab_size_(vocab_size),
        source_(std::move(source)) {}

  Example Encode(const std::string& text, const std::optional<std::string>& pair) const override {
    std::vector<int64_t> a = Tokenize(text), b;
    if (pair) b = Tokenize(*pair);
    truncation_.Apply(post_.AddedCount(pair.has_value()), &a, pair ? &b : nullptr);
    Example out = post_.Apply(a, pair ? &b : nullptr);
    padding_.Apply(&out);
    return out;
  }

  int64_t pad_id() const override { return pad_id_; }
  int64_t vocab_size() const override { return vocab_size_; }
  int64_t max_length() const override { return truncation_.max_length; }
  std::string Describe() const override { return model_->Name() + " (" + source_ + ")"; }

 private:
  std::vector<int64_t> Tokenize(const std::string& text) const {
    DecodeUtf8(text);  // throws 503 on invalid UTF-8
    std::vector<int64_t> ids;
    std::vector<Piece> pieces;
    for (Segment& segment : added_.ExtractAndNormalize(text, normalizer_.get())) {
      if (segment.id >= 0) {
        ids.push_back(segment.id);
        continue;
      }
      pieces.clear();
      pieces.push_back(std::move(segment.piece));
      if (pre_tokenizer_) pre_tokenizer_->Split(&pieces);
      for (const Piece& piece : pieces) model_->Tokenize(piece.text, &ids);
    }
    return ids;
  }

  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<Model> model_;
  AddedVocabulary added_;
  PostProcessor post_;
  Truncation truncation_;
  Padding padding_;
  int64_t pad_id_;
  int64_t vocab_size_;
  std::string source_;
};

// The file's added tokens with the ids tokenizers gives them when it loads the file
// (AddedVocabulary::add_tokens): the model's id for a token in its vocabulary, else the
// next id after the vocabulary; the file's own "id" fields are not read.
std::vector<AddedTokenSpec> AddedTokens(const json& j, const Model& model) {
  std::vector<AddedTokenSpec> out;
  std::unordered_map<std::string, int64_t> assigned;
  std::optional<int64_t> max_assigned;
  if (j.is_null()) return out;
  if (!j.is_array()) RefuseSetting("added_tokens", "must be a list");
  for (size_t i = 0; i < j.size(); ++i) {
    const json& t = j[i];
    const std::string at = "added_tokens[" + std::to_string(i) + "]";
    if (!t.is_object() || !t.contains("content") || !t["content"].is_string() || !t.contains("id") ||
        !t["id"].is_number_integer()) {
      RefuseSetting(at, "needs a string content and an integer id");
    }
    AddedTokenSpec spec;
    spec.content = t["content"].get<std::string>();
    spec.id = t["id"].get<int64_t>();
    spec.special = t.value("special", false);
    spec.single_word = t.value("single_word", false);
    spec.lstrip = t.value("lstrip", false);
    spec.rstrip = t.value("rstrip", false);
    spec.normalized = t.value("normalized", !spec.special);
    if (spec.content.empty()) continue;
    bool repeated = false;
    for (const AddedTokenSpec& o : out) {
      repeated =
          repeated || (o.content == spec.content && o.special == spec.special && o.single_word == spec.single_word &&
                       o.lstrip == spec.lstrip && o.rstrip == spec.rstrip && o.normalized == spec.normalized);
    }
    if (repeated) continue;
    const int64_t vocab = model.vocab_size();
    if (auto it = assigned.find(spec.content); it != assigned.end()) {
      spec.id = it->second;
    } else if (std::optional<int64_t> id = model.TokenToId(spec.content)) {
      spec.id = *id;
    } else if (!max_assigned) {
      spec.id = vocab;
    } else {
      spec.id = (*max_assigned >= vocab || vocab == 0) ? *max_assigned + 1 : vocab;
    }
    assigned[spec.content] = spec.id;
    max_assigned = std::max(max_assigned.value_or(spec.id), spec.id);
    out.push_back(std::move(spec));
  }
  return out;
}

}  // namespace

std::unique_ptr<Tokenizer> LoadPipelineTokenizer(const json& j, const std::string& file_text,
                                                 const TokenizerOptions& options, const std::string& source) {
  if (!j.is_object() || !j.contains("model"))
    throw TokenizerError(501, "not a tokenizer.json this version understands: it has no \"model\"");
  std::unique_ptr<Model> model = MakeModel(j["model"], "model", file_text);
  std::unique_ptr<Normalizer> normalizer = MakeNormalizer(j.value("normalizer", json()), "normalizer");
  std::unique_ptr<PreTokenizer> pre_tokenizer = MakePreTokenizer(j.value("pre_tokenizer", json()), "pre_tokenizer");
  PostProcessor post = PostProcessor::FromJson(j.value("post_processor", json()), "post_processor");
  std::vector<AddedTokenSpec> added = AddedTokens(j.value("added_tokens", json()), *model);
  Truncation truncation = Truncation::FromJson(j.value("truncation", json()), "truncation");
  // Synapse always truncates: the caller's length, else the file's, else 512.
  if (options.max_length() > 0)
    truncation.max_length = options.max_length();
  else if (truncation.max_length == 0)
    truncation.max_length = kDefaultMaxLength;
  Padding padding = Padding::FromJson(j.value("padding", json()), "padding");

  int64_t vocab_size = model->vocab_size();
  for (const AddedTokenSpec& t : added) vocab_size = std::max(vocab_size, t.id + 1);
  int64_t pad_id = 0;
  if (padding.enabled) {
    pad_id = padding.pad_id;
  } else {
    // BERT-family files name theirs [PAD]; one without pads with 0.
    const std::vector<std::string> names = model->Name() == "WordPiece"
                                               ? std::vector<std::string>{"[PAD]"}
                                               : std::vector<std::string>{"<pad>", "[PAD]", "<|endoftext|>"};
    for (const std::string& name : names) {
      if (std::optional<int64_t> id = model->TokenToId(name)) {
        pad_id = *id;
        break;
      }
    }
  }
  return std::make_unique<PipelineTokenizer>(std::move(normalizer), std::move(pre_tokenizer), std::move(model),
                                             std::move(added), std::move(post), truncation, padding, pad_id, vocab_size,
                                             source);
}

}  // namespace synapse
