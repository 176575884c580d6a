// Robustness specs as files: the gate spec (`synapse gate --spec`) and the standard
// suite's threshold spec (SYNAPSE_ROBUSTNESS_SUITE), both read strictly into a Config and
// a list of assertions. Paths in a spec are relative to the spec file.
//
//   synapse::robustness::Spec spec = synapse::robustness::LoadGateSpec("robustness.json");
//   auto model = synapse::robustness::ModelUnderTest::Shared(spec.config);
//   for (const auto& a : spec.assertions) {
//     synapse::robustness::Verdict v = synapse::robustness::RunAssertion(*model, a);
//   }
//
// docs/gate.md and docs/robustness-tests.md describe the two formats; errors are UsageError
// 404 naming the file and the JSON path: "robustness.json: assertions[3].threshold:
// expected a number".
#ifndef SYNAPSE_ROBUSTNESS_SPEC_H_
#define SYNAPSE_ROBUSTNESS_SPEC_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "synapse/robustness/assertion.h"
#include "synapse/robustness/config.h"

namespace synapse::robustness {

struct Spec {
  std::string path;
  Config config;
  std::vector<Assertion> assertions;
};

/// {"model", "data", "tokenizer", "labels", "seed", "max_examples", "layers",
///  "random_seeds", "confidence" (for assertions that set none), "assertions": [...]}.
Spec ParseGateSpec(const nlohmann::json& spec, const std::string& path);
Spec LoadGateSpec(const std::string& path);

/// The standard suite's thresholds ("baseline", "hurts_more_than_random",
/// "class_asymmetry", "logit_flip_budget", "weight_space") as assertions named after what
/// they check.
Spec ParseSuiteSpec(const nlohmann::json& spec, const std::string& path);
Spec LoadSuiteSpec(const std::string& path);

}  // namespace synapse::robustness

#endif  // SYNAPSE_ROBUSTNESS_SPEC_H_
