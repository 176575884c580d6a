// The sections of a report (docs/report-schema.md), built from results; shared by
// synapse::Analyze and the live robustness tests (synapse::testing), so both write the same
// layout and the same random draws for the same seed.
//
//   nlohmann::ordered_json base = synapse::BaselineJson(logits, labels, names, 0.95);
//   report["logit_space"] = synapse::LogitSpaceJson(logits, labels, names, 0.95);
#ifndef SYNAPSE_REPORT_SECTIONS_H_
#define SYNAPSE_REPORT_SECTIONS_H_

#include <Eigen/Core>
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "synapse/example.h"
#include "synapse/experiments.h"
#include "synapse/probe.h"
#include "synapse/stats.h"

namespace synapse {

class Model;

/// What each derived seed is for; DeriveSeed(seed, {purpose, ...}).
enum SeedPurpose : uint64_t { kSeedSplit = 1, kSeedRandomNeurons = 2, kSeedWeightNoise = 3 };

/// A seed derived from the user's seed and what it seeds, so that adding a layer or a k
/// does not change any other experiment's draws (SplitMix64 over the parts).
uint64_t DeriveSeed(uint64_t seed, std::initializer_list<uint64_t> parts);

/// k distinct indices of [0, width), sorted: a partial Fisher-Yates shuffle on mt19937_64's
/// raw output (the standard distributions differ between standard libraries).
std::vector<int64_t> RandomNeurons(int64_t width, int64_t k, uint64_t seed);

/// A random order of [0, n): the same Fisher-Yates shuffle run to the end (adaptive
/// evaluation visits examples in it).
std::vector<int64_t> RandomOrder(int64_t n, uint64_t seed);

/// The random control's draw `draw` of k neurons at `layer`, as the analysis makes it.
inline std::vector<int64_t> RandomControlNeurons(uint64_t seed, int layer, int64_t width, int64_t k, int draw) {
  return RandomNeurons(width, k,
                       DeriveSeed(seed, {kSeedRandomNeurons, static_cast<uint64_t>(layer), static_cast<uint64_t>(k),
                                         static_cast<uint64_t>(draw)}));
}

/// The logit budget that flips at least `share` of the examples: the ⌈share·n⌉-th smallest
/// per-example minimal flip budget (FlipBudgets::min_flip); any larger shift flips that many.
double BudgetFlipping(std::vector<double> min_flip, double share);

/// Per-neuron mean and standard deviation (population) over the rows of x, for mean
/// ablation and relative noise.
struct NeuronStats {
  std::vector<float> mean;
  std::vector<float> stddev;
};
NeuronStats ComputeNeuronStats(const Eigen::MatrixXf& x);

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

/// Metrics of several runs on the same `examples_per_run` examples pooled: counts add up
/// (n = runs × labelled examples), intervals are recomputed on the pooled counts.
Metrics PoolMetrics(const std::vector<Metrics>& runs, int64_t examples_per_run, double confidence);

/// The report's "model" section: path, parameters, parameter_hash, inputs, output, classes,
/// layers.
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

/// The report's "environment" section: versions, threads, BLAS, compiler.
nlohmann::ordered_json EnvironmentJson();

}  // namespace synapse

#endif  // SYNAPSE_REPORT_SECTIONS_H_
