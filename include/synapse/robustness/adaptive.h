// Adaptive evaluation: each assertion reads only as many examples as its verdict needs.
// Examples are visited in a seeded random order in growing batches; an assertion stops as
// soon as a confidence sequence (synapse/sequential.h) decides it, and the run stops when
// every assertion has. The guarantees hold under this optional stopping (docs/gate.md,
// "Adaptive evaluation"):
//   - with a confidence c (WithConfidence(c), "confidence": c): a claim about the
//     population the examples are drawn from; a pass when the true rate misses the
//     threshold has probability ≤ 1 − c;
//   - without one: the verdict the whole evaluation set would give, wrong with probability
//     ≤ 1 − Config().confidence() (sampling without replacement from the set).
//
//   auto model = ModelUnderTest::Shared(Config().model("models/spam-tiny"));
//   AdaptiveRun run = RunAdaptive(*model, {AdaptiveItem{check, model->Baseline()}});
//   std::cout << run.verdicts[0].examples << " of " << run.examples << " examples\n";
#ifndef SYNAPSE_ROBUSTNESS_ADAPTIVE_H_
#define SYNAPSE_ROBUSTNESS_ADAPTIVE_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "synapse/options.h"
#include "synapse/robustness/check.h"
#include "synapse/robustness/queries.h"

namespace synapse::robustness {

class ModelUnderTest;

struct AdaptiveOptions {
  /// Seeds the order examples are visited in (derived from it, never the same stream as
  /// the config's other draws).
  SYNAPSE_ARG(uint64_t, seed) = 0;
  /// Examples in the first batch.
  SYNAPSE_ARG(int64_t, first_batch) = 64;
  /// Each later batch makes what has been read this many times larger (at least one more).
  SYNAPSE_ARG(double, growth) = 1.25;
};

/// One check on one query (a probe's when `probe` is set).
struct AdaptiveItem {
  Check check;
  std::optional<Query> query;
  std::optional<ProbeQuery> probe;
  bool known_weakness = false;
};

/// Whether a check can stop early (accuracy, recall, accuracy drop, flip rate,
/// hurts_more_than_random); the others need the whole set.
bool IsSequential(Metric metric);

struct AdaptiveVerdict {
  /// value: the estimate on the examples read; [low, high]: the confidence sequence there;
  /// tested: its bound on the side the check tests.
  Verdict verdict;
  /// Examples of the evaluation set read (for recall, of every class).
  int64_t examples = 0;
  /// "decided" (the confidence sequence cleared or missed the threshold), "certain" (the
  /// rest of the set could not change the set's verdict), "whole set" (read every example),
  /// "needs the whole set" (a check that cannot stop early).
  std::string stopped;
  /// "population" (a confidence was given) or "whole set".
  std::string guarantee;
  /// The bound at stopping on the side that decided (NaN when none did), and its level.
  double bound = 0;
  double level = 0;
  /// Example-passes this assertion's own queries spent (shared ones counted once, by the
  /// first assertion that read them).
  double passes = 0;
};

struct AdaptiveRun {
  std::vector<AdaptiveVerdict> verdicts;
  /// Examples in the evaluation set.
  int64_t examples = 0;
  /// Example-passes the run spent (the extraction, when a check needs it, included), and
  /// what the full run of the same checks costs under the same cost model.
  double passes = 0;
  double full_passes = 0;
  /// Whether the whole-set extraction ran (rankings, neuron statistics, probes need it).
  bool extracted = false;
};

/// Runs every item adaptively. Throws what the queries throw (SpecError 311 for a query
/// that does not fit the model).
AdaptiveRun RunAdaptive(ModelUnderTest& model, const std::vector<AdaptiveItem>& items,
                        const AdaptiveOptions& options = AdaptiveOptions());

/// The report entry of one adaptive verdict: examples, of, stopped, guarantee, bound, level,
/// passes.
nlohmann::ordered_json AdaptiveJson(const AdaptiveVerdict& verdict, int64_t examples);

}  // namespace synapse::robustness

#endif  // SYNAPSE_ROBUSTNESS_ADAPTIVE_H_
