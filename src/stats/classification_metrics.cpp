#include "synapse/classification_metrics.h"

#include <cmath>
#include <random>
#include <string>

#include "synapse/error.h"

namespace synapse {
namespace {

double Ratio(int64_t a, int64_t b) { return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : NAN; }

double F1(int64_t tp, int64_t support, int64_t predicted) {
  return support + predicted > 0 ? 2.0 * static_cast<double>(tp) / static_cast<double>(support + predicted) : NAN;
}

}  // namespace

ClassificationMetrics MeasureClassification(const std::vector<int64_t>& labels, const std::vector<int64_t>& predictions,
                                            int64_t num_classes, const ClassificationMetricsOptions& options) {
  if (labels.size() != predictions.size()) {
    throw DataError(209, "classification metrics: " + std::to_string(labels.size()) + " labels but " +
                             std::to_string(predictions.size()) + " predictions");
  }
  if (labels.empty()) throw DataError(209, "classification metrics: no examples");
  const size_t k = static_cast<size_t>(num_classes);
  ClassificationMetrics m;
  m.n = static_cast<int64_t>(labels.size());
  m.confusion.assign(k, std::vector<int64_t>(k, 0));
  for (size_t i = 0; i < labels.size(); ++i) {
    for (int64_t c : {labels[i], predictions[i]}) {
      if (c < 0 || c >= num_classes) {
        throw DataError(209,
                        "classification metrics: example " + std::to_string(i) + ": class " + std::to_string(c) +
                            " is outside [0, " + std::to_string(num_classes) + ")",
                        static_cast<int64_t>(i));
      }
    }
    ++m.confusion[static_cast<size_t>(labels[i])][static_cast<size_t>(predictions[i])];
  }
  int64_t correct = 0;
  m.classes.resize(k);
  for (size_t c = 0; c < k; ++c) {
    ClassMetrics& cm = m.classes[c];
    cm.true_positives = m.confusion[c][c];
    correct += cm.true_positives;
    for (size_t o = 0; o < k; ++o) {
      cm.support += m.confusion[c][o];
      cm.predicted += m.confusion[o][c];
    }
    cm.precision = Ratio(cm.true_positives, cm.predicted);
    cm.recall = Ratio(cm.true_positives, cm.support);
    cm.f1 = F1(cm.true_positives, cm.support, cm.predicted);
    if (cm.predicted > 0) cm.precision_interval = WilsonInterval(cm.true_positives, cm.predicted, options.confidence());
    if (cm.support > 0) cm.recall_interval = WilsonInterval(cm.true_positives, cm.support, options.confidence());
    m.macro_f1 += std::isnan(cm.f1) ? 0.0 : cm.f1 / static_cast<double>(k);
  }
  m.accuracy = Ratio(correct, m.n);
  m.accuracy_interval = WilsonInterval(correct, m.n, options.confidence());

  if (options.bootstrap() > 0) {
    std::mt19937_64 rng(options.seed());
    std::uniform_int_distribution<size_t> pick(0, labels.size() - 1);
    std::vector<std::vector<double>> f1s(k);
    std::vector<int64_t> tp(k), support(k), predicted(k);
    for (int64_t b = 0; b < options.bootstrap(); ++b) {
      std::fill(tp.begin(), tp.end(), 0);
      std::fill(support.begin(), support.end(), 0);
      std::fill(predicted.begin(), predicted.end(), 0);
      for (size_t i = 0; i < labels.size(); ++i) {
        const size_t j = pick(rng);
        const size_t y = static_cast<size_t>(labels[j]), p = static_cast<size_t>(predictions[j]);
        ++support[y];
        ++predicted[p];
        if (y == p) ++tp[y];
      }
      for (size_t c = 0; c < k; ++c) {
        const double f = F1(tp[c], support[c], predicted[c]);
        if (!std::isnan(f)) f1s[c].push_back(f);
      }
    }
    const double tail = (1.0 - options.confidence()) / 2.0;
    for (size_t c = 0; c < k; ++c) {
      if (f1s[c].empty()) continue;
      m.classes[c].f1_interval = {Quantile(f1s[c], tail), Quantile(f1s[c], 1.0 - tail)};
    }
  }
  return m;
}

}  // namespace synapse
