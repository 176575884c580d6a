// BERT's text handling before the vocabulary: Hugging Face tokenizers' BertNormalizer and
// BertPreTokenizer, rule for rule, on Unicode code points (private; ICU stays in src/).
//
//   BertNormalizerConfig config;                      // uncased: lowercase + strip accents
//   std::vector<UChar32> chars = BertNormalize(DecodeUtf8(text), config);
//   BertPreTokenize(chars, [&](const std::string& word) { ... });  // "hello", ",", "world"
//
// Shared by the WordPiece tokenizer (encoding) and the WordPiece trainer (counting words),
// so that a trained vocabulary sees exactly the words encoding will look up.
#ifndef SYNAPSE_SRC_TOKENIZER_BERT_TEXT_H_
#define SYNAPSE_SRC_TOKENIZER_BERT_TEXT_H_

#include <unicode/umachine.h>

#include <functional>
#include <string>
#include <vector>

namespace synapse {

/// The switches of tokenizers' BertNormalizer. `strip_accents` is resolved already: the
/// tokenizer.json's `null` means "as lowercase".
struct BertNormalizerConfig {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool strip_accents = true;
  bool lowercase = true;
};

/// The code points of `text`. Throws TokenizerError 503 "invalid UTF-8 at byte N of the
/// text" at the first malformed sequence.
std::vector<UChar32> DecodeUtf8(const std::string& text);

/// Appends `c` to `out` as UTF-8 (nothing for a code point that has no encoding).
void AppendUtf8(UChar32 c, std::string* out);

/// tokenizers' BertNormalizer: drops controls, maps whitespace to ' ', isolates CJK
/// ideographs, then NFD + removal of non-spacing marks and per-character lowercasing as
/// configured.
std::vector<UChar32> BertNormalize(std::vector<UChar32> chars, const BertNormalizerConfig& config);

/// tokenizers' BertPreTokenizer: splits on whitespace (dropped) and punctuation (kept, one
/// character per word); calls `emit` with each non-empty word, as UTF-8, in order.
void BertPreTokenize(const std::vector<UChar32>& chars, const std::function<void(const std::string&)>& emit);

}  // namespace synapse

#endif  // SYNAPSE_SRC_TOKENIZER_BERT_TEXT_H_
