// The precompiled charsmap: darts-clone common-prefix search over a grapheme, as the
// spm_precompiled crate (which Hugging Face tokenizers uses) does it.
#include "tokenizer/precompiled_charsmap.h"

#include <unicode/brkiter.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <memory>

#include "synapse/error.h"

namespace synapse {
namespace {

// darts-clone's unit layout.
bool HasLeaf(uint32_t unit) { return ((unit >> 8) & 1) == 1; }
uint32_t Value(uint32_t unit) { return unit & ((1u << 31) - 1); }
uint32_t Label(uint32_t unit) { return unit & ((1u << 31) | 0xFF); }
uint32_t Offset(uint32_t unit) { return (unit >> 10) << ((unit & (1u << 9)) >> 6); }

bool IsUtf8(const std::string& s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const int32_t n = static_cast<int32_t>(s.size());
  for (int32_t i = 0; i < n;) {
    UChar32 c;
    U8_NEXT(p, i, n, c);
    if (c < 0) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> DecodeBase64(const std::string& text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t buffer = 0;
  int bits = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] != '='; ++i) {
    const int v = value(text[i]);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  for (; i < text.size(); ++i) {
    if (text[i] != '=') return std::nullopt;
  }
  return out;
}

PrecompiledCharsmap::PrecompiledCharsmap(const std::string& bytes, const std::string& path) {
  if (bytes.size() < 4) throw TokenizerError(506, path + ": the charsmap is shorter than its header");
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  const uint32_t trie_size = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
  if (trie_size % 4 != 0 || trie_size > bytes.size() - 4) {
    throw TokenizerError(506, path + ": the charsmap's trie size " + std::to_string(trie_size) + " does not fit its " +
                                  std::to_string(bytes.size()) + " bytes");
  }
  trie_.resize(trie_size / 4);
  for (size_t i = 0; i < trie_.size(); ++i) {
    const uint8_t* u = b + 4 + 4 * i;
    trie_[i] = u[0] | (u[1] << 8) | (u[2] << 16) | (static_cast<uint32_t>(u[3]) << 24);
  }
  normalized_ = bytes.substr(4 + trie_size);
  if (!IsUtf8(normalized_)) throw TokenizerError(506, path + ": the charsmap's strings are not UTF-8");
  if (trie_.empty()) throw TokenizerError(506, path + ": the charsmap's trie is empty");
}

std::optional<std::string_view> PrecompiledCharsmap::Transform(std::string_view chunk) const {
  // DoubleArray::common_prefix_search, stopping at the first (shortest) hit: only that one is used.
  size_t node = Offset(trie_[0]);
  for (char ch : chunk) {
    const auto c = static_cast<uint8_t>(ch);
    if (c == 0) break;
    node ^= c;
    if (node >= trie_.size()) return std::nullopt;
    const uint32_t unit = trie_[node];
    if (Label(unit) != c) return std::nullopt;
    node ^= Offset(unit);
    if (node >= trie_.size()) return std::nullopt;
    if (HasLeaf(unit)) {
      const size_t start = Value(trie_[node]);
      if (start >= normalized_.size()) return std::string_view();
      const size_t end = normalized_.find('\0', start);
      return std::string_view(normalized_).substr(start, (end == std::string::npos ? normalized_.size() : end) - start);
    }
  }
  return std::nullopt;
}

std::string PrecompiledCharsmap::Normalize(const std::string& text) const {
  std::string out;
  out.reserve(text.size());
  const icu::UnicodeString u = icu::UnicodeString::fromUTF8(text);
  UErrorCode status = U_ZERO_ERROR;
  thread_local std::unique_ptr<icu::BreakIterator> graphemes(
      icu::BreakIterator::createCharacterInstance(icu::Locale::getRoot(), status));
  if (!graphemes || U_FAILURE(status)) throw TokenizerError(506, "Precompiled: ICU has no grapheme break iterator");
  graphemes->setText(u);
  // Walk graphemes in UTF-16 and the text in UTF-8 side by side.
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const int32_t n = static_cast<int32_t>(text.size());
  int32_t byte = 0;
  int32_t begin16 = graphemes->first();
  for (int32_t end16 = graphemes->next(); end16 != icu::BreakIterator::DONE; end16 = graphemes->next()) {
    const int32_t grapheme_start = byte;
    std::vector<int32_t> char_starts;
    for (int32_t at16 = begin16; at16 < end16 && byte < n;) {
      char_starts.push_back(byte);
      UChar32 c;
      U8_NEXT(s, byte, n, c);
      at16 += U16_LENGTH(c < 0 ? 0xFFFD : c);
    }
    begin16 = end16;
    const std::string_view grapheme(text.data() + grapheme_start, static_cast<size_t>(byte - grapheme_start));
    if (grapheme.size() < 6) {
      if (std::optional<std::string_view> norm = Transform(grapheme)) {
        out.append(*norm);
        continue;
      }
    }
    char_starts.push_back(byte);
    for (size_t k = 0; k + 1 < char_starts.size(); ++k) {
      const std::string_view part(text.data() + char_starts[k],
                                  static_cast<size_t>(char_starts[k + 1] - char_starts[k]));
      if (std::optional<std::string_view> norm = Transform(part))
        out.append(*norm);
      else
        out.append(part);
    }
  }
  return out;
}

}  // namespace synapse
