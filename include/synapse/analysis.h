// The SYNAPSE analysis of a classifier on a labelled evaluation set, as one JSON report.
//
//   synapse::Model model = synapse::Model::Load("model.pt");
//   nlohmann::ordered_json report = synapse::Analyze(
//       model, examples, labels, {"ham", "hard_ham", "spam"},
//       synapse::AnalysisOptions().k("5,10,10%").random_seeds(5).seed(7));
//   std::cout << report["summary"]["most_fragile_layer"] << "\n";
//
// Stages, each with its wall time in report["timing"]:
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
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "synapse/batch_options.h"
#include "synapse/example.h"
#include "synapse/intervention.h"
#include "synapse/options.h"
#include "synapse/probe.h"
#include "synapse/weight_space_options.h"

namespace synapse {

class Model;

/// The version of the report layout; bumped when a key changes meaning or goes away.
inline constexpr int kReportSchemaVersion = 1;

/// How an analysis is run. The defaults are the paper's protocol plus the controls.
struct AnalysisOptions {
  /// Batching, padding, pooling, the memory budget and suffix execution of every pass
  /// (report["timing"]["suffix_execution"] says where suffix execution ran). Its seed is
  /// replaced by seed() below.
  SYNAPSE_ARG(BatchOptions, batching);
  /// Directory of the extraction cache (synapse/activation_cache.h); empty: no cache. The
  /// CLI passes DefaultCacheDir(); report["timing"]["activation_cache"] says what happened.
  SYNAPSE_ARG(std::string, cache_dir);
  /// Seeds the split, the random neuron sets, activation noise and weight noise.
  SYNAPSE_ARG(uint64_t, seed) = 0;
  /// Layers to run experiments on (negative counts from the end); empty: every layer.
  /// Probes and rankings are computed for every layer regardless.
  SYNAPSE_ARG(std::vector<int>, layers);
  /// Neuron counts: integers, or percentages of the layer's width ("10%"); values above
  /// the width are dropped, duplicates merged.
  SYNAPSE_ARG(std::string, k) = "1,2,5,10,20,50,10%,25%,50%";
  /// What ablated neurons are set to: "zero", or "mean" (the neuron's mean pooled value
  /// over the evaluation set).
  SYNAPSE_ARG(std::string, ablate_value) = "zero";
  /// Ablate at every real token (kAll) or the pooled one only.
  SYNAPSE_ARG(Positions, positions) = Positions::kAll;
  /// Random neuron sets per k (the control); 0 turns the control off.
  SYNAPSE_ARG(int, random_seeds) = 5;
  /// Noise levels σ, relative to each neuron's standard deviation over the evaluation set.
  SYNAPSE_ARG(std::vector<double>, noise) = std::vector<double>{0.1, 0.25, 0.5, 1.0};
  /// Weight-mass fractions for which the smallest neuron set is reported.
  SYNAPSE_ARG(std::vector<double>, mass) = std::vector<double>{0.5, 0.9};
  SYNAPSE_ARG(ProbeOptions, probe);
  /// Share of each class held out to score the probe.
  SYNAPSE_ARG(double, test_fraction) = 0.2;
  /// Confidence level of every interval.
  SYNAPSE_ARG(double, confidence) = 0.95;
  /// Run the weight-space experiments (they need a linear classification head).
  SYNAPSE_ARG(bool, weight_space) = true;
  /// How the weight-space stage searches and perturbs (synapse/weight_space_options.h).
  SYNAPSE_ARG(WeightSpaceOptions, weight_space_options);
  /// When set, extraction results are written here as NumPy files (SaveActivations).
  SYNAPSE_ARG(std::string, save_activations);
  /// Shard `shard_index` of `shard_count` sweeps only its contiguous block of the
  /// experiment layers (every configuration of a layer stays in one shard, so its
  /// fragility and class asymmetry are whole), and only shard 0 runs the weight space.
  /// Extraction and probes run in every shard. `synapse merge` joins the shards' reports.
  SYNAPSE_ARG(int, shard_index) = 0;
  SYNAPSE_ARG(int, shard_count) = 1;
};

/// Progress of a stage: "extraction", "probes", "sweep", "weight_space".
using AnalysisProgress = std::function<void(const std::string& stage, int64_t done, int64_t total)>;

/// Runs the whole analysis. `labels[i]` is example i's class in [0, class_names.size()).
/// Throws DataError 209 for an unlabelled example or a label out of range, SpecError 310
/// for invalid options (a bad k, a negative noise level ...), and whatever the model
/// throws while running.
nlohmann::ordered_json Analyze(Model& model, const std::vector<Example>& examples, const std::vector<int64_t>& labels,
                               const std::vector<std::string>& class_names,
                               const AnalysisOptions& options = AnalysisOptions(),
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
