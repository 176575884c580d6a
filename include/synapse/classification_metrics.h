// Per-class precision, recall and F1 with confidence intervals, and the confusion matrix.
//
//   synapse::ClassificationMetrics m = synapse::MeasureClassification(labels, predictions, 3);
//   m.accuracy;                      // 0.97
//   m.classes[2].recall_interval;    // Wilson interval of spam's recall
//   m.classes[2].f1_interval;        // percentile bootstrap interval of spam's F1
#ifndef SYNAPSE_CLASSIFICATION_METRICS_H_
#define SYNAPSE_CLASSIFICATION_METRICS_H_

#include <cstdint>
#include <vector>

#include "synapse/options.h"
#include "synapse/stats.h"

namespace synapse {

struct ClassificationMetricsOptions {
  SYNAPSE_ARG(double, confidence) = 0.95;
  /// Resamples of the percentile bootstrap behind the F1 intervals (F1 is not a
  /// proportion, so it has no Wilson interval); 0 leaves them empty.
  SYNAPSE_ARG(int64_t, bootstrap) = 2000;
  SYNAPSE_ARG(uint64_t, seed) = 0;
};

struct ClassMetrics {
  int64_t support = 0;    // examples of the class
  int64_t predicted = 0;  // examples predicted as the class
  int64_t true_positives = 0;
  double precision = 0, recall = 0, f1 = 0;  // NaN where the denominator is 0
  Interval precision_interval, recall_interval, f1_interval;
};

struct ClassificationMetrics {
  int64_t n = 0;
  double accuracy = 0;
  Interval accuracy_interval;
  /// Unweighted mean of the classes' F1 (classes without support or predictions count 0).
  double macro_f1 = 0;
  std::vector<ClassMetrics> classes;
  /// confusion[true][predicted].
  std::vector<std::vector<int64_t>> confusion;
};

/// Scores `predictions` against `labels` (class indices in [0, num_classes)). Throws
/// DataError 209 for vectors of different sizes, an empty set or an index out of range.
ClassificationMetrics MeasureClassification(const std::vector<int64_t>& labels, const std::vector<int64_t>& predictions,
                                            int64_t num_classes, const ClassificationMetricsOptions& options = {});

}  // namespace synapse

#endif  // SYNAPSE_CLASSIFICATION_METRICS_H_
