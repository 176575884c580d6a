// The tokenizer.json pipeline for BPE, Unigram, WordPiece and WordLevel models (private):
// added tokens → normalizer → pre-tokenizer → model → truncation → post-processor → padding.
//
//   std::unique_ptr<Tokenizer> t = LoadPipelineTokenizer(j, text, options, "tokenizer.json");  // 502/506 at load
#ifndef SYNAPSE_SRC_TOKENIZER_PIPELINE_TOKENIZER_H_
#define SYNAPSE_SRC_TOKENIZER_PIPELINE_TOKENIZER_H_

#include <memory>
#include <nlohmann/json.hpp>

#include "synapse/tokenizer.h"

namespace synapse {

/// Builds every component of a parsed tokenizer.json (`file_text`, parsed as `j`). `source`
/// names the file kind for Describe(): "tokenizer.json" or "vocab.txt". Errors name no file.
std::unique_ptr<Tokenizer> LoadPipelineTokenizer(const nlohmann::json& j, const std::string& file_text,
                                                 const TokenizerOptions& options, const std::string& source);

}  // namespace synapse

#endif  // SYNAPSE_SRC_TOKENIZER_PIPELINE_TOKENIZER_H_
