// BertNormalizer and BertPreTokenizer as Hugging Face's `tokenizers` (Rust) implements them;
// Unicode properties come from ICU.
#include "tokenizer/bert_text.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include <cctype>

#include "synapse/error.h"

namespace synapse {
namespace {

// Rust's char::is_whitespace is Unicode's White_Space property.
bool IsWhitespace(UChar32 c) {
  return c == '\t' || c == '\n' || c == '\r' || c == ' ' || u_hasBinaryProperty(c, UCHAR_WHITE_SPACE);
}

// What tokenizers' clean_text drops: its `is_other` claims Cc, Cf, Cn, Co and Cs, but in
// practice keeps unassigned code points (Cn): the parity test has raw spam with U+0379,
// U+63B3F and U+B0E39 that Hugging Face keeps as tokens.
bool IsControl(UChar32 c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  switch (u_charType(c)) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_PRIVATE_USE_CHAR:
    case U_SURROGATE:
      return true;
    default:
      return false;
  }
}

bool IsPunctuation(UChar32 c) {
  if (c < 128) return std::ispunct(static_cast<int>(c)) != 0;
  switch (u_charType(c)) {
    case U_CONNECTOR_PUNCTUATION:
    case U_DASH_PUNCTUATION:
    case U_START_PUNCTUATION:
    case U_END_PUNCTUATION:
    case U_INITIAL_PUNCTUATION:
    case U_FINAL_PUNCTUATION:
    case U_OTHER_PUNCTUATION:
      return true;
    default:
      return false;
  }
}

bool IsChinese(UChar32 c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// Rust's char::to_lowercase, one character at a time (no context: Σ is always σ).
void AppendLowercase(UChar32 c, std::vector<UChar32>* out) {
  if (c < 128) {
    out->push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return;
  }
  UChar src[2];
  int32_t len = 0;
  UBool error = false;
  U16_APPEND(src, len, 2, c, error);
  (void)error;  // c is a valid code point: it came out of U8_NEXT
  UChar dst[8];
  UErrorCode status = U_ZERO_ERROR;
  int32_t n = u_strToLower(dst, 8, src, len, "", &status);
  if (U_FAILURE(status)) {
    out->push_back(c);
    return;
  }
  for (int32_t i = 0; i < n;) {
    UChar32 d;
    U16_NEXT(dst, i, n, d);
    out->push_back(d);
  }
}

}  // namespace

void AppendUtf8(UChar32 c, std::string* out) {
  char buf[4];
  int32_t n = 0;
  UBool error = false;
  U8_APPEND(reinterpret_cast<uint8_t*>(buf), n, 4, c, error);
  if (!error) out->append(buf, static_cast<size_t>(n));
}

std::vector<UChar32> DecodeUtf8(const std::string& text) {
  std::vector<UChar32> out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  int32_t i = 0, n = static_cast<int32_t>(text.size());
  while (i < n) {
    UChar32 c;
    int32_t at = i;
    U8_NEXT(s, i, n, c);
    if (c < 0) throw TokenizerError(503, "invalid UTF-8 at byte " + std::to_string(at) + " of the text");
    out.push_back(c);
  }
  return out;
}

std::vector<UChar32> BertNormalize(std::vector<UChar32> chars, const BertNormalizerConfig& config) {
  std::vector<UChar32> out;
  out.reserve(chars.size());
  for (UChar32 c : chars) {
    if (config.clean_text) {
      if (c == 0 || c == 0xFFFD || IsControl(c)) continue;
      if (IsWhitespace(c)) c = ' ';
    }
    if (config.handle_chinese_chars && IsChinese(c)) {
      out.push_back(' ');
      out.push_back(c);
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  if (config.strip_accents) {
    icu::UnicodeString s;
    for (UChar32 c : out) s.append(c);
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(status);
    icu::UnicodeString decomposed = nfd->normalize(s, status);
    if (U_FAILURE(status)) throw TokenizerError(503, "cannot NFD-normalize the text");
    out.clear();
    for (int32_t i = 0; i < decomposed.length();) {
      UChar32 c = decomposed.char32At(i);
      i += U16_LENGTH(c);
      if (u_charType(c) != U_NON_SPACING_MARK) out.push_back(c);
    }
  }
  if (config.lowercase) {
    std::vector<UChar32> lowered;
    lowered.reserve(out.size());
    for (UChar32 c : out) AppendLowercase(c, &lowered);
    out.swap(lowered);
  }
  return out;
}

void BertPreTokenize(const std::vector<UChar32>& chars, const std::function<void(const std::string&)>& emit) {
  std::string word;
  auto flush = [&]() {
    if (!word.empty()) emit(word);
    word.clear();
  };
  for (UChar32 c : chars) {
    if (IsWhitespace(c)) {
      flush();
    } else if (IsPunctuation(c)) {
      flush();
      AppendUtf8(c, &word);
      flush();
    } else {
      AppendUtf8(c, &word);
    }
  }
  flush();
}

}  // namespace synapse
