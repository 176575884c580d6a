// tokenizer.json pre-tokenizers: ByteLevel, Metaspace, Whitespace, WhitespaceSplit,
// Punctuation, Digits, Split, CharDelimiterSplit, BertPreTokenizer and Sequence, as
// tokenizers' pre_tokenizers/*.rs split a NormalizedString.
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <array>
#include <cctype>

#include "tokenizer/bert_text.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/components.h"
#include "tokenizer/text_pattern.h"

namespace synapse {
namespace {

using nlohmann::json;

// GPT-2's pattern, as tokenizers' ByteLevel compiles it.
constexpr const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

bool IsPunctuationChar(UChar32 c) {
  if (c < 128) return std::ispunct(static_cast<int>(c)) != 0;
  return (U_GET_GC_MASK(c) & U_GC_P_MASK) != 0;
}

// Rust's char::is_numeric: Nd, Nl and No.
bool IsNumericChar(UChar32 c) {
  if (c < 128) return c >= '0' && c <= '9';
  return (U_GET_GC_MASK(c) & (U_GC_ND_MASK | U_GC_NL_MASK | U_GC_NO_MASK)) != 0;
}

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void Split(std::vector<Piece>* pieces) const override {
    for (const auto& step : steps_) step->Split(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

class PatternPreTokenizer : public PreTokenizer {
 public:
  PatternPreTokenizer(TextPattern pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void Split(std::vector<Piece>* pieces) const override { SplitPieces(pattern_, behavior_, invert_, pieces); }

 private:
  TextPattern pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

// Whitespace, then punctuation isolated: BertPreTokenizer.
class BertPreTokenizerStage : public PreTokenizer {
 public:
  void Split(std::vector<Piece>* pieces) const override {
    SplitPieces(whitespace_, SplitBehavior::kRemoved, false, pieces);
    SplitPieces(punctuation_, SplitBehavior::kIsolated, false, pieces);
  }

 private:
  TextPattern whitespace_ = TextPattern::Chars(IsWhitespaceChar);
  TextPattern punctuation_ = TextPattern::Chars(IsPunctuationChar);
};

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex, const std::string& path)
      : add_prefix_space_(add_prefix_space), use_regex_(use_regex), pattern_(TextPattern::Regex(kGpt2Pattern, path)) {}
  void Split(std::vector<Piece>* pieces) const override {
    if (add_prefix_space_) {
      for (Piece& p : *pieces) {
        if (p.text.empty() || p.text[0] != ' ') p.text.insert(0, " ");
      }
    }
    if (use_regex_) SplitPieces(pattern_, SplitBehavior::kIsolated, false, pieces);
    for (Piece& p : *pieces) p.text = ToByteLevel(p.text);
  }

 private:
  bool add_prefix_space_;
  bool use_regex_;
  TextPattern pattern_;
};

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  enum class Prepend { kAlways, kFirst, kNever };
  MetaspacePreTokenizer(std::string replacement, Prepend prepend, bool split)
      : replacement_(std::move(replacement)),
        prepend_(prepend),
        split_(split),
        pattern_(TextPattern::Literal(replacement_)) {}
  void Split(std::vector<Piece>* pieces) const override {
    for (Piece& p : *pieces) {
      std::string replaced;
      replaced.reserve(p.text.size() + replacement_.size());
      for (char c : p.text) {
        if (c == ' ')
          replaced += replacement_;
        else
          replaced += c;
      }
      const bool starts = replaced.compare(0, replacement_.size(), replacement_) == 0;
      if (!starts && (prepend_ == Prepend::kAlways || (prepend_ == Prepend::kFirst && p.at_origin))) {
        replaced.insert(0, replacement_);
      }
      p.text = std::move(replaced);
    }
    if (split_) SplitPieces(pattern_, SplitBehavior::kMergedWithNext, false, pieces);
  }

 private:
  std::string replacement_;
  Prepend prepend_;
  bool split_;
  TextPattern pattern_;
};

bool BoolField(const json& j, const char* key, bool fallback, const std::string& path) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean()) RefuseSetting(path + "." + key, "must be true or false, not " + j[key].dump());
  return j[key].get<bool>();
}

std::string OneChar(const json& j, const char* key, const std::string& fallback, const std::string& path) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_string()) RefuseSetting(path + "." + key, "must be a one-character string");
  std::string s = j[key].get<std::string>();
  int32_t i = 0, count = 0;
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  while (i < static_cast<int32_t>(s.size())) {
    U8_FWD_1(p, i, static_cast<int32_t>(s.size()));
    ++count;
  }
  if (count != 1) RefuseSetting(path + "." + key, "must be one character, not \"" + s + "\"");
  return s;
}

}  // namespace

std::unique_ptr<PreTokenizer> MakePreTokenizer(const json& j, const std::string& path) {
  if (j.is_null()) return nullptr;
  const std::string type = ComponentType(j, path);
  if (type == "Sequence") {
    if (!j.contains("pretokenizers") || !j["pretokenizers"].is_array())
      RefuseSetting(path + ".pretokenizers", "must be a list");
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (size_t i = 0; i < j["pretokenizers"].size(); ++i) {
      auto step = MakePreTokenizer(j["pretokenizers"][i], path + ".pretokenizers[" + std::to_string(i) + "]");
      if (step) steps.push_back(std::move(step));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevelPreTokenizer>(BoolField(j, "add_prefix_space", true, path),
                                                   BoolField(j, "use_regex", true, path), path);
  }
  if (type == "Metaspace") {
    const std::string replacement = OneChar(j, "replacement", "\xE2\x96\x81", path);
    MetaspacePreTokenizer::Prepend prepend = MetaspacePreTokenizer::Prepend::kAlways;
    const bool has_scheme = j.contains("prepend_scheme") && !j["prepend_scheme"].is_null();
    const bool has_legacy = j.contains("add_prefix_space") && !j["add_prefix_space"].is_null();
    if (has_scheme) {
      const std::string scheme = j["prepend_scheme"].is_string() ? j["prepend_scheme"].get<std::string>() : "?";
      if (scheme == "always")
        prepend = MetaspacePreTokenizer::Prepend::kAlways;
      else if (scheme == "first")
        prepend = MetaspacePreTokenizer::Prepend::kFirst;
      else if (scheme == "never")
        prepend = MetaspacePreTokenizer::Prepend::kNever;
      else
        RefuseSetting(path + ".prepend_scheme", "must be \"always\", \"first\" or \"never\"");
    } else if (has_legacy) {
      // Files from before prepend_scheme: add_prefix_space true is "always".
      prepend = BoolField(j, "add_prefix_space", true, path) ? MetaspacePreTokenizer::Prepend::kAlways
                                                             : MetaspacePreTokenizer::Prepend::kNever;
    }
    return std::make_unique<MetaspacePreTokenizer>(replacement, prepend, BoolField(j, "split", true, path));
  }
  if (type == "Whitespace") {
    return std::make_unique<PatternPreTokenizer>(TextPattern::Regex(R"(\w+|[^\w\s]+)", path), SplitBehavior::kRemoved,
                                                 true);
  }
  if (type == "WhitespaceSplit") {
    return std::make_unique<PatternPreTokenizer>(TextPattern::Chars(IsWhitespaceChar), SplitBehavior::kRemoved, false);
  }
  if (type == "Punctuation") {
    const std::string behavior =
        j.contains("behavior") && j["behavior"].is_string() ? j["behavior"].get<std::string>() : "Isolated";
    return std::make_unique<PatternPreTokenizer>(TextPattern::Chars(IsPunctuationChar),
                                                 ParseSplitBehavior(behavior, path + ".behavior"), false);
  }
  if (type == "Digits") {
    const bool individual = BoolField(j, "individual_digits", false, path);
    return std::make_unique<PatternPreTokenizer>(
        TextPattern::Chars(IsNumericChar), individual ? SplitBehavior::kIsolated : SplitBehavior::kContiguous, false);
  }
  if (type == "Split") {
    if (!j.contains("pattern")) RefuseSetting(path + ".pattern", "is missing");
    if (!j.contains("behavior") || !j["behavior"].is_string()) RefuseSetting(path + ".behavior", "is missing");
    return std::make_unique<PatternPreTokenizer>(
        TextPattern::FromJson(j["pattern"], path + ".pattern"),
        ParseSplitBehavior(j["behavior"].get<std::string>(), path + ".behavior"), BoolField(j, "invert", false, path));
  }
  if (type == "CharDelimiterSplit") {
    return std::make_unique<PatternPreTokenizer>(TextPattern::Literal(OneChar(j, "delimiter", "", path)),
                                                 SplitBehavior::kRemoved, false);
  }
  if (type == "BertPreTokenizer") return std::make_unique<BertPreTokenizerStage>();
  RefuseComponent(path, type,
                  "Sequence, ByteLevel, Metaspace, Whitespace, WhitespaceSplit, Punctuation, Digits, Split, "
                  "CharDelimiterSplit, BertPreTokenizer");
}

}  // namespace synapse
