// AddedVocabulary::extract_and_normalize and find_matches (tokenizers' added_vocabulary.rs).
#include "tokenizer/added_tokens.h"

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "tokenizer/text_pattern.h"

namespace synapse {
namespace {

// Regex \w as the Rust regex crate has it (UTS #18).
bool IsWordChar(UChar32 c) {
  if (c < 128) return std::isalnum(static_cast<int>(c)) != 0 || c == '_';
  return u_hasBinaryProperty(c, UCHAR_ALPHABETIC) ||
         (U_GET_GC_MASK(c) & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) != 0 ||
         u_hasBinaryProperty(c, UCHAR_JOIN_CONTROL);
}

bool EndsWithWord(const std::string& s, size_t end) {
  if (end == 0) return false;
  int32_t i = static_cast<int32_t>(end);
  UChar32 c;
  U8_PREV(reinterpret_cast<const uint8_t*>(s.data()), 0, i, c);
  return IsWordChar(c);
}

bool StartsWithWord(const std::string& s, size_t start) {
  if (start >= s.size()) return false;
  int32_t i = static_cast<int32_t>(start);
  UChar32 c;
  U8_NEXT(reinterpret_cast<const uint8_t*>(s.data()), i, static_cast<int32_t>(s.size()), c);
  return IsWordChar(c);
}

}  // namespace

AddedVocabulary::AddedVocabulary(std::vector<AddedTokenSpec> tokens, const Normalizer* normalizer)
    : tokens_(std::move(tokens)) {
  std::vector<std::pair<std::string, size_t>> raw, normalized;
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (tokens_[i].content.empty()) continue;
    if (!tokens_[i].normalized) {
      raw.emplace_back(tokens_[i].content, i);
      continue;
    }
    std::string content = tokens_[i].content;
    if (normalizer) normalizer->Normalize(&content);
    if (!content.empty()) normalized.emplace_back(content, i);
  }
  Build(&raw_, raw);
  Build(&normalized_, normalized);
}

void AddedVocabulary::Build(MatchSet* set, const std::vector<std::pair<std::string, size_t>>& patterns) {
  for (const auto& [pattern, token] : patterns) {
    set->by_first_byte[static_cast<unsigned char>(pattern[0])].push_back(set->patterns.size());
    set->patterns.push_back(pattern);
    set->token.push_back(token);
  }
}

void AddedVocabulary::Split(const std::string& text, const MatchSet& set, bool at_origin, std::vector<Segment>* out,
                            std::vector<bool>* is_token) const {
  size_t start_offset = 0;
  auto emit_text = [&](size_t b, size_t e) {
    if (e > b) {
      out->push_back({-1, {text.substr(b, e - b), at_origin && b == 0}});
      is_token->push_back(false);
    }
  };
  for (size_t pos = 0; pos < text.size() && !set.patterns.empty();) {
    // Leftmost-longest: the longest pattern that starts here; else move on one byte.
    size_t best = SIZE_MAX, best_len = 0;
    for (size_t k : set.by_first_byte[static_cast<unsigned char>(text[pos])]) {
      const std::string& p = set.patterns[k];
      if (p.size() > best_len && text.compare(pos, p.size(), p) == 0) {
        best = k;
        best_len = p.size();
      }
    }
    if (best == SIZE_MAX) {
      ++pos;
      continue;
    }
    const AddedTokenSpec& token = tokens_[set.token[best]];
    size_t start = pos, stop = pos + best_len;
    if (token.single_word && (EndsWithWord(text, start) || StartsWithWord(text, stop))) {
      pos = stop;  // aho-corasick resumes after the discarded match
      continue;
    }
    if (token.lstrip) {
      size_t s = start;
      while (s > 0) {
        int32_t i = static_cast<int32_t>(s);
        UChar32 c;
        U8_PREV(reinterpret_cast<const uint8_t*>(text.data()), 0, i, c);
        if (!IsWhitespaceChar(c)) break;
        s = static_cast<size_t>(i);
      }
      start = std::max(s, start_offset);
    }
    if (token.rstrip) {
      while (stop < text.size()) {
        int32_t i = static_cast<int32_t>(stop);
        UChar32 c;
        U8_NEXT(reinterpret_cast<const uint8_t*>(text.data()), i, static_cast<int32_t>(text.size()), c);
        if (!IsWhitespaceChar(c)) break;
        stop = static_cast<size_t>(i);
      }
    }
    start = std::max(start, start_offset);
    emit_text(start_offset, start);
    out->push_back({token.id, {}});
    is_token->push_back(true);
    start_offset = stop;
    pos += best_len;  // as aho-corasick: after the match, not after what rstrip took
  }
  emit_text(start_offset, text.size());
}

std::vector<Segment> AddedVocabulary::ExtractAndNormalize(const std::string& text, const Normalizer* normalizer) const {
  std::vector<Segment> first, out;
  std::vector<bool> is_token, unused;
  Split(text, raw_, true, &first, &is_token);
  for (size_t i = 0; i < first.size(); ++i) {
    if (is_token[i]) {
      out.push_back(std::move(first[i]));
      continue;
    }
    Piece& piece = first[i].piece;
    if (normalizer) normalizer->Normalize(&piece.text);
    if (piece.text.empty()) continue;
    Split(piece.text, normalized_, piece.at_origin, &out, &unused);
  }
  return out;
}

}  // namespace synapse
