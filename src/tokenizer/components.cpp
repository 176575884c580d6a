// What the components share: their type (named or inferred) and the two refusals.
#include "tokenizer/components.h"

#include <algorithm>
#include <initializer_list>

#include "synapse/error.h"

namespace synapse {

void RefuseComponent(const std::string& path, const std::string& type, const std::string& supported) {
  throw TokenizerError(502, path + ".type \"" + type + "\" is not supported (supported: " + supported + ")");
}

void RefuseSetting(const std::string& path, const std::string& what) { throw TokenizerError(506, path + ": " + what); }

std::string ComponentType(const nlohmann::json& j, const std::string& path) {
  if (!j.is_object()) RefuseSetting(path, "must be an object, not " + j.dump());
  if (j.contains("type")) {
    if (!j["type"].is_string()) RefuseSetting(path + ".type", "must be a string");
    return j["type"].get<std::string>();
  }
  if (path == "model") {
    // tokenizers deserializes an untyped model as the first of BPE, WordPiece, WordLevel,
    // Unigram (ModelWrapper's untagged variants, in order) that deserializes: each needs all
    // of its required fields, with a vocabulary of its shape.
    const bool map_vocab = j.contains("vocab") && j["vocab"].is_object();
    auto has = [&](std::initializer_list<const char*> keys) {
      for (const char* key : keys)
        if (!j.contains(key)) return false;
      return true;
    };
    if (map_vocab && has({"merges"})) return "BPE";
    if (map_vocab && has({"unk_token", "continuing_subword_prefix", "max_input_chars_per_word"})) return "WordPiece";
    if (map_vocab && has({"unk_token"})) return "WordLevel";
    if (j.contains("vocab") && j["vocab"].is_array()) return "Unigram";
    RefuseSetting(path + ".type",
                  "is missing, and the fields match no model (BPE needs vocab and merges; WordPiece vocab, "
                  "unk_token, continuing_subword_prefix and max_input_chars_per_word; WordLevel vocab and unk_token; "
                  "Unigram a vocab list)");
  }
  RefuseSetting(path + ".type", "is missing");
}

std::pair<int64_t, int64_t> LongestFirstLengths(int64_t n1, int64_t n2, int64_t max) {
  const bool swap = n1 > n2;
  if (swap) std::swap(n1, n2);
  n2 = n1 > max ? n1 : std::max(n1, max - n1);
  if (n1 + n2 > max) {
    n1 = max / 2;
    n2 = n1 + max % 2;
  }
  if (swap) std::swap(n1, n2);
  return {n1, n2};
}

}  // namespace synapse
