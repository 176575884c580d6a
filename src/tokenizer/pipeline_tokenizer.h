// The tokenizer.json pipeline for BPE, Unigram and WordLevel models (private):
// added tokens → normalizer → pre-tokenizer → model → truncation → post-processor → padding.
//
//   std::unique_ptr<Tokenizer> t = LoadPipelineTokenizer(json, options);  // 502/506 at load
#ifndef SYNAPSE_SRC_TOKENIZER_PIPELINE_TOKENIZER_H_
#define SYNAPSE_SRC_TOKENIZER_PIPELINE_TOKENIZER_H_

#include <memory>
#include <nlohmann/json.hpp>

#include "synapse/tokenizer.h"

namespace synapse {

/// Builds every component of a parsed tokenizer.json (`file_text`, parsed as `j`) whose
/// model is not WordPiece.
std::unique_ptr<Tokenizer> LoadPipelineTokenizer(const nlohmann::json& j, const std::string& file_text,
                                                 const TokenizerOptions& options);

}  // namespace synapse

#endif  // SYNAPSE_SRC_TOKENIZER_PIPELINE_TOKENIZER_H_
