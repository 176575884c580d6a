// The SYNAPSE analysis of a classifier on a labelled evaluation set, as a typed result
// (synapse/analysis_result.h) that ReportJson writes as report.json.
//
//   synapse::Model model = synapse::Model::Load("model.pt");
//   synapse::AnalysisResult result = synapse::Analyze(
//       model, examples, labels, {"ham", "hard_ham", "spam"},
//       synapse::AnalysisOptions().k("5,10,10%").random_seeds(5).seed(7));
//   if (result.summary.most_fragile_layer) std::cout << result.summary.most_fragile_layer->name << "\n";
//   nlohmann::ordered_json report = synapse::ReportJson(result);
//
// Stages, each with its wall time in result.timing:
//  1. extraction: one pass capturing every layer's pooled vector and the base logits;
//  2. probes: per layer, an elastic-net logistic-regression probe on a stratified split,
//     and the neuron rankings it gives (global, per class, weight-mass sets);
//  3. sweep: per selected layer and k, ablate the global top-k, k random neurons (several
//     seeds), the bottom-k, and each class's top-k; add Gaussian noise relative to each
//     neuron's standard deviation. Every result carries accuracy, per-class recall and the
//     flip rate with Wilson intervals, and McNemar's exact p-value against the baseline;
//  4. logit space: per example, the smallest L∞ logit change that flips it;
//  5. weight space: per class, the smallest scaling of the head's weights (and shift of its
//     bias) that sends a target share of the other classes' examples to it, by bisection;
//     relative Gaussian noise on a parameter. Weights are restored bit-exactly.
// The schema of the report is documented in docs/report-schema.md (and
// docs/report.schema.json); report["schema_version"] names it.
#ifndef SYNAPSE_ANALYSIS_H_
#define SYNAPSE_ANALYSIS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "synapse/analysis_options.h"
#include "synapse/analysis_result.h"
#include "synapse/example.h"

namespace synapse {

class Model;

/// Progress of a stage: "extraction", "probes", "sweep", "weight_space".
using AnalysisProgress = std::function<void(const std::string& stage, int64_t done, int64_t total)>;

/// Runs the whole analysis. `labels[i]` is example i's class in [0, class_names.size()).
/// Throws DataError 209 for an unlabelled example or a label out of range, SpecError 310
/// for invalid options (a bad k, a negative noise level ...), and whatever the model
/// throws while running.
AnalysisResult Analyze(Model& model, const std::vector<Example>& examples, const std::vector<int64_t>& labels,
                       const std::vector<std::string>& class_names, const AnalysisOptions& options = AnalysisOptions(),
                       const AnalysisProgress& progress = {});

/// The k values for a layer of `width` neurons, ascending, with the spec entries that gave
/// each. Throws SpecError 310 naming a bad entry.
struct KValue {
  int64_t k = 0;
  std::string spec;  // e.g. "10" or "10%", joined with "," when several give the same k
};
std::vector<KValue> ResolveK(const std::string& spec, int64_t width);

}  // namespace synapse

#endif  // SYNAPSE_ANALYSIS_H_
