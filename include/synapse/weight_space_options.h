// How the analysis's weight-space stage searches and perturbs: per class, the smallest
// scaling of its largest head weights and the smallest shift of its bias that move a
// target share of the other classes' examples to it, and accuracy under relative noise
// on a parameter.
//
//   synapse::AnalysisOptions().weight_space_options(
//       synapse::WeightSpaceOptions().head_k(5).target_rate(0.25).weight_noise({0.05, 0.5}));
#ifndef SYNAPSE_WEIGHT_SPACE_OPTIONS_H_
#define SYNAPSE_WEIGHT_SPACE_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "synapse/options.h"

namespace synapse {

struct WeightSpaceOptions {
  /// The head's weight parameter; empty: found (FindClassificationHead).
  SYNAPSE_ARG(std::string, head);
  /// Head columns scaled per class: the k with the largest weight for that class.
  SYNAPSE_ARG(int64_t, head_k) = 10;
  /// Largest head-weight factor tried.
  SYNAPSE_ARG(double, head_max_factor) = 100;
  /// Share of the other classes' examples that must move to the class.
  SYNAPSE_ARG(double, target_rate) = 0.5;
  /// Use the head's linearity in the weight-space searches: one pass measures how the
  /// logits move, the bisection runs on predicted logits, and one pass confirms the answer
  /// (about 2 passes per search instead of bisect_steps + 1). Checked on every search;
  /// where the logits are not the head's output the search falls back to forward passes.
  SYNAPSE_ARG(bool, linear_head) = true;
  /// Weight space scores changes to the classification head alone from the head's input,
  /// captured in one pass of the forward graph up to the head (report: weight_space.
  /// head_input), instead of a forward pass per evaluation; the numbers are the same. Where
  /// the logits are not the head's output, or for a weight-noise parameter elsewhere, the
  /// forward passes run anyway.
  SYNAPSE_ARG(bool, head_input) = true;
  /// Bisection steps per search.
  SYNAPSE_ARG(int, bisect_steps) = 10;
  /// Relative noise levels ε on `weight_noise_parameter` (× the parameter's std).
  SYNAPSE_ARG(std::vector<double>, weight_noise) = std::vector<double>{0.01, 0.05, 0.1, 0.25, 0.5};
  /// Draws per weight-noise level.
  SYNAPSE_ARG(int, weight_noise_seeds) = 3;
  /// The parameter weight noise goes to; empty: the head's weight.
  SYNAPSE_ARG(std::string, weight_noise_parameter);
};

}  // namespace synapse

#endif  // SYNAPSE_WEIGHT_SPACE_OPTIONS_H_
