// The sections of report.json (docs/report-schema.md), built from results; shared by
// synapse::Analyze and the live robustness tests, so both write the same layout (private).
//
//   nlohmann::ordered_json base = synapse::BaselineJson(logits, labels, names, 0.95);
//   report["logit_space"] = synapse::LogitSpaceJson(logits, labels, names, 0.95);
#ifndef SYNAPSE_SRC_REPORT_REPORT_JSON_H_
#define SYNAPSE_SRC_REPORT_REPORT_JSON_H_

#include <Eigen/Core>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "synapse/analysis_result.h"
#include "synapse/example.h"
#include "synapse/experiment.h"
#include "synapse/experiments.h"
#include "synapse/probe.h"
#include "synapse/runtime.h"
#include "synapse/stats.h"

namespace synapse {

class Model;

/// Per-example 0/1 flags packed 8 to a byte (first example in the lowest bit) and
/// base64-encoded; BitsFromBase64 reverses it (`count` flags). Throws DataError 210 for text
/// that is not base64 or holds too few bits.
std::string BitsToBase64(const std::vector<uint8_t>& bits);
std::vector<uint8_t> BitsFromBase64(const std::string& text, size_t count);

/// A fingerprint of the examples and labels, in order (FNV-1a, 16 hex digits): two reports
/// with the same one scored the same examples, so their results can be paired.
std::string ExamplesHash(const std::vector<Example>& examples, const std::vector<int64_t>& labels);

/// [low, high].
nlohmann::ordered_json IntervalJson(const Interval& interval);

/// n, correct, accuracy (with _ci), recall and recall_ci by class name, flips, flip_rate
/// (with _ci), mcnemar, correct_bits (BitsToBase64 of correct_each); accuracy_drop when
/// `base` is given.
nlohmann::ordered_json MetricsJson(const Metrics& metrics, const std::vector<std::string>& names, const Metrics* base);

/// The model as the report's "model" section describes it.
AnalyzedModel AnalyzedModelOf(const Model& model);

/// The report's "model" section: path, parameters, parameter_hash, inputs, output, classes,
/// layers.
nlohmann::ordered_json ModelJson(const AnalyzedModel& model);
nlohmann::ordered_json ModelJson(const Model& model);

/// The report's "baseline" section: metrics, precision and F1 per class, the confusion
/// matrix (label × prediction) and the pass's `seconds`.
nlohmann::ordered_json BaselineJson(const Metrics& baseline, const std::vector<int64_t>& predictions,
                                    const std::vector<int64_t>& labels, const std::vector<std::string>& names,
                                    double seconds);

/// A layer's "probe" and "ranking" (with the weight-mass set sizes for `mass`).
nlohmann::ordered_json ProbeJson(const ProbeFit& probe, const NeuronRanking& ranking,
                                 const std::vector<std::string>& names, const std::vector<double>& mass,
                                 double confidence, double seconds);

/// The report's "logit_space" section: per-example minimal L∞ flip budgets, their
/// quantiles overall and per class, the budget that flips 1/5/10/50%, and the flip-rate
/// curve against the budget.
nlohmann::ordered_json LogitSpaceJson(const Eigen::MatrixXf& logits, const std::vector<int64_t>& labels,
                                      const std::vector<std::string>& names, double confidence);

/// One experiment's row in a layer's "experiments" (or the report's "other_queries"): what
/// it did (layer, selection, class, k, op, neurons, sigma, positions; for a named experiment,
/// the query it came from and its draws) and its pooled metrics against `baseline`. An
/// unnamed random experiment (the analysis's grid) also gets its draws' range and per-seed
/// results. `seed` is the session's seed, recorded with noise rows.
nlohmann::ordered_json ExperimentJson(const Experiment& e, const ExperimentResult& r,
                                      const std::vector<std::string>& names, const Metrics& baseline, uint64_t seed);

/// The report's "environment" section: versions, threads, BLAS, compiler; of `runtime`, or
/// of DescribeRuntime() now.
nlohmann::ordered_json EnvironmentJson(const RuntimeInfo& runtime);
nlohmann::ordered_json EnvironmentJson();

}  // namespace synapse

#endif  // SYNAPSE_SRC_REPORT_REPORT_JSON_H_
