// A robustness requirement on an outcome, and its verdict: what the GoogleMock matchers
// (matchers.h), the standard suite and `synapse gate` all evaluate. No GoogleTest here.
//
//   synapse::robustness::Check check{synapse::robustness::Metric::kAccuracy, /*threshold=*/0.9};
//   check.confidence = 0.95;                       // test the Wilson lower bound
//   synapse::robustness::Verdict v = synapse::robustness::Evaluate(check, outcome);
//   std::cout << v.value << " " << (v.passed ? "pass" : "fail") << ": " << v.explanation;
#ifndef SYNAPSE_ROBUSTNESS_CHECK_H_
#define SYNAPSE_ROBUSTNESS_CHECK_H_

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "synapse/robustness/outcome.h"

namespace synapse::robustness {

/// What a check reads, and which way it must go.
enum class Metric {
  kAccuracy,                // at least threshold
  kAccuracyDrop,            // baseline − accuracy, at most threshold
  kRecall,                  // of class_name, at least threshold
  kFlipRate,                // share of changed labels, at most threshold
  kNoLabelFlipsUnderShift,  // no label flips under an L∞ logit change of threshold
  kMinFlipBudget,           // smallest flipping logit change (or the one flipping `share`), at least threshold
  kProbeAccuracy,           // held-out probe accuracy, at least threshold
  kHurtsMoreThanRandom,     // accuracy drop beyond the random control's, significantly > 0
  kClassAsymmetry,          // recall-drop asymmetry across classes, at most threshold
};

/// The name used in specs, reports and test properties: "accuracy", "accuracy_drop",
/// "recall", "flip_rate", "no_label_flips_under_logit_shift", "min_flip_budget",
/// "probe_accuracy", "hurts_more_than_random", "class_asymmetry".
const char* MetricName(Metric metric);
/// The metric of a name; false when there is none.
bool ParseMetric(const std::string& name, Metric* metric);

struct Check {
  Metric metric = Metric::kAccuracy;
  /// The bound (kNoLabelFlipsUnderShift: the logit budget; kHurtsMoreThanRandom: unused).
  double threshold = 0;
  /// 0: the point estimate; else the interval's bound at this level is tested
  /// (kHurtsMoreThanRandom: the one-sided test's level, 0.95 when 0).
  double confidence = 0;
  /// kRecall: the class.
  std::string class_name;
  /// kMinFlipBudget: the share of labels that must flip (0: the single most fragile).
  double share = 0;
};

/// What a check found.
struct Verdict {
  std::string requirement;  // Describe(check): "has accuracy at least 0.900"
  std::string query;        // the outcome's query ("Ablate(TopK(10)).AtLayer(-1)")
  std::string what;         // what the query did, in words
  std::string metric;       // accuracy, recall[ham], flip_budget[1%], ...
  double value = 0;         // the estimate (NaN when undefined)
  double low = 0;           // its interval at `confidence` (NaN for a side it lacks)
  double high = 0;
  double confidence = 0;
  double tested = 0;       // the number compared with the threshold: the estimate or a bound
  std::string comparison;  // ">=", "<=", "==", ">"
  double threshold = 0;
  bool passed = false;
  bool known_weakness = false;  // a requirement the model is known to miss
  std::string explanation;      // "whose accuracy is 0.870 [0.835, 0.899 at 95%] on ..."
};

/// Whether an assertion holds: its check passed, or, for a known weakness, did not.
inline bool Holds(const Verdict& v) { return v.known_weakness ? !v.passed : v.passed; }

/// A failed assertion in one line, for JUnit's <failure message> and CI summaries: the query
/// and the explanation ("Baseline(): whose recall of class \"spam\" is 0.514 ...; the lower
/// bound 0.359 misses 0.800"), "the known weakness is gone: ..." for a fixed known weakness.
std::string FailureLine(const Verdict& verdict);

/// Evaluates `check` on an outcome (every metric but kProbeAccuracy). Runs the outcome's
/// random control for kHurtsMoreThanRandom.
Verdict Evaluate(const Check& check, const Outcome& outcome);
/// Evaluates a kProbeAccuracy check.
Verdict Evaluate(const Check& check, const ProbeOutcome& outcome);

/// A verdict in reports: requirement, query, what, metric, value, interval ([low, high],
/// null ends for a one-sided bound, null when none), confidence, tested, comparison,
/// threshold, verdict ("match" / "no match"), known_weakness, explanation. Undefined
/// numbers are null.
nlohmann::ordered_json VerdictJson(const Verdict& verdict);

/// A verdict as JUnit test properties, the `index`-th assertion of its test:
/// synapse.N.query, .metric, .value, .interval ("[low, high] at 0.95"), .threshold
/// (">= 0.9"), .verdict ("match", "no match", "... (known weakness)").
std::vector<std::pair<std::string, std::string>> VerdictProperties(const Verdict& verdict, int index);

/// The requirement in words, as GoogleMock's "Expected: ..." reads it: "has accuracy at
/// least 0.900 with 95% confidence (the Wilson interval's lower bound)"; `negated` for
/// "doesn't have ...".
std::string Describe(const Check& check, bool negated = false);

}  // namespace synapse::robustness

#endif  // SYNAPSE_ROBUSTNESS_CHECK_H_
