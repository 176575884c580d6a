// An assertion as data: a query on the model under test and a check on what it measured.
// The form `synapse gate` reads from its spec and the standard suite makes from its
// thresholds; in C++ the same is EXPECT_THAT(query, matcher).
//
//   {"name": "spam_survives_top10", "intervention": "ablate", "selection": "top",
//    "of_class": "spam", "k": 10, "layer": -1,
//    "metric": "recall", "class": "spam", "threshold": 0.95, "confidence": 0.95}
//
// is EXPECT_THAT(Ablate(TopK(10).OfClass("spam")).AtLayer(-1),
//                ClassRecallAtLeast("spam", 0.95).WithConfidence(0.95)).
// docs/gate.md lists every key; docs/gate-spec.schema.json is the JSON Schema.
#ifndef SYNAPSE_ROBUSTNESS_ASSERTION_H_
#define SYNAPSE_ROBUSTNESS_ASSERTION_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "synapse/robustness/check.h"
#include "synapse/robustness/queries.h"

namespace synapse::robustness {

class ModelUnderTest;

/// Which query an assertion runs (queries.h), with its arguments.
struct QuerySpec {
  /// "none" (Baseline), "ablate", "noise", "logit_shift", "head_weight_scale", "probe".
  std::string intervention = "none";
  /// ablate / head_weight_scale: "top", "bottom", "random", "neurons".
  std::string selection = "top";
  /// ablate: TopK(k).OfClass(of_class); head_weight_scale: the class whose weights scale.
  std::string of_class;
  int64_t k = 0;
  std::vector<int64_t> neurons;
  /// Random draws (RandomK(k).Seeds(n)) or noise draws.
  int seeds = 1;
  /// ablate, noise, probe (negative counts from the end).
  int layer = -1;
  bool pooled_only = false;
  bool to_mean = false;
  /// noise: σ; logit_shift: the budget; head_weight_scale: the factor.
  double amount = 0;
};

struct Assertion {
  /// Letters, digits and underscores: a test name.
  std::string name;
  QuerySpec query;
  Check check;
  /// A requirement the model is known to miss: passes while the check fails.
  bool known_weakness = false;
};

/// The query `q` names on `model` (any intervention but "probe", which is Probe(layer)).
Query QueryOf(ModelUnderTest& model, const QuerySpec& q);

/// Runs the assertion's query on `model` and evaluates its check (the verdict carries
/// known_weakness; Holds() says whether the assertion holds). Throws SpecError 311 for a
/// query that does not fit the model.
Verdict RunAssertion(ModelUnderTest& model, const Assertion& assertion);

/// Parses one assertion object. `where` is its JSON path ("assertions[3]") and `file` the
/// spec, for errors: UsageError 404 "FILE: assertions[3].threshold: expected a number".
Assertion ParseAssertion(const nlohmann::json& object, const std::string& file, const std::string& where);

}  // namespace synapse::robustness

#endif  // SYNAPSE_ROBUSTNESS_ASSERTION_H_
