// SentencePiece's precompiled charsmap, read from its published format (private).
//
//   PrecompiledCharsmap map(bytes, "normalizer.precompiled_charsmap");  // 506 if malformed
//   std::string out = map.Normalize("ﬁ");                                // "fi"
//
// The format: a little-endian uint32 with the byte size of the trie, the trie (a darts-clone
// double array of little-endian uint32 units over UTF-8 bytes), then a blob of NUL-ended
// normalized strings, which the trie's values index. ALBERT, T5, XLM-R and DeBERTa-v3
// tokenizer.json files carry it base64-encoded in a `Precompiled` normalizer.
#ifndef SYNAPSE_SRC_TOKENIZER_PRECOMPILED_CHARSMAP_H_
#define SYNAPSE_SRC_TOKENIZER_PRECOMPILED_CHARSMAP_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace synapse {

class PrecompiledCharsmap {
 public:
  /// Parses the charsmap; throws TokenizerError 506 (naming `path`) if it is truncated or
  /// its blob is not UTF-8.
  PrecompiledCharsmap(const std::string& bytes, const std::string& path);

  /// Hugging Face's Precompiled normalizer: per extended grapheme cluster (shorter than 6
  /// bytes) the replacement of its shortest mapped prefix, else per code point.
  std::string Normalize(const std::string& text) const;

  /// The replacement for `chunk` if a prefix of it is a key (the shortest such key), as
  /// spm_precompiled's `transform`.
  std::optional<std::string_view> Transform(std::string_view chunk) const;

 private:
  std::vector<uint32_t> trie_;
  std::string normalized_;
};

/// Decodes standard base64 (padding optional); nullopt if `text` is not base64.
std::optional<std::string> DecodeBase64(const std::string& text);

}  // namespace synapse

#endif  // SYNAPSE_SRC_TOKENIZER_PRECOMPILED_CHARSMAP_H_
