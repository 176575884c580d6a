// Tokenizer::Load: a tokenizer.json of any kind, or a BERT vocab.txt, through the one
// component pipeline (tokenizer/pipeline_tokenizer.cpp). A vocab.txt becomes the
// tokenizer.json that Hugging Face's BertWordPieceTokenizer would write for it.
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "util/json_error_text.h"
#include "synapse/error.h"
#include "synapse/tokenizer.h"
#include "tokenizer/pipeline_tokenizer.h"

namespace synapse {
namespace {

using nlohmann::json;

// Errors name no file: Load puts the path in front.
std::unique_ptr<Tokenizer> LoadVocabTxt(std::ifstream& in, const TokenizerOptions& options) {
  json vocab = json::object();
  std::string line;
  for (int64_t id = 0; std::getline(in, line); ++id) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!vocab.contains(line)) vocab[line] = id;  // a repeated line keeps its first id
  }
  for (const char* t : {"[CLS]", "[SEP]", "[UNK]"}) {
    if (!vocab.contains(t))
      throw TokenizerError(501, std::string(t) + " is not in the vocabulary; is this a BERT vocab.txt?");
  }
  json added = json::array();
  for (const char* t : {"[CLS]", "[SEP]", "[UNK]", "[PAD]", "[MASK]"}) {
    if (vocab.contains(t)) {
      added.push_back({{"id", vocab[t]},
                       {"content", t},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", true}});
    }
  }
  const json cls = json::array({"[CLS]", vocab["[CLS]"]}), sep = json::array({"[SEP]", vocab["[SEP]"]});
  const json j = {
      {"added_tokens", added},
      {"normalizer",
       {{"type", "BertNormalizer"},
        {"clean_text", true},
        {"handle_chinese_chars", true},
        {"strip_accents", options.lowercase()},
        {"lowercase", options.lowercase()}}},
      {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
      {"post_processor", {{"type", "BertProcessing"}, {"sep", sep}, {"cls", cls}}},
      {"model",
       {{"type", "WordPiece"},
        {"unk_token", "[UNK]"},
        {"continuing_subword_prefix", "##"},
        {"max_input_chars_per_word", 100},
        {"vocab", std::move(vocab)}}},
  };
  return LoadPipelineTokenizer(j, "", options, "vocab.txt");
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::Load(const std::string& path, const TokenizerOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TokenizerError(501, path + ": cannot open for reading");
  int first = in.peek();
  while (first == ' ' || first == '\n' || first == '\t' || first == '\r') {
    in.get();
    first = in.peek();
  }
  try {
    if (first != '{') return LoadVocabTxt(in, options);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    json j;
    try {
      j = json::parse(text);
    } catch (const json::exception& e) {
      throw TokenizerError(501, "malformed JSON: " + JsonErrorText(e));
    }
    return LoadPipelineTokenizer(j, text, options, "tokenizer.json");
  } catch (const TokenizerError& e) {
    throw TokenizerError(e.id(), path + ": " + e.detail());
  } catch (const json::exception& e) {
    throw TokenizerError(501, path + ": not a tokenizer.json this version understands: " + JsonErrorText(e));
  }
}

}  // namespace synapse
