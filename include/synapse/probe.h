// Linear probes on layer activations, and the neuron rankings read from them.
//
//   // x: examples × neurons (one layer's pooled vectors), labels: class per example
//   synapse::Split split = synapse::StratifiedSplit(labels, /*test_fraction=*/0.2, /*seed=*/0);
//   synapse::ProbeFit probe = synapse::FitProbe(x, labels, /*num_classes=*/3, split,
//                                               synapse::ProbeOptions().l1(1e-3).l2(1e-2));
//   std::cout << probe.test_accuracy << (probe.converged ? "" : " (not converged)") << "\n";
//   synapse::NeuronRanking ranking = synapse::RankNeurons(probe);
//   std::vector<int64_t> top10 = ranking.Top(10);             // by Σ_c |w_cj|
//   std::vector<int64_t> spam10 = ranking.TopOfClass(2, 10);  // by w_2j, most positive first
//
// The probe is multinomial logistic regression on standardized inputs (each neuron centred
// and scaled by its training mean and standard deviation), minimizing
//
//   (1/n) Σ_i −log softmax(W x_i + b)[y_i]  +  (l2/2)·‖W‖²_F  +  l1·‖W‖₁
//
// with OWL-QN (L-BFGS extended to the L1 term; plain L-BFGS when l1 = 0). The intercepts b
// are not penalized. In scikit-learn's terms this is LogisticRegression(penalty=
// "elasticnet", l1_ratio = l1/(l1+l2), C = 1/(n·(l1+l2))) on StandardScaler'd inputs.
#ifndef SYNAPSE_PROBE_H_
#define SYNAPSE_PROBE_H_

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "synapse/options.h"

namespace synapse {

/// How a probe is fitted.
struct ProbeOptions {
  /// L1 penalty on the standardized weights (mean-loss scale).
  SYNAPSE_ARG(double, l1) = 1e-3;
  /// L2 penalty on the standardized weights (mean-loss scale).
  SYNAPSE_ARG(double, l2) = 1e-2;
  /// Iteration limit of the solver.
  SYNAPSE_ARG(int, max_iter) = 1000;
  /// Converged when the largest component of the (pseudo-)gradient is at most
  /// tolerance · max(1, |objective|), or the objective changes relatively by less than
  /// tolerance over 5 iterations.
  SYNAPSE_ARG(double, tolerance) = 1e-5;
  /// Number of L-BFGS correction pairs kept.
  SYNAPSE_ARG(int, history) = 10;
};

/// Indices of the training and test examples.
struct Split {
  std::vector<int64_t> train;
  std::vector<int64_t> test;
};

/// A stratified, seeded split: within each class, round(test_fraction · size) examples go
/// to the test side (at least one when the class has ≥ 2 examples and test_fraction > 0,
/// at most size − 1 so every class keeps a training example), chosen by a seeded shuffle. Both sides are sorted. Throws
/// SpecError 310 when test_fraction is outside [0, 1).
Split StratifiedSplit(const std::vector<int64_t>& labels, double test_fraction, uint64_t seed);

/// Per-neuron centring and scaling, fitted on training rows.
struct Standardizer {
  Eigen::VectorXd mean;
  /// The standard deviation (population); 1 for a constant neuron, which then stays 0.
  Eigen::VectorXd scale;
  /// Fits on the given rows of x (all rows when `rows` is empty).
  static Standardizer Fit(const Eigen::MatrixXf& x, const std::vector<int64_t>& rows = {});
  /// (x − mean) / scale, row by row.
  Eigen::MatrixXd Apply(const Eigen::MatrixXf& x) const;
};

/// A fitted probe and how well it does.
struct ProbeFit {
  /// classes × neurons, on standardized inputs.
  Eigen::MatrixXd weights;
  /// One intercept per class.
  Eigen::VectorXd intercepts;
  Standardizer standardizer;
  double train_accuracy = 0;
  /// NaN when the split has no test examples.
  double test_accuracy = 0;
  int64_t train_size = 0;
  int64_t test_size = 0;
  int iterations = 0;
  bool converged = false;
  /// The final value of the penalized objective.
  double objective = 0;
  /// Weights that are exactly zero (L1 makes the probe sparse).
  int64_t zero_weights = 0;

  /// Predicted class of every row of x (raw, unstandardized activations).
  std::vector<int64_t> Predict(const Eigen::MatrixXf& x) const;
};

/// Fits a probe on rows split.train of x (examples × neurons) and scores it on both
/// sides. labels[i] ∈ [0, num_classes). Throws DataError 209 when x and labels disagree
/// in size, a label is out of range, or the training side is empty; SpecError 310 for
/// negative penalties or max_iter < 1.
ProbeFit FitProbe(const Eigen::MatrixXf& x, const std::vector<int64_t>& labels, int64_t num_classes, const Split& split,
                  const ProbeOptions& options = ProbeOptions());

/// Neurons ordered by what a probe's weights say about them.
struct NeuronRanking {
  /// Σ_c |w_cj| per neuron.
  Eigen::VectorXd importance;
  /// All neurons, most important first (ties: lower index first).
  std::vector<int64_t> global;
  /// per_class[c]: all neurons by w_cj, most positive first (ties: lower index first).
  std::vector<std::vector<int64_t>> per_class;

  /// The k most important neurons (k is clamped to the width).
  std::vector<int64_t> Top(int64_t k) const;
  /// The k least important neurons, least important first (the global ranking read from its
  /// end), so Top(width − k) and Bottom(k) partition the neurons even under ties.
  std::vector<int64_t> Bottom(int64_t k) const;
  /// Class c's k neurons with the largest weight.
  std::vector<int64_t> TopOfClass(int64_t c, int64_t k) const;
  /// The size of the smallest set of neurons (the global prefix) whose importance sums to
  /// at least `fraction` of the total; 0 when every weight is zero.
  int64_t MassSize(double fraction) const;
};

NeuronRanking RankNeurons(const ProbeFit& probe);

}  // namespace synapse

#endif  // SYNAPSE_PROBE_H_
