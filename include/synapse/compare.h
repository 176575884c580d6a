// Robustness regressions between two reports (model versions), the way performance
// regressions are tracked: align the metrics both reports measured, and flag the ones that
// got worse by more than a tolerance *and* significantly.
//
//   synapse::Comparison c = synapse::CompareReports(old_report, new_report,
//                                                   synapse::CompareOptions().tolerance(0.01));
//   for (const auto& m : c.metrics) if (m.regression) std::cout << m.key << " " << m.delta << "\n";
//
// The test: McNemar's exact test on the per-example results (`correct_bits`) when both
// reports scored the same examples (equal `data.examples_hash`), else a two-proportion z
// test on the counts. Metrics without counts (logit budgets) are shown, never flagged.
#ifndef SYNAPSE_COMPARE_H_
#define SYNAPSE_COMPARE_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "synapse/options.h"

namespace synapse {

struct CompareOptions {
  /// A metric regresses only when it falls by more than this (absolute, in rate units).
  SYNAPSE_ARG(double, tolerance) = 0.01;
  /// ... and the change is significant at this level (two-sided).
  SYNAPSE_ARG(double, alpha) = 0.05;
};

/// One metric both reports have. Every metric is "higher is better".
struct MetricComparison {
  /// "baseline accuracy", "layer 3 (encoder.layer.3) top k=13 accuracy", "probe layer 1
  /// accuracy", "baseline recall[spam]", "logit budget flipping 1%".
  std::string key;
  double baseline = 0;
  double current = 0;
  double delta = 0;  // current − baseline
  /// "mcnemar" (paired), "two-proportion", or "none" (no counts: never flagged).
  std::string test;
  double p = 1;
  int64_t baseline_n = 0;
  int64_t current_n = 0;
  /// McNemar: examples right before and wrong now (lost), and the reverse (gained).
  int64_t lost = 0;
  int64_t gained = 0;
  bool regression = false;   // delta < −tolerance and p < alpha
  bool improvement = false;  // delta > tolerance and p < alpha
};

struct Comparison {
  std::vector<MetricComparison> metrics;
  /// Keys measured by one report only.
  std::vector<std::string> only_in_baseline;
  std::vector<std::string> only_in_current;
  /// Both reports scored the same examples (paired tests were possible).
  bool same_examples = false;
  /// What differs between the reports, one phrase each, for a warning: "the class names
  /// differ (ham, spam / 0, 1)", "the examples differ (400 / 887 examples;
  /// data.examples_hash)", "the models' layers differ (4: encoder.layer.0, ... / 6: ...)"
  /// whenever they do; and when some metric is unmatched, also "the options differ (k,
  /// noise)" and "the model weights differ too (model.parameter_hash ...)", or "the reports
  /// ran different experiments" when nothing else does. Empty when the class names,
  /// examples and layers agree and every metric is matched: two versions of a model
  /// (other weights, the same layers) analysed alike on the same data.
  std::vector<std::string> differences;
  /// The reports cannot be compared as versions of one model on one task: the class names
  /// differ, or more than half of the baseline's metrics have no match in the current
  /// report (`synapse compare` exits 2 then, unless --allow-mismatch).
  bool mismatch = false;
  int regressions = 0;
  int improvements = 0;
};

/// Throws DataError 210 when a report lacks what a metric needs, and 211 when the two
/// reports have no metric in common (different classes, or not reports of this kind):
/// its message says what differs.
Comparison CompareReports(const nlohmann::ordered_json& baseline, const nlohmann::ordered_json& current,
                          const CompareOptions& options = CompareOptions());

/// A Markdown summary for a CI step summary: the verdict, then a table of the regressions,
/// the improvements and (with `all`) every other metric.
std::string ComparisonMarkdown(const Comparison& comparison, const CompareOptions& options, bool all = false);

/// One test per compared metric (a regression fails), in the "tests" layout that
/// RenderJUnitXml (report_files.h) writes out.
nlohmann::ordered_json ComparisonTests(const Comparison& comparison, const CompareOptions& options);

}  // namespace synapse

#endif  // SYNAPSE_COMPARE_H_
