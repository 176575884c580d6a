// What a configuration did to the predictions: accuracy, per-class recall and flips against
// the baseline, with Wilson intervals and McNemar's exact test; and several runs pooled.
//
//   synapse::Metrics m = synapse::Score(predictions, labels, base_predictions, /*num_classes=*/3);
//   // m.accuracy, m.accuracy_ci, m.recall[c], m.flip_rate, m.mcnemar_p ...
#ifndef SYNAPSE_METRICS_H_
#define SYNAPSE_METRICS_H_

#include <cstdint>
#include <vector>

#include "synapse/stats.h"

namespace synapse {

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

}  // namespace synapse

#endif  // SYNAPSE_METRICS_H_
