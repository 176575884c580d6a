// Patterns and split behaviours, as tokenizers' utils/pattern.rs and normalizer.rs do them.
#include "tokenizer/text_pattern.h"

#include <unicode/regex.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include <optional>
#include <unordered_map>

#include "synapse/error.h"

namespace synapse {
namespace {

// Oniguruma's \s is Unicode White_Space; ICU's is [\t\n\f\r\p{Z}], which misses U+000B and
// U+0085. Rewrites \s and \S (not an escaped backslash followed by s) to the property.
std::string OnigurumaToIcu(const std::string& regex) {
  std::string out;
  out.reserve(regex.size() + 16);
  for (size_t i = 0; i < regex.size(); ++i) {
    if (regex[i] == '\\' && i + 1 < regex.size()) {
      const char next = regex[i + 1];
      if (next == 's')
        out += "\\p{White_Space}";
      else if (next == 'S')
        out += "\\P{White_Space}";
      else {
        out += regex[i];
        out += next;
      }
      ++i;
      continue;
    }
    out += regex[i];
  }
  return out;
}

// UTF-16 index → UTF-8 byte offset, for increasing indices.
class OffsetMap {
 public:
  explicit OffsetMap(const std::string& text) : text_(text) {}
  size_t ToUtf8(int64_t utf16) {
    const auto* s = reinterpret_cast<const uint8_t*>(text_.data());
    const int32_t n = static_cast<int32_t>(text_.size());
    while (u16_ < utf16 && u8_ < n) {
      UChar32 c;
      U8_NEXT(s, u8_, n, c);
      u16_ += U16_LENGTH(c < 0 ? 0xFFFD : c);
    }
    return static_cast<size_t>(u8_);
  }

 private:
  const std::string& text_;
  int32_t u8_ = 0;
  int64_t u16_ = 0;
};

// A matcher per pattern and thread, reused: creating one per piece costs more than the match.
// Each entry holds its pattern, so a pattern outlives its matcher and no address is reused
// while cached; the cache is emptied when it grows past a few dozen patterns.
icu::RegexMatcher* ThreadMatcher(const std::shared_ptr<const icu::RegexPattern>& pattern,
                                 const icu::UnicodeString& input) {
  struct Entry {
    std::shared_ptr<const icu::RegexPattern> pattern;
    std::unique_ptr<icu::RegexMatcher> matcher;
  };
  thread_local std::unordered_map<const icu::RegexPattern*, Entry> cache;
  auto it = cache.find(pattern.get());
  if (it == cache.end()) {
    if (cache.size() >= 64) cache.clear();
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::RegexMatcher> matcher(pattern->matcher(status));
    if (U_FAILURE(status) || !matcher) throw TokenizerError(506, std::string("regex matcher: ") + u_errorName(status));
    it = cache.emplace(pattern.get(), Entry{pattern, std::move(matcher)}).first;
  }
  it->second.matcher->reset(input);
  return it->second.matcher.get();
}

}  // namespace

bool IsWhitespaceChar(UChar32 c) {
  if (c < 128) return c == ' ' || (c >= '\t' && c <= '\r');
  return u_hasBinaryProperty(c, UCHAR_WHITE_SPACE);
}

SplitBehavior ParseSplitBehavior(const std::string& name, const std::string& path) {
  if (name == "Removed" || name == "removed") return SplitBehavior::kRemoved;
  if (name == "Isolated" || name == "isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious" || name == "merged_with_previous") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext" || name == "merged_with_next") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous" || name == "contiguous") return SplitBehavior::kContiguous;
  RefuseSetting(path, "behavior \"" + name +
                          "\" is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous");
}

TextPattern TextPattern::Literal(std::string literal) {
  TextPattern p;
  p.literal_ = std::move(literal);
  return p;
}

TextPattern TextPattern::Regex(const std::string& regex, const std::string& path) {
  UErrorCode status = U_ZERO_ERROR;
  UParseError parse_error;
  icu::UnicodeString source = icu::UnicodeString::fromUTF8(OnigurumaToIcu(regex));
  std::shared_ptr<const icu::RegexPattern> compiled(icu::RegexPattern::compile(source, 0, parse_error, status));
  if (U_FAILURE(status) || !compiled) {
    RefuseSetting(path, "regex \"" + regex + "\" does not compile (" + u_errorName(status) + " at offset " +
                            std::to_string(parse_error.offset) + ")");
  }
  TextPattern p;
  p.regex_ = std::move(compiled);
  return p;
}

TextPattern TextPattern::Chars(std::function<bool(UChar32)> predicate) {
  TextPattern p;
  p.predicate_ = std::move(predicate);
  return p;
}

TextPattern TextPattern::FromJson(const nlohmann::json& j, const std::string& path) {
  if (j.is_object() && j.contains("String") && j["String"].is_string()) return Literal(j["String"].get<std::string>());
  if (j.is_object() && j.contains("Regex") && j["Regex"].is_string()) return Regex(j["Regex"].get<std::string>(), path);
  RefuseSetting(path, "a pattern is {\"String\": ...} or {\"Regex\": ...}, not " + j.dump());
}

std::vector<PatternMatch> TextPattern::FindMatches(const std::string& text) const {
  std::vector<PatternMatch> out;
  if (text.empty()) return {{0, 0, false}};
  if (predicate_) {
    const auto* s = reinterpret_cast<const uint8_t*>(text.data());
    const int32_t n = static_cast<int32_t>(text.size());
    size_t last = 0;
    for (int32_t i = 0; i < n;) {
      const int32_t begin = i;
      UChar32 c;
      U8_NEXT(s, i, n, c);
      if (!predicate_(c)) continue;
      if (last < static_cast<size_t>(begin)) out.push_back({last, static_cast<size_t>(begin), false});
      out.push_back({static_cast<size_t>(begin), static_cast<size_t>(i), true});
      last = static_cast<size_t>(i);
    }
    if (last < text.size()) out.push_back({last, text.size(), false});
    return out;
  }
  size_t prev = 0;
  if (!regex_) {
    if (literal_.empty()) return {{0, text.size(), false}};
    for (size_t at = text.find(literal_); at != std::string::npos; at = text.find(literal_, at + literal_.size())) {
      if (prev != at) out.push_back({prev, at, false});
      out.push_back({at, at + literal_.size(), true});
      prev = at + literal_.size();
    }
    if (prev != text.size()) out.push_back({prev, text.size(), false});
    return out;
  }
  UErrorCode status = U_ZERO_ERROR;
  const icu::UnicodeString u = icu::UnicodeString::fromUTF8(text);
  icu::RegexMatcher* matcher = ThreadMatcher(regex_, u);
  OffsetMap map(text);
  const int64_t length = u.length();
  int64_t last_end = 0;
  std::optional<int64_t> last_match_end;
  while (last_end <= length) {
    if (!matcher->find(last_end, status) || U_FAILURE(status)) break;
    const int64_t s = matcher->start64(status), e = matcher->end64(status);
    if (s == e && last_match_end == e) {
      // Oniguruma's iterator: no empty match right after the previous one; step one character.
      last_end += last_end < length ? U16_LENGTH(u.char32At(static_cast<int32_t>(last_end))) : 1;
      continue;
    }
    last_end = e;
    last_match_end = e;
    const size_t bs = map.ToUtf8(s), be = map.ToUtf8(e);
    if (prev != bs) out.push_back({prev, bs, false});
    out.push_back({bs, be, true});
    prev = be;
  }
  if (prev != text.size()) out.push_back({prev, text.size(), false});
  return out;
}

namespace {

// tokenizers' NormalizedString::split: which spans to keep, after the behaviour's merges.
std::vector<PatternMatch> ApplyBehavior(std::vector<PatternMatch> matches, SplitBehavior behavior) {
  std::vector<PatternMatch> acc;  // is_match here means "remove"
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (PatternMatch& m : matches) m.is_match = false;
      return matches;
    case SplitBehavior::kRemoved:
      return matches;
    case SplitBehavior::kContiguous: {
      bool previous = false;
      for (const PatternMatch& m : matches) {
        if (m.is_match == previous && !acc.empty())
          acc.back().end = m.end;
        else
          acc.push_back({m.start, m.end, false});
        previous = m.is_match;
      }
      return acc;
    }
    case SplitBehavior::kMergedWithPrevious: {
      bool previous = false;
      for (const PatternMatch& m : matches) {
        if (m.is_match && !previous && !acc.empty())
          acc.back().end = m.end;
        else
          acc.push_back({m.start, m.end, false});
        previous = m.is_match;
      }
      return acc;
    }
    case SplitBehavior::kMergedWithNext: {
      bool previous = false;
      for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
        if (it->is_match && !previous && !acc.empty())
          acc.back().start = it->start;
        else
          acc.push_back({it->start, it->end, false});
        previous = it->is_match;
      }
      return std::vector<PatternMatch>(acc.rbegin(), acc.rend());
    }
  }
  return matches;
}

}  // namespace

void SplitPieces(const TextPattern& pattern, SplitBehavior behavior, bool invert, std::vector<Piece>* pieces) {
  std::vector<Piece> out;
  out.reserve(pieces->size());
  for (Piece& piece : *pieces) {
    std::vector<PatternMatch> matches = pattern.FindMatches(piece.text);
    if (invert) {
      for (PatternMatch& m : matches) m.is_match = !m.is_match;
    }
    for (const PatternMatch& span : ApplyBehavior(std::move(matches), behavior)) {
      if (span.is_match || span.end <= span.start) continue;
      out.push_back({piece.text.substr(span.start, span.end - span.start), piece.at_origin && span.start == 0});
    }
  }
  *pieces = std::move(out);
}

std::string ReplaceMatches(const TextPattern& pattern, const std::string& text, const std::string& content) {
  std::string out;
  out.reserve(text.size());
  for (const PatternMatch& m : pattern.FindMatches(text)) {
    if (m.is_match)
      out += content;
    else
      out.append(text, m.start, m.end - m.start);
  }
  return out;
}

}  // namespace synapse
