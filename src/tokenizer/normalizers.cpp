// tokenizer.json normalizers: Sequence, NFC/NFD/NFKC/NFKD, Lowercase, Strip, StripAccents,
// Replace, Prepend, BertNormalizer and Precompiled, each as tokenizers' normalizers/*.rs.
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include "tokenizer/bert_text.h"
#include "synapse/error.h"
#include "tokenizer/components.h"
#include "tokenizer/precompiled_charsmap.h"
#include "tokenizer/text_pattern.h"

namespace synapse {
namespace {

using nlohmann::json;

template <typename F>
void ForEachChar(const std::string& text, F f) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const int32_t n = static_cast<int32_t>(text.size());
  for (int32_t i = 0; i < n;) {
    UChar32 c;
    U8_NEXT(s, i, n, c);
    f(c);
  }
}

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  void Normalize(std::string* text) const override {
    for (const auto& step : steps_) step->Normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

class UnicodeNormalizer : public Normalizer {
 public:
  UnicodeNormalizer(const icu::Normalizer2* n, std::string name) : n_(n), name_(std::move(name)) {}
  void Normalize(std::string* text) const override {
    UErrorCode status = U_ZERO_ERROR;
    const icu::UnicodeString u = icu::UnicodeString::fromUTF8(*text);
    if (n_->isNormalized(u, status) && U_SUCCESS(status)) return;
    status = U_ZERO_ERROR;
    icu::UnicodeString out = n_->normalize(u, status);
    if (U_FAILURE(status)) throw TokenizerError(506, name_ + ": " + u_errorName(status));
    text->clear();
    out.toUTF8String(*text);
  }

 private:
  const icu::Normalizer2* n_;
  std::string name_;
};

// Rust's char::to_lowercase for every character: no context, so Σ is always σ.
class LowercaseNormalizer : public Normalizer {
 public:
  void Normalize(std::string* text) const override {
    bool ascii = true;
    for (char c : *text) ascii = ascii && static_cast<unsigned char>(c) < 128;
    if (ascii) {
      for (char& c : *text) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
      return;
    }
    std::string out;
    out.reserve(text->size());
    ForEachChar(*text, [&](UChar32 c) {
      if (c < 128) {
        out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
        return;
      }
      UChar src[2];
      int32_t len = 0;
      UBool error = false;
      U16_APPEND(src, len, 2, c, error);
      (void)error;  // c is a valid code point: the text was checked as UTF-8
      UChar dst[8];
      UErrorCode status = U_ZERO_ERROR;
      const int32_t n = u_strToLower(dst, 8, src, len, "", &status);
      if (U_FAILURE(status)) {
        AppendUtf8(c, &out);
        return;
      }
      for (int32_t i = 0; i < n;) {
        UChar32 d;
        U16_NEXT(dst, i, n, d);
        AppendUtf8(d, &out);
      }
    });
    *text = std::move(out);
  }
};

class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void Normalize(std::string* text) const override {
    const auto* s = reinterpret_cast<const uint8_t*>(text->data());
    const int32_t n = static_cast<int32_t>(text->size());
    int32_t begin = 0, end = n;
    if (left_) {
      while (begin < n) {
        int32_t next = begin;
        UChar32 c;
        U8_NEXT(s, next, n, c);
        if (!IsWhitespaceChar(c)) break;
        begin = next;
      }
    }
    if (right_) {
      while (end > begin) {
        int32_t prev = end;
        UChar32 c;
        U8_PREV(s, 0, prev, c);
        if (!IsWhitespaceChar(c)) break;
        end = prev;
      }
    }
    *text = text->substr(static_cast<size_t>(begin), static_cast<size_t>(end - begin));
  }

 private:
  bool left_, right_;
};

// unicode_normalization's is_combining_mark: every Mark (Mn, Mc, Me).
class StripAccentsNormalizer : public Normalizer {
 public:
  void Normalize(std::string* text) const override {
    std::string out;
    out.reserve(text->size());
    ForEachChar(*text, [&](UChar32 c) {
      if (c >= 128 && (U_GET_GC_MASK(c) & U_GC_M_MASK) != 0) return;
      AppendUtf8(c, &out);
    });
    *text = std::move(out);
  }
};

class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(TextPattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void Normalize(std::string* text) const override { *text = ReplaceMatches(pattern_, *text, content_); }

 private:
  TextPattern pattern_;
  std::string content_;
};

class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prepend) : prepend_(std::move(prepend)) {}
  void Normalize(std::string* text) const override {
    if (!text->empty()) text->insert(0, prepend_);
  }

 private:
  std::string prepend_;
};

class BertTextNormalizer : public Normalizer {
 public:
  explicit BertTextNormalizer(BertNormalizerConfig config) : config_(config) {}
  void Normalize(std::string* text) const override {
    std::vector<UChar32> chars = BertNormalize(DecodeUtf8(*text), config_);
    text->clear();
    for (UChar32 c : chars) AppendUtf8(c, text);
  }

 private:
  BertNormalizerConfig config_;
};

class PrecompiledNormalizer : public Normalizer {
 public:
  explicit PrecompiledNormalizer(PrecompiledCharsmap map) : map_(std::move(map)) {}
  void Normalize(std::string* text) const override { *text = map_.Normalize(*text); }

 private:
  PrecompiledCharsmap map_;
};

bool BoolField(const json& j, const char* key, bool fallback, const std::string& path) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean()) RefuseSetting(path + "." + key, "must be true or false, not " + j[key].dump());
  return j[key].get<bool>();
}

std::string StringField(const json& j, const char* key, const std::string& path) {
  if (!j.contains(key) || !j[key].is_string()) RefuseSetting(path + "." + key, "must be a string");
  return j[key].get<std::string>();
}

}  // namespace

std::unique_ptr<Normalizer> MakeNormalizer(const json& j, const std::string& path) {
  if (j.is_null()) return nullptr;
  const std::string type = ComponentType(j, path);
  UErrorCode status = U_ZERO_ERROR;
  if (type == "Sequence") {
    if (!j.contains("normalizers") || !j["normalizers"].is_array())
      RefuseSetting(path + ".normalizers", "must be a list");
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (size_t i = 0; i < j["normalizers"].size(); ++i) {
      auto step = MakeNormalizer(j["normalizers"][i], path + ".normalizers[" + std::to_string(i) + "]");
      if (step) steps.push_back(std::move(step));
    }
    return std::make_unique<SequenceNormalizer>(std::move(steps));
  }
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(icu::Normalizer2::getNFCInstance(status), type);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(icu::Normalizer2::getNFDInstance(status), type);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(icu::Normalizer2::getNFKCInstance(status), type);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(icu::Normalizer2::getNFKDInstance(status), type);
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
  if (type == "Strip") {
    return std::make_unique<StripNormalizer>(BoolField(j, "strip_left", true, path),
                                             BoolField(j, "strip_right", true, path));
  }
  if (type == "Replace") {
    if (!j.contains("pattern")) RefuseSetting(path + ".pattern", "is missing");
    return std::make_unique<ReplaceNormalizer>(TextPattern::FromJson(j["pattern"], path + ".pattern"),
                                               StringField(j, "content", path));
  }
  if (type == "Prepend") return std::make_unique<PrependNormalizer>(StringField(j, "prepend", path));
  if (type == "BertNormalizer") {
    BertNormalizerConfig config;
    config.clean_text = BoolField(j, "clean_text", true, path);
    config.handle_chinese_chars = BoolField(j, "handle_chinese_chars", true, path);
    config.lowercase = BoolField(j, "lowercase", true, path);
    config.strip_accents = BoolField(j, "strip_accents", config.lowercase, path);
    return std::make_unique<BertTextNormalizer>(config);
  }
  if (type == "Precompiled") {
    const std::string field = path + ".precompiled_charsmap";
    std::optional<std::string> bytes;
    if (j["precompiled_charsmap"].is_string()) bytes = DecodeBase64(j["precompiled_charsmap"].get<std::string>());
    if (!bytes) RefuseSetting(field, "is not a base64 string");
    return std::make_unique<PrecompiledNormalizer>(PrecompiledCharsmap(*bytes, field));
  }
  RefuseComponent(path, type,
                  "Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, Replace, Prepend, BertNormalizer, "
                  "Precompiled");
}

}  // namespace synapse
