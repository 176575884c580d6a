// What a robustness query measured, in the form the matchers read: counts, not only rates,
// so that any confidence level's interval can be recomputed.
//
//   nlohmann::json report = nlohmann::json::parse(std::ifstream("report.json"));
//   synapse::robustness::Outcome top10 = synapse::robustness::ExperimentOutcome(
//       report, /*layer=*/-1, "top", /*k=*/10);
//   EXPECT_THAT(top10, synapse::robustness::AccuracyAtLeast(0.9).WithConfidence(0.95));
#ifndef SYNAPSE_ROBUSTNESS_OUTCOME_H_
#define SYNAPSE_ROBUSTNESS_OUTCOME_H_

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "synapse/stats.h"

namespace synapse::robustness {

/// A proportion measured on n examples.
struct Rate {
  int64_t successes = 0;
  int64_t n = 0;

  /// successes / n; NaN when n is 0.
  double value() const;
  /// The Wilson score interval at `confidence`.
  Interval Wilson(double confidence) const;
};

/// The result of one query on the evaluation set: an intervention's accuracy, per-class
/// recall and label flips, next to the unperturbed model's.
struct Outcome {
  /// What was done, as a phrase that completes "after ...": "zeroing the global top-10
  /// neurons of layer 3 (encoder.layer.3) at every token". Empty for the baseline.
  std::string what;
  Rate accuracy;
  Rate baseline_accuracy;
  /// Per class name: examples of the class predicted as the class.
  std::map<std::string, Rate> recall;
  std::map<std::string, Rate> baseline_recall;
  /// Examples whose predicted label differs from the unperturbed model's.
  Rate flips;
  /// The level of the intervals shown in explanations when a matcher sets none.
  double confidence = 0.95;

  /// The query that measured it, as written in a test: "Ablate(TopK(10)).AtLayer(-1)".
  std::string query;
  /// The class an intervention aimed at (a class's top neurons or head weights); empty
  /// when it aimed at none. ClassAsymmetryAtMost compares this class's recall drop with the
  /// others'.
  std::string target_class;
  /// Per example, the share of runs that classified it correctly: 0 or 1 for one run, k/d
  /// over d pooled random draws. Empty for outcomes read from a report. Lets
  /// HurtsMoreThanRandom test paired differences.
  std::vector<double> correct;
  /// Per example, the smallest L∞ change of its logits that changes its predicted label
  /// (half the gap between its top two logits). Empty when unknown (pooled draws, reports).
  std::vector<double> flip_budget;
  /// The random control of an ablation: the same number of random neurons at the same
  /// layer and positions, several draws pooled. Empty for outcomes that have none; called
  /// lazily by HurtsMoreThanRandom (the runs are cached).
  std::function<Outcome()> random_control;
};

/// A linear probe's accuracy on its held-out examples at one layer (Probe(layer)).
struct ProbeOutcome {
  int layer = 0;
  std::string layer_name;
  /// Correct held-out examples of the stratified split.
  Rate test_accuracy;
  double train_accuracy = 0;
  bool converged = false;
  int iterations = 0;
  double confidence = 0.95;
  std::string query;
};

/// The unperturbed model, from a report written by `synapse analyze` (synapse::Analyze).
/// Throws DataError 210 when the report lacks what an outcome needs.
Outcome BaselineOutcome(const nlohmann::json& report);

/// One sweep row of a report: `selection` "top", "bottom", "random" (every draw pooled,
/// so n is draws × examples), "class_top" (with `class_name`) or "noise" (`k` ignored,
/// `sigma` the level); `layer` may count from the end. Throws DataError 210 naming what
/// was asked for when the report has no such row.
Outcome ExperimentOutcome(const nlohmann::json& report, int layer, const std::string& selection, int64_t k,
                          const std::string& class_name = "", double sigma = 0);

/// A layer's probe from a report (layer may count from the end). Throws DataError 210.
ProbeOutcome ProbeOutcomeOf(const nlohmann::json& report, int layer);

}  // namespace synapse::robustness

#endif  // SYNAPSE_ROBUSTNESS_OUTCOME_H_
