// The stages of a Hugging Face tokenizer.json pipeline, one small interface each (private).
//
//   std::unique_ptr<Normalizer> n = MakeNormalizer(j["normalizer"], "normalizer");
//   std::string text = "Café";  n->Normalize(&text);
//   std::vector<Piece> pieces = {{text, true}};
//   MakePreTokenizer(j["pre_tokenizer"], "pre_tokenizer")->Split(&pieces);
//   MakeModel(j["model"], "model")->Tokenize(pieces[0].text, &ids);
//
// Each stage is built from its JSON object at load and refuses what it does not implement
// with TokenizerError 502 naming the JSON path ("pre_tokenizer.pretokenizers[1].type"), and
// malformed settings with 506. Stages work on UTF-8 strings: Synapse needs ids, not offsets,
// so none of Hugging Face's alignment tracking is kept.
#ifndef SYNAPSE_SRC_TOKENIZER_COMPONENTS_H_
#define SYNAPSE_SRC_TOKENIZER_COMPONENTS_H_

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace synapse {

/// A piece of one input sequence on its way to the model. `at_origin`: the piece starts
/// where the sequence starts (Hugging Face's `offsets_original().0 == 0`, which Metaspace's
/// prepend_scheme "first" reads).
struct Piece {
  std::string text;
  bool at_origin = false;
};

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  /// Rewrites `text` (valid UTF-8) in place.
  virtual void Normalize(std::string* text) const = 0;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  /// Replaces each piece by the pieces it splits into; empty pieces are dropped.
  virtual void Split(std::vector<Piece>* pieces) const = 0;
};

class Model {
 public:
  virtual ~Model() = default;
  /// Appends the ids of one pre-tokenized word.
  virtual void Tokenize(const std::string& word, std::vector<int64_t>* ids) const = 0;
  /// The id of a vocabulary entry, if there is one.
  virtual std::optional<int64_t> TokenToId(const std::string& token) const = 0;
  virtual int64_t vocab_size() const = 0;
  /// "BPE", "Unigram", "WordPiece", "WordLevel".
  virtual std::string Name() const = 0;
};

/// The component's JSON `type`, or for a model without one, the type Hugging Face infers
/// from its fields: the first of BPE, WordPiece, WordLevel, Unigram whose required fields
/// are all there. Throws 506 when absent and not inferable.
std::string ComponentType(const nlohmann::json& j, const std::string& path);

/// Throws TokenizerError 502: "PATH.type \"TYPE\" is not supported (supported: ...)"; the loader
/// puts the file name in front.
[[noreturn]] void RefuseComponent(const std::string& path, const std::string& type, const std::string& supported);

/// Throws TokenizerError 506: "PATH: WHAT".
[[noreturn]] void RefuseSetting(const std::string& path, const std::string& what);

/// Null JSON means no normalizer: returns nullptr.
std::unique_ptr<Normalizer> MakeNormalizer(const nlohmann::json& j, const std::string& path);
/// Null JSON means no pre-tokenizer: returns nullptr.
std::unique_ptr<PreTokenizer> MakePreTokenizer(const nlohmann::json& j, const std::string& path);
/// BPE, Unigram, WordPiece or WordLevel. `file_text`: the whole tokenizer.json, whose score
/// literals Unigram reads as serde_json does.
std::unique_ptr<Model> MakeModel(const nlohmann::json& j, const std::string& path, const std::string& file_text);

/// How many tokens of a pair Hugging Face's LongestFirst truncation keeps when the pair
/// (n1 + n2 tokens) must fit in `max` (tokenizers' utils/truncation.rs): the shorter keeps
/// all it can, the longer the rest, and two that are both too long split `max` in half.
std::pair<int64_t, int64_t> LongestFirstLengths(int64_t n1, int64_t n2, int64_t max);

}  // namespace synapse

#endif  // SYNAPSE_SRC_TOKENIZER_COMPONENTS_H_
