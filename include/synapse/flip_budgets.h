// Logit space: per example, the smallest logit change that flips its prediction, and the
// budget that flips a given share of the examples.
//
//   synapse::FlipBudgets b = synapse::ComputeFlipBudgets(logits);
//   double budget = synapse::BudgetFlipping({b.min_flip.data(), b.min_flip.data() + b.min_flip.size()}, 0.01);
#ifndef SYNAPSE_FLIP_BUDGETS_H_
#define SYNAPSE_FLIP_BUDGETS_H_

#include <Eigen/Core>
#include <vector>

namespace synapse {

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

}  // namespace synapse

#endif  // SYNAPSE_FLIP_BUDGETS_H_
