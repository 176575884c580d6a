// Encode on one small tokenizer.json of each kind the pipeline reads (compiled once per kind:
// SYNAPSE_FUZZ_KIND 1 byte-level BPE, 2 Metaspace BPE with byte fallback, 3 Unigram with byte
// fallback, 4 WordLevel behind every normalizer and pre-tokenizer, 5 Precompiled, whose
// charsmap is the fuzzer's input). Input: TEXT [\0 PAIR]; for kind 5, LEN16 CHARSMAP TEXT.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "fuzz_input.h"
#include "synapse/tokenizer.h"

namespace {

using nlohmann::json;

std::string Base64(const std::string& bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += alphabet[(v >> k) & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint8_t(bytes[i]) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

json Added(int id, const char* content, bool lstrip = false, bool rstrip = false, bool single_word = false,
           bool normalized = false) {
  return {{"id", id},         {"content", content},         {"special", !normalized},  {"lstrip", lstrip},
          {"rstrip", rstrip}, {"single_word", single_word}, {"normalized", normalized}};
}

json Tokenizer(int kind, const std::string& charsmap) {
  json j = {{"version", "1.0"},
            {"truncation", {{"max_length", 32}, {"strategy", "LongestFirst"}, {"direction", "Left"}, {"stride", 0}}},
            {"padding", nullptr},
            {"decoder", nullptr},
            {"normalizer", nullptr},
            {"pre_tokenizer", nullptr}};
  j["post_processor"] = {{"type", "RobertaProcessing"}, {"sep", {"</s>", 2}}, {"cls", {"<s>", 0}}};
  j["added_tokens"] = {Added(0, "<s>"), Added(1, "<mask>", true, true), Added(2, "</s>"),
                       Added(3, "free", false, false, true, true)};
  json vocab = {{"<s>", 0}, {"<mask>", 1}, {"</s>", 2}, {"<unk>", 3}};
  if (kind == 1 || kind == 2) {
    const char* pieces[] = {"a",
                            "b",
                            "c",
                            "\xC4\xA0",
                            "\xE2\x96\x81",
                            "ab",
                            "abc",
                            "\xC4\xA0"
                            "a",
                            "\xE2\x96\x81"
                            "a"};
    for (const char* p : pieces) vocab[p] = vocab.size();
    if (kind == 2) {
      for (int b = 0; b < 256; b += 3) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        vocab[name] = vocab.size();
      }
    }
    j["model"] = {{"type", "BPE"},
                  {"vocab", vocab},
                  {"unk_token", "<unk>"},
                  {"fuse_unk", kind == 2},
                  {"byte_fallback", kind == 2},
                  {"merges", {"a b", json::array({"ab", "c"}), "\xC4\xA0 a", "\xE2\x96\x81 a"}}};
    if (kind == 1) {
      j["pre_tokenizer"] = {
          {"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}, {"trim_offsets", true}};
    } else {
      j["normalizer"] = {{"type", "NFKC"}};
      j["pre_tokenizer"] = {
          {"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "first"}, {"split", true}};
    }
  } else if (kind == 3 || kind == 5) {
    json pieces = json::array({{"<s>", 0.0},
                               {"<mask>", 0.0},
                               {"</s>", 0.0},
                               {"<unk>", 0.0},
                               {"\xE2\x96\x81", -1.0},
                               {"a", -2.0},
                               {"b", -2.5},
                               {"ab", -3.0},
                               {"\xE2\x96\x81"
                                "ab",
                                -3.5}});
    // Byte pieces only where byte fallback reads them (kind 3): kind 5 loads its tokenizer
    // for every input, and they would triple what it parses.
    for (int b = 0; kind == 3 && b < 256; b += 2) {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      pieces.push_back({name, -10.0});
    }
    j["model"] = {{"type", "Unigram"}, {"vocab", pieces}, {"unk_id", 3}, {"byte_fallback", kind == 3}};
    j["pre_tokenizer"] = {
        {"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "always"}, {"split", true}};
    if (kind == 5) j["normalizer"] = {{"type", "Precompiled"}, {"precompiled_charsmap", Base64(charsmap)}};
  } else {
    for (const char* p : {"a", "b", "ab", "1", ",", "free"}) vocab[p] = vocab.size();
    j["model"] = {{"type", "WordLevel"}, {"vocab", vocab}, {"unk_token", "<unk>"}};
    j["normalizer"] = {
        {"type", "Sequence"},
        {"normalizers", json::array({{{"type", "NFD"}},
                                     {{"type", "StripAccents"}},
                                     {{"type", "NFKD"}},
                                     {{"type", "NFC"}},
                                     {{"type", "Lowercase"}},
                                     {{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}},
                                     {{"type", "Prepend"}, {"prepend", "_"}},
                                     {{"type", "Replace"}, {"pattern", {{"Regex", "\\s+"}}}, {"content", " "}},
                                     {{"type", "Replace"}, {"pattern", {{"String", "ab"}}}, {"content", "a b"}},
                                     {{"type", "BertNormalizer"}, {"lowercase", false}},
                                     {{"type", "NFKC"}}})}};
    j["pre_tokenizer"] = {
        {"type", "Sequence"},
        {"pretokenizers",
         json::array(
             {{{"type", "WhitespaceSplit"}},
              {{"type", "Punctuation"}, {"behavior", "Contiguous"}},
              {{"type", "Digits"}, {"individual_digits", true}},
              {{"type", "Split"},
               {"pattern", {{"Regex", "(?=[ab])"}}},
               {"behavior", "MergedWithNext"},
               {"invert", false}},
              {{"type", "Split"}, {"pattern", {{"String", "b"}}}, {"behavior", "MergedWithPrevious"}, {"invert", true}},
              {{"type", "Split"}, {"pattern", {{"Regex", "a*"}}}, {"behavior", "Removed"}, {"invert", false}},
              {{"type", "Whitespace"}},
              {{"type", "BertPreTokenizer"}}})}};
  }
  return j;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  std::string charsmap;
  if (SYNAPSE_FUZZ_KIND == 5) {
    // A charsmap holds NUL bytes: its length comes first, as two little-endian bytes.
    if (input.size() < 2) return 0;
    const size_t length = std::min<size_t>(input.size() - 2, uint8_t(input[0]) | (uint8_t(input[1]) << 8));
    charsmap = input.substr(2, length);
    input = input.substr(2 + length);
  }
  std::optional<std::string> pair;
  if (const size_t second = input.find('\0'); second != std::string::npos) {
    pair = input.substr(second + 1);
    input.resize(second);
  }
  // The tokenizer file is written and loaded once, except for kind 5, whose charsmap is
  // the input (making it per input cost most of each execution for the other kinds).
  auto load = [&charsmap] {
    const std::string file = Tokenizer(SYNAPSE_FUZZ_KIND, charsmap).dump();
    return synapse::Tokenizer::Load(
        synapse::fuzz::WriteInput("kind.json", reinterpret_cast<const uint8_t*>(file.data()), file.size()));
  };
  synapse::fuzz::ExpectCleanErrors([&] {
    static std::unique_ptr<synapse::Tokenizer> fixed;
    std::unique_ptr<synapse::Tokenizer> fresh;
    synapse::Tokenizer* tokenizer = nullptr;
    if (SYNAPSE_FUZZ_KIND == 5) {
      fresh = load();
      tokenizer = fresh.get();
    } else {
      if (!fixed) fixed = load();
      tokenizer = fixed.get();
    }
    synapse::fuzz::ExpectCleanErrors([&] { tokenizer->Encode(input, pair); });
    synapse::fuzz::ExpectCleanErrors([&] { tokenizer->Encode(input); });
  });
  return 0;
}
