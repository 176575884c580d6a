// Tokenizers that produce exactly the ids Hugging Face's `tokenizers` library would.
//
//   auto tok = synapse::Tokenizer::Load("tokenizer.json");        // or a bare vocab.txt
//   synapse::Example e = tok->Encode("Win a FREE cruise!");        // [CLS] ... [SEP]
//   synapse::Example p = tok->Encode("premise", "hypothesis");     // sentence pairs
//
// Supported: WordPiece (BERT-family files and vocab.txt), BPE (RoBERTa, GPT-2, Llama-style
// with byte fallback), Unigram (SentencePiece: ALBERT, T5, XLM-R, DeBERTa-v3, with their
// precompiled charsmaps) and WordLevel tokenizer.json files, with the normalizers,
// pre-tokenizers, post-processors, added tokens, truncation and padding they use (docs/cli.md,
// `synapse tokenize`). A component Synapse does not implement is refused at load with
// TokenizerError 502 naming its JSON path.
#ifndef SYNAPSE_TOKENIZER_H_
#define SYNAPSE_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "synapse/example.h"
#include "synapse/options.h"

namespace synapse {

struct TokenizerOptions {
  /// Longest encoding, special tokens included; 0 means the tokenizer's own truncation
  /// setting, else 512. Pairs are truncated as the file's strategy says (longest-first by
  /// default).
  SYNAPSE_ARG(int64_t, max_length) = 0;
  /// For vocab.txt: lowercase and strip accents (uncased models). Ignored for
  /// tokenizer.json, which says so itself.
  SYNAPSE_ARG(bool, lowercase) = true;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  /// Loads `path`: a Hugging Face tokenizer.json, or a vocab.txt (one token per line).
  /// Throws TokenizerError: 501 unreadable or malformed, 502 unsupported component, 506 a
  /// component's settings unusable.
  static std::unique_ptr<Tokenizer> Load(const std::string& path, const TokenizerOptions& options = {});

  /// Encodes one text (valid UTF-8), or a pair, with special tokens, truncated to
  /// max_length() (and padded if the file says so). Throws TokenizerError 503 for invalid
  /// UTF-8, 507 where Hugging Face refuses the text too (OnlySecond truncation of one text).
  virtual Example Encode(const std::string& text, const std::optional<std::string>& pair = std::nullopt) const = 0;

  /// The id to pad with.
  virtual int64_t pad_id() const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual int64_t max_length() const = 0;
  /// "WordPiece (tokenizer.json)", "WordPiece (vocab.txt)", "BPE (tokenizer.json)",
  /// "Unigram (tokenizer.json)" or "WordLevel (tokenizer.json)".
  virtual std::string Describe() const = 0;
};

}  // namespace synapse

#endif  // SYNAPSE_TOKENIZER_H_
