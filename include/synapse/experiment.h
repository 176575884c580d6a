// One experiment, typed: what it does to the model and what it measured. `synapse analyze`,
// the robustness tests, `synapse gate` and the suite describe every configuration this way
// and run it through an EvaluationSession (evaluation_session.h).
//
//   synapse::Experiment e = synapse::Experiment::Ablate(/*layer=*/3, synapse::Experiment::Selection::kTop, 10);
//   e.positions = synapse::Positions::kPooled;
//   synapse::Describe(e, "encoder.layer.3", {"ham", "spam"});
//   // "zeroing the global top-10 neurons of layer 3 (encoder.layer.3) at the pooled token"
#ifndef SYNAPSE_EXPERIMENT_H_
#define SYNAPSE_EXPERIMENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "synapse/experiments.h"
#include "synapse/intervention.h"

namespace synapse {

/// What one experiment does.
struct Experiment {
  enum class Kind {
    kBaseline,         ///< no intervention
    kAblate,           ///< neurons of a layer set to 0 (or their mean)
    kNoise,            ///< Gaussian noise of sigma × each neuron's std at a layer
    kLogitShift,       ///< the worst L∞ change of at most `budget` to each logit
    kHeadWeightScale,  ///< columns of one class's head weights scaled by `factor`
  };
  /// Which neurons (Ablate) or head columns (HeadWeightScale).
  enum class Selection {
    kTop,       ///< the k most important by the layer's probe (head: the k largest weights)
    kBottom,    ///< the k least important (head: the k smallest weights)
    kRandom,    ///< k drawn at random, `draws` times, pooled
    kClassTop,  ///< the k most important for `class_index` (Ablate)
    kExplicit,  ///< `neurons`
  };

  Kind kind = Kind::kBaseline;
  /// The layer's index (Ablate, Noise), resolved: 0 .. layers − 1.
  int layer = -1;
  Selection selection = Selection::kTop;
  int64_t k = 0;
  /// k as the user wrote it ("10%"), when it came from a grid; shown in reports.
  std::string k_spec;
  /// The neurons (or head columns) of kExplicit.
  std::vector<int64_t> neurons;
  /// kClassTop's class, or HeadWeightScale's.
  int64_t class_index = -1;
  /// Random sets (kRandom) or noise draws, pooled into one result.
  int draws = 1;
  Positions positions = Positions::kAll;
  /// Ablated neurons take their mean over the evaluation set instead of 0.
  bool to_mean = false;
  double sigma = 0;   ///< Noise
  double budget = 0;  ///< LogitShift
  double factor = 1;  ///< HeadWeightScale
  /// How the caller names it in errors and report rows ("Ablate(TopK(10)).AtLayer(-1)"),
  /// or empty (the analysis's grid).
  std::string name;

  static Experiment Baseline();
  static Experiment Ablate(int layer, Selection selection, int64_t k);
  static Experiment Noise(int layer, double sigma);
  static Experiment LogitShift(double budget);
  static Experiment HeadWeightScale(int64_t class_index, Selection columns, int64_t k, double factor);
};

/// What an experiment measured on the examples it ran on (all of the session's, or a
/// subset, in the subset's order).
struct ExperimentResult {
  /// Each draw's metrics against the labels and the baseline (one for a deterministic
  /// experiment).
  std::vector<Metrics> draws;
  /// The draws pooled: counts add up (n = draws × examples).
  Metrics pooled;
  /// Per example, the share of draws that classified it right, and that changed its
  /// prediction from the baseline's.
  std::vector<double> correct;
  std::vector<double> flipped;
  /// Per example, the smallest further L∞ logit change that would change its prediction
  /// (one draw only; for a logit shift, what is left of it after the budget).
  std::vector<double> flip_budget;
  /// Each draw's neurons (Ablate) or head columns (HeadWeightScale).
  std::vector<std::vector<int64_t>> neurons;
  /// Each random draw's seed (kRandom).
  std::vector<uint64_t> seeds;
  /// The head weight parameter (HeadWeightScale), e.g. "classifier.weight".
  std::string parameter;
  /// The width of the layer the experiment ran at (Ablate, Noise).
  int64_t width = 0;
};

/// In words that complete "after ...": "zeroing class spam's top-10 neurons of layer 3
/// (encoder.layer.3) at every token". `layer_name` names e.layer; `class_names` name
/// e.class_index; `parameter` is the head weight a HeadWeightScale scales. The one
/// description of an experiment: reports read back from disk describe theirs the same way.
std::string Describe(const Experiment& e, const std::string& layer_name, const std::vector<std::string>& class_names,
                     const std::string& parameter = "");

}  // namespace synapse

#endif  // SYNAPSE_EXPERIMENT_H_
