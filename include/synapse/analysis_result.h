// What synapse::Analyze (synapse/analysis.h) found, typed; ReportJson writes it as report.json
// (docs/report-schema.md), the only place the analysis becomes JSON.
//
//   synapse::AnalysisResult result = synapse::Analyze(model, examples, labels, names, options);
//   if (result.summary.most_fragile_layer) {
//     std::cout << "most fragile layer " << result.summary.most_fragile_layer->layer << "\n";
//   }
//   for (const synapse::LayerResult& layer : result.layers) {
//     std::cout << layer.name << " probe " << layer.probe.fit.test_accuracy << "\n";
//   }
//   synapse::WriteReportFiles(synapse::ReportJson(result), "synapse-report");
//
// The logit-space and weight-space sections stay JSON inside the result (see their fields):
// they are many small tables built deep in their stages, read by people and by
// `synapse compare`, not by code that needs their numbers typed.
#ifndef SYNAPSE_ANALYSIS_RESULT_H_
#define SYNAPSE_ANALYSIS_RESULT_H_

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "synapse/activation_cache.h"
#include "synapse/analysis_options.h"
#include "synapse/evaluation_session.h"
#include "synapse/experiment.h"
#include "synapse/metrics.h"
#include "synapse/model.h"
#include "synapse/runtime.h"

namespace synapse {

/// The analysed model, as the report's "model" section describes it.
struct AnalyzedModel {
  /// The file it was loaded from.
  std::string path;
  /// Number of scalar parameters.
  int64_t parameters = 0;
  /// ParameterHash (synapse/weight_perturbation.h) before the analysis.
  uint64_t parameter_hash = 0;
  /// "tokens" or "float".
  std::string inputs;
  /// Model::output_kind().
  std::string output;
  /// Model::num_classes() (−1 when unknown).
  int64_t classes = 0;
  /// Every layer the model exposes.
  std::vector<LayerInfo> layers;
};

/// The evaluation set as the analysis saw it (the CLI adds where the rows came from).
struct AnalyzedData {
  /// Number of examples.
  int64_t examples = 0;
  /// ExamplesHash of the examples and labels: equal hashes, pairable results.
  std::string examples_hash;
  /// Each example's class.
  std::vector<int64_t> labels;
};

/// The unintervened model on the evaluation set.
struct BaselineResult {
  /// Accuracy, per-class support and recall, with intervals.
  Metrics metrics;
  /// Each example's predicted class.
  std::vector<int64_t> predictions;
  /// Wall time of the forward pass that gave them.
  double seconds = 0;
};

/// One experiment of a layer's sweep and what it measured.
struct LayerExperiment {
  /// What was done (Ablate or Noise at the layer).
  Experiment experiment;
  /// What it measured on every example.
  ExperimentResult result;
};

/// Where ablating a layer's top-k hurt most beyond as many random neurons.
struct LayerFragility {
  /// The number of neurons ablated.
  int64_t k = 0;
  /// Accuracy lost to the top-k, and to k random neurons (0 without the random control).
  double top_drop = 0;
  double random_drop = 0;
  /// top_drop − random_drop.
  double excess = 0;
  /// McNemar's p-value of the top-k ablation against the baseline.
  double mcnemar_p = 1;
};

/// At one k, what ablating each class's top-k neurons did to every class's recall.
struct ClassAsymmetry {
  int64_t k = 0;
  /// recall[i][j]: recall of class j with class i's top-k ablated.
  std::vector<std::vector<double>> recall;
  /// recall_drop[i][j]: class j's baseline recall minus recall[i][j].
  std::vector<std::vector<double>> recall_drop;
  /// The largest (own drop − mean drop of the other classes) over the rows.
  double asymmetry = 0;
  /// The class whose row gave it.
  std::string most_affected_class;
};

/// One layer: its probe and ranking, and, when it was swept, its experiments.
struct LayerResult {
  /// The layer's index (0 .. layers − 1) and module name.
  int index = 0;
  std::string name;
  /// Width of its pooled vector.
  int64_t hidden = 0;
  /// Its probe, neuron ranking and the probe's fitting time.
  LayerProbe probe;
  /// Whether this run (this shard) swept the layer; only then are fragility and
  /// class_asymmetry reported.
  bool swept = false;
  /// Per selection (top, random, bottom, class_top, noise), by k; empty when not swept.
  std::vector<LayerExperiment> experiments;
  /// Where its top-k hurt most beyond random; empty when no top-k ablation ran.
  std::optional<LayerFragility> fragility;
  /// Per k, the class-by-class recall under each class's top-k ablation.
  std::vector<ClassAsymmetry> class_asymmetry;
};

/// The layer whose top-k ablation cost most beyond its random control.
struct FragileLayer {
  int layer = 0;
  std::string name;
  LayerFragility fragility;
};

/// The class whose own top-k neurons cost it the most recall.
struct FragileClass {
  /// The class's name.
  std::string class_name;
  /// The layer and its module name.
  int layer = 0;
  std::string name;
  int64_t k = 0;
  /// Its recall with its top-k ablated, the interval, and its baseline recall.
  double recall = 0;
  Interval recall_ci;
  double baseline_recall = 0;
  /// baseline_recall − recall.
  double drop = 0;
};

/// The layer whose probe scored best on the held-out split.
struct BestProbe {
  int layer = 0;
  std::string name;
  double test_accuracy = 0;
};

/// What a person reads first (the baseline's figures are in AnalysisResult::baseline).
struct AnalysisSummary {
  /// Empty when no top-k cost more than its random control (or none ran).
  std::optional<FragileLayer> most_fragile_layer;
  /// Empty when no class lost recall to its own top-k (or none ran).
  std::optional<FragileClass> most_fragile_class;
  /// The smallest L∞ logit shift that flips 1% of the predictions.
  double flip_budget_1pct = 0;
  /// The median example's smallest flipping L∞ logit shift.
  double median_min_flip = 0;
  /// Empty only for a model without layers.
  std::optional<BestProbe> best_probe;
};

/// Wall time of each stage, seconds, and how the passes ran.
struct AnalysisTiming {
  double extraction_s = 0;
  double probes_s = 0;
  double sweep_s = 0;
  /// Sweep configurations run, random draws counted one by one.
  int64_t sweep_configurations = 0;
  double logit_space_s = 0;
  double weight_space_s = 0;
  /// Forward passes the weight-space stage made.
  int weight_space_passes = 0;
  double total_s = 0;
  /// One forward pass over the evaluation set: the unit of the report's
  /// forward_pass_equivalents.
  double forward_pass_s = 0;
  /// What the extraction cache did.
  CacheLookup activation_cache;
  /// Whether suffix execution was asked for and cut the forward at some layer.
  bool suffix_execution_enabled = false;
  /// Where it cut the forward; its fallback_reason is "turned off" when it was not asked for.
  SuffixExecution suffix_execution;

  /// `seconds` as a number of forward passes over the evaluation set.
  double ForwardPasses(double seconds) const { return seconds / std::max(forward_pass_s, 1e-9); }
};

/// Everything Analyze found, and what it was asked.
struct AnalysisResult {
  /// The options it ran with.
  AnalysisOptions options;
  /// The experiment layers the options resolved to (every layer when options.layers() is
  /// empty), ascending.
  std::vector<int> experiment_layers;
  AnalyzedModel model;
  /// The class names, index = class.
  std::vector<std::string> class_names;
  AnalyzedData data;
  BaselineResult baseline;
  /// Every layer, in order.
  std::vector<LayerResult> layers;
  /// The report's "logit_space" section as built by its stage (per-example flip budgets
  /// summarized as quantile tables per class and per class pair, and a curve): kept as JSON,
  /// as only reports read it; summary.flip_budget_1pct and median_min_flip type what the CLI shows.
  nlohmann::ordered_json logit_space;
  /// The report's "weight_space" section as built by its stage (src/analysis/weight_space.cpp:
  /// per class, the bisection searches and their brackets; the noise curve), or
  /// {"skipped": why}: kept as JSON, as the stage writes it deep inside its searches.
  nlohmann::ordered_json weight_space;
  /// Where it ran; the CLI sets `threads` to the cores it asked for.
  RuntimeInfo environment;
  AnalysisTiming timing;
  AnalysisSummary summary;
};

/// The result as report.json (docs/report-schema.md), keys in the schema's order.
nlohmann::ordered_json ReportJson(const AnalysisResult& result);

}  // namespace synapse

#endif  // SYNAPSE_ANALYSIS_RESULT_H_
