// The standard robustness suite: parameterized tests instantiated from a JSON threshold
// spec, so a team states its requirements as data.
//
//   // robustness_test.cpp
//   #include <synapse/testing.h>
//   SYNAPSE_ROBUSTNESS_SUITE(SpamFilterSuite, "robustness.json");
//
//   // robustness.json (paths relative to this file; docs/robustness-tests.md)
//   {
//     "model": "models/spam-tiny",
//     "confidence": 0.95,
//     "baseline": {"accuracy_at_least": 0.9, "recall_at_least": {"spam": 0.95}},
//     "hurts_more_than_random": [{"layer": -1, "k": 10}],
//     "class_asymmetry": [{"layer": -1, "k": 10, "at_most": 0.3}],
//     "logit_flip_budget": {"at_least": 0.05, "share": 0.01},
//     "weight_space": [{"class": "spam", "k": 10, "factor": 2, "flip_rate_at_most": 0.05}]
//   }
//
// Each check becomes one test, named after what it checks
// (Spec/SpamFilterSuite.Check/layer_m1_top10_class_spam_asymmetry); spec.h parses the file. A spec that cannot be
// read or has an unknown key or a wrong type becomes a single failing test whose message
// names the file and the JSON path ("robustness.json: baseline.accuracy_at_least:
// expected a number").
#ifndef SYNAPSE_GTEST_SUITE_H_
#define SYNAPSE_GTEST_SUITE_H_

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "synapse/gtest/fixture.h"
#include "synapse/robustness/assertion.h"
#include "synapse/robustness/config.h"
#include "synapse/robustness/spec.h"

namespace synapse::robustness {

/// One check of a suite spec: a test.
struct SuiteCheck {
  /// The test name: letters, digits and underscores.
  std::string name;
  Assertion assertion;
  Config config;
  /// Set when the spec could not be read: the check is the single failing invalid_spec.
  std::string error;
};

/// The checks of the spec at `path`. Never throws: a bad spec gives one invalid_spec check.
std::vector<SuiteCheck> LoadSuiteChecks(const std::string& path);

void PrintTo(const SuiteCheck& check, std::ostream* os);

namespace internal {

class SuiteTest : public RobustnessTest, public ::testing::WithParamInterface<SuiteCheck> {
 protected:
  SuiteTest() : RobustnessTest(GetParam().config) {}
  void SetUp() override;
  void RunCheck(const SuiteCheck& check);
};

std::string SuiteCheckName(const ::testing::TestParamInfo<SuiteCheck>& info);

}  // namespace internal
}  // namespace synapse::robustness

/// Instantiates the standard suite from the JSON spec at `config_path` as the
/// parameterized test `Name`.
#define SYNAPSE_ROBUSTNESS_SUITE(Name, config_path)                                                              \
  class Name : public ::synapse::robustness::internal::SuiteTest {};                                             \
  TEST_P(Name, Check) { RunCheck(GetParam()); }                                                                  \
  INSTANTIATE_TEST_SUITE_P(Spec, Name, ::testing::ValuesIn(::synapse::robustness::LoadSuiteChecks(config_path)), \
                           ::synapse::robustness::internal::SuiteCheckName)

#endif  // SYNAPSE_GTEST_SUITE_H_
