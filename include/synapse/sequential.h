// Anytime-valid tests of a bounded mean against a threshold: a betting confidence
// sequence (Waudby-Smith & Ramdas, "Estimating means of bounded random variables by
// betting", JRSS-B 2023; for sampling without replacement from a finite set, Waudby-Smith
// & Ramdas, "Confidence sequences for sampling without replacement", NeurIPS 2020).
// Observations arrive one at a time; the test may be read after every one and stopped at
// any point, and its error bound still holds (Ville's inequality), unlike an interval
// recomputed at each look.
//
//   synapse::SequentialTest t(synapse::SequentialOptions(/*threshold=*/0.9).alpha(0.05));
//   for (double correct : stream) {
//     t.Add(correct);                                  // each in [0, 1]
//     if (t.decision() != synapse::SequentialDecision::kUndecided) break;
//   }
//   // t.decision() == kAbove: the mean is above 0.9; a false kAbove has probability ≤ 0.05.
#ifndef SYNAPSE_SEQUENTIAL_H_
#define SYNAPSE_SEQUENTIAL_H_

#include <cstdint>
#include <vector>

#include "synapse/options.h"

namespace synapse {

enum class SequentialDecision {
  kUndecided,
  /// The mean is at least the threshold (population: with error ≤ alpha; finite set: its
  /// mean, with error ≤ alpha, or certain once the rest cannot change it).
  kAbove,
  /// The mean is below the threshold (same guarantees).
  kBelow,
};

struct SequentialOptions {
  explicit SequentialOptions(double threshold) : threshold_(threshold) {}
  /// The threshold the mean is tested against, in [0, 1].
  SYNAPSE_ARG(double, threshold);
  /// Error of each decision: P(kAbove while the mean < threshold) ≤ alpha, and likewise
  /// for kBelow.
  SYNAPSE_ARG(double, alpha) = 0.05;
  /// 0: observations are i.i.d. draws from a population (the test is about its mean).
  /// N > 0: they are a uniformly random order of a finite set of N values (sampling without
  /// replacement; the test is about the set's mean, and is exact after N observations).
  SYNAPSE_ARG(int64_t, population) = 0;
  /// Bets are capped at this share of the largest bet that keeps the capital positive.
  SYNAPSE_ARG(double, max_bet) = 0.75;
};

/// One test of `mean ≥ threshold` against `mean < threshold`, fed in order. Two capital
/// processes bet on the threshold's two sides with predictable aGRAPA bets (the bet that
/// maximises expected log capital under the running mean and variance); a side whose
/// capital reaches 1/alpha decides.
class SequentialTest {
 public:
  explicit SequentialTest(const SequentialOptions& options);

  /// One observation in [0, 1] (clamped; NaN counts as 0). Ignored once a decision is made,
  /// and for a finite set after its N values.
  void Add(double x);

  SequentialDecision decision() const { return decision_; }
  /// Whether the decision is certain (finite set only: the rest of the set cannot change
  /// which side its mean is on).
  bool certain() const { return certain_; }
  int64_t n() const { return static_cast<int64_t>(values_.size()); }
  double mean() const;
  /// The capital of the side betting on "above" and on "below" (each starts at 1).
  double capital_above() const { return capital_above_; }
  double capital_below() const { return capital_below_; }

  /// The confidence sequence at the current time, [low, high] at level 1 − alpha each side
  /// (computed by bisection over candidate means, replaying the observations).
  double LowerBound() const;
  double UpperBound() const;

  const SequentialOptions& options() const { return options_; }

 private:
  // Capital after replaying every observation with the null mean m (the mean of the
  // finite set, or the population's), betting on the side `above`.
  double Capital(double m, bool above) const;
  double Bet(double m_now, bool above, double mu_hat, double var_hat) const;
  double Edge(bool above) const;

  SequentialOptions options_;
  std::vector<double> values_;
  double sum_ = 0, mu_hat_ = 0.5, var_hat_ = 0.25;
  double capital_above_ = 1, capital_below_ = 1;
  SequentialDecision decision_ = SequentialDecision::kUndecided;
  bool certain_ = false;
};

}  // namespace synapse

#endif  // SYNAPSE_SEQUENTIAL_H_
