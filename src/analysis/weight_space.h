// The analysis's weight-space stage (private): per class, the smallest scaling of its
// largest head weights and the smallest shift of its bias that move a target share of the
// other classes' examples to it, and accuracy under relative noise on a parameter.
#ifndef SYNAPSE_SRC_ANALYSIS_WEIGHT_SPACE_H_
#define SYNAPSE_SRC_ANALYSIS_WEIGHT_SPACE_H_

#include <Eigen/Core>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "synapse/analysis.h"
#include "synapse/batch_options.h"
#include "synapse/experiments.h"
#include "synapse/extraction.h"
#include "synapse/weight_space_options.h"

namespace synapse {

class Model;

/// The report's "weight_space" section. `base_logits` are the unperturbed logits; `seed`
/// and `confidence` are the analysis's. The model is restored bit-exactly afterwards
/// (checked). Counts the forward passes it makes in *passes.
nlohmann::ordered_json WeightSpaceJson(Model& model, const std::vector<Example>& examples,
                                       const std::vector<int64_t>& labels, const std::vector<std::string>& names,
                                       const Eigen::MatrixXf& base_logits, const Metrics& baseline,
                                       const BatchOptions& batching, const WeightSpaceOptions& options,
                                       uint64_t seed, double confidence, const AnalysisProgress& progress,
                                       int* passes);

}  // namespace synapse

#endif  // SYNAPSE_SRC_ANALYSIS_WEIGHT_SPACE_H_
