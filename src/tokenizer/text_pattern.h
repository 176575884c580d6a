// Hugging Face tokenizers' patterns and split behaviours on UTF-8 text (private).
//
//   TextPattern p = TextPattern::Regex("\\p{L}+", "pre_tokenizer.pattern");   // ICU regex
//   std::vector<PatternMatch> m = p.FindMatches("ab, cd");  // [ab] [, ] [cd], covering all
//   SplitPieces(p, SplitBehavior::kIsolated, /*invert=*/false, &pieces);
//
// Regexes run on ICU's RegexMatcher, with Oniguruma's (Hugging Face's engine) rules where
// the two differ: `\s` is Unicode White_Space, and an empty match right where the previous
// match ended is skipped.
#ifndef SYNAPSE_SRC_TOKENIZER_TEXT_PATTERN_H_
#define SYNAPSE_SRC_TOKENIZER_TEXT_PATTERN_H_

#include <unicode/regex.h>
#include <unicode/umachine.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/components.h"

namespace synapse {

/// One span of a text: a match of the pattern or the text between two matches (byte offsets).
struct PatternMatch {
  size_t start = 0;
  size_t end = 0;
  bool is_match = false;
};

/// tokenizers' SplitDelimiterBehavior.
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

/// Parses "Removed", "Isolated", ... (and the lower-case spellings); 506 otherwise.
SplitBehavior ParseSplitBehavior(const std::string& name, const std::string& path);

class TextPattern {
 public:
  /// A literal string (tokenizers' `{"String": ...}`).
  static TextPattern Literal(std::string literal);
  /// An Oniguruma-style regex (`{"Regex": ...}`) compiled with ICU; 506 if it does not compile.
  static TextPattern Regex(const std::string& regex, const std::string& path);
  /// Every code point for which `predicate` holds is a match of its own.
  static TextPattern Chars(std::function<bool(UChar32)> predicate);
  /// `{"String": s}` or `{"Regex": r}` at `path`.
  static TextPattern FromJson(const nlohmann::json& j, const std::string& path);

  /// tokenizers' Pattern::find_matches: spans covering `text` in order; an empty text is one
  /// empty non-match.
  std::vector<PatternMatch> FindMatches(const std::string& text) const;

 private:
  std::string literal_;
  std::shared_ptr<const icu::RegexPattern> regex_;
  std::function<bool(UChar32)> predicate_;
};

/// NormalizedString::split on each piece: `pieces` becomes the kept spans, empty ones dropped.
/// A span keeps `at_origin` when it starts its piece's first byte.
void SplitPieces(const TextPattern& pattern, SplitBehavior behavior, bool invert, std::vector<Piece>* pieces);

/// NormalizedString::replace: every match replaced by `content`.
std::string ReplaceMatches(const TextPattern& pattern, const std::string& text, const std::string& content);

/// Rust's char::is_whitespace (Unicode White_Space).
bool IsWhitespaceChar(UChar32 c);

}  // namespace synapse

#endif  // SYNAPSE_SRC_TOKENIZER_TEXT_PATTERN_H_
