// How synapse::Analyze (synapse/analysis.h) is run: every option of the analysis, with the
// paper's protocol plus the controls as defaults.
//
//   synapse::AnalysisOptions options =
//       synapse::AnalysisOptions().k("5,10,10%").random_seeds(5).seed(7).layers({-1});
#ifndef SYNAPSE_ANALYSIS_OPTIONS_H_
#define SYNAPSE_ANALYSIS_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "synapse/batch_options.h"
#include "synapse/intervention.h"
#include "synapse/options.h"
#include "synapse/probe.h"
#include "synapse/weight_space_options.h"

namespace synapse {

/// The version of the report layout; bumped when a key changes meaning or goes away.
inline constexpr int kReportSchemaVersion = 1;

/// How an analysis is run. The defaults are the paper's protocol plus the controls.
struct AnalysisOptions {
  /// Batching, padding, pooling, the memory budget and suffix execution of every pass
  /// (result.timing.suffix_execution says where suffix execution ran). Its seed is
  /// replaced by seed() below.
  SYNAPSE_ARG(BatchOptions, batching);
  /// Directory of the extraction cache (synapse/activation_cache.h); empty: no cache. The
  /// CLI passes DefaultCacheDir(); result.timing.activation_cache says what happened.
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

}  // namespace synapse

#endif  // SYNAPSE_ANALYSIS_OPTIONS_H_
