// Added tokens found in the text before the model sees it, as tokenizers' AddedVocabulary
// finds them (private).
//
//   AddedVocabulary added(tokens, normalizer);          // tokens from tokenizer.json
//   std::vector<Segment> s = added.ExtractAndNormalize("Hi <mask> there", normalizer);
//   // {text "Hi"}, {id 50264}, {text " there"} (texts normalized)
//
// Tokens with `normalized: false` are matched in the raw text, the others in the normalized
// text of what lies between; leftmost-longest, with single_word, lstrip and rstrip.
#ifndef SYNAPSE_SRC_TOKENIZER_ADDED_TOKENS_H_
#define SYNAPSE_SRC_TOKENIZER_ADDED_TOKENS_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/components.h"

namespace synapse {

struct AddedTokenSpec {
  std::string content;
  int64_t id = 0;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
};

/// A stretch of one input sequence: an added token (id >= 0) or normalized text.
struct Segment {
  int64_t id = -1;
  Piece piece;
};

class AddedVocabulary {
 public:
  /// `normalizer` (may be null) normalizes the contents of the normalized tokens.
  AddedVocabulary(std::vector<AddedTokenSpec> tokens, const Normalizer* normalizer);

  /// Splits out the raw-matched tokens, normalizes the rest, splits out the normalized ones.
  /// Empty stretches are dropped.
  std::vector<Segment> ExtractAndNormalize(const std::string& text, const Normalizer* normalizer) const;

 private:
  struct MatchSet {
    std::vector<std::string> patterns;
    std::vector<size_t> token;  // index into tokens_
    std::array<std::vector<size_t>, 256> by_first_byte;
  };
  void Build(MatchSet* set, const std::vector<std::pair<std::string, size_t>>& patterns);
  // find_matches: (token index or -1, start, end) covering `text`.
  void Split(const std::string& text, const MatchSet& set, bool at_origin, std::vector<Segment>* out,
             std::vector<bool>* is_token) const;

  std::vector<AddedTokenSpec> tokens_;
  MatchSet raw_, normalized_;
};

}  // namespace synapse

#endif  // SYNAPSE_SRC_TOKENIZER_ADDED_TOKENS_H_
