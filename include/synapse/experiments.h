// Running intervention plans over labelled examples and scoring them against the baseline.
//
//   std::vector<synapse::Plan> plans = {
//       {synapse::Intervention::Zero(synapse::Site::Layer(3), synapse::Neurons::Of(top10))},
//       {synapse::Intervention::Noise(synapse::Site::Layer(3), sigmas)},
//   };
//   std::vector<Eigen::MatrixXf> logits = synapse::RunPlans(model, examples, plans);
//   synapse::Metrics m = synapse::Score(synapse::ArgMaxRows(logits[0]), labels, base, 3);
//   // m.accuracy, m.accuracy_ci, m.recall[c], m.flip_rate, m.mcnemar_p ...
#ifndef SYNAPSE_EXPERIMENTS_H_
#define SYNAPSE_EXPERIMENTS_H_

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

#include "synapse/extraction.h"
#include "synapse/intervention.h"
#include "synapse/stats.h"

namespace synapse {

class Model;

/// The interventions of one configuration, applied together.
using Plan = std::vector<Intervention>;

/// How predictions compare with the labels and with the unperturbed predictions.
struct Metrics {
  /// Labelled examples scored.
  int64_t n = 0;
  int64_t correct = 0;
  double accuracy = 0;
  Interval accuracy_ci;
  /// Per class c: examples labelled c, and the fraction of them predicted c.
  std::vector<int64_t> support;
  std::vector<double> recall;  // NaN for a class with no examples
  std::vector<Interval> recall_ci;
  /// Examples whose prediction differs from the baseline's.
  int64_t flips = 0;
  double flip_rate = 0;
  Interval flip_rate_ci;
  /// Discordant pairs against the baseline: right before and wrong now (lost), wrong
  /// before and right now (gained); McNemar's exact p-value of the difference.
  int64_t lost = 0;
  int64_t gained = 0;
  double mcnemar_p = 1;
  /// Per example: 1 when it is labelled and predicted right, else 0 (pooled runs: each
  /// run's examples in turn). Lets two reports on the same examples be compared pairwise.
  std::vector<uint8_t> correct_each;
};

/// Scores `predictions` against `labels` (−1: unlabelled, counted for flips only) and
/// against `base_predictions`, with Wilson intervals at `confidence`.
Metrics Score(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels,
              const std::vector<int64_t>& base_predictions, int64_t num_classes, double confidence = 0.95);

/// Metrics of several runs on the same `examples_per_run` examples pooled: counts add up
/// (n = runs × labelled examples), intervals are recomputed on the pooled counts.
Metrics PoolMetrics(const std::vector<Metrics>& runs, int64_t examples_per_run, double confidence);

/// The logits (examples × classes, in example order) of every plan. Batches are the outer
/// loop and plans the inner one: each batch's unperturbed forward runs once, and each plan
/// only from its first intervened layer on (Model::RunEach; options.suffix_execution()).
/// `progress` counts finished (plan, batch) pairs in examples: total = plans × examples.
std::vector<Eigen::MatrixXf> RunPlans(const Model& model, const std::vector<Example>& examples,
                                      const std::vector<Plan>& plans, const BatchOptions& options = {},
                                      const ProgressCallback& progress = {});

/// RunPlans on the examples at `indices` only (rows in the order of `indices`). Noise is
/// keyed by each example's index in `examples`, so a subset sees the noise the whole run
/// gives those examples (adaptive evaluation visits the set in batches this way).
std::vector<Eigen::MatrixXf> RunPlansOn(const Model& model, const std::vector<Example>& examples,
                                        const std::vector<int64_t>& indices, const std::vector<Plan>& plans,
                                        const BatchOptions& options = {});

/// Per example, the smallest logit changes (in L∞ norm) that change its prediction.
struct FlipBudgets {
  /// Half the gap between the top two logits: shifting the top one down and the runner-up
  /// up by this much makes them tie.
  Eigen::VectorXd min_flip;
  /// examples × classes: half the gap between the predicted class's logit and class c's
  /// (0 for the predicted class itself).
  Eigen::MatrixXd to_class;
};

FlipBudgets ComputeFlipBudgets(const Eigen::MatrixXf& logits);

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

/// The linear layer that produces the logits.
struct ClassificationHead {
  /// Parameter names, e.g. "classifier.weight" ([classes, inputs]) and "classifier.bias".
  std::string weight;
  std::string bias;  // empty when the layer has none
  int64_t inputs = 0;
};

/// The last parameter named "*.weight" of shape [classes, inputs] (with its "*.bias" of
/// shape [classes] when there is one), or the one named by `weight`. Throws ModelError 108
/// when there is none, naming the candidates.
ClassificationHead FindClassificationHead(const Model& model, const std::string& weight = "");

}  // namespace synapse

#endif  // SYNAPSE_EXPERIMENTS_H_
