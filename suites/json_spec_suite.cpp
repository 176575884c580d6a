#include "gtest/recorder.h"
#include "synapse/gtest/matchers.h"
#include "synapse/gtest/suite.h"

namespace synapse::robustness {

std::vector<SuiteCheck> LoadSuiteChecks(const std::string& path) {
  try {
    const Spec spec = LoadSuiteSpec(path);
    std::vector<SuiteCheck> checks;
    for (const Assertion& a : spec.assertions) checks.push_back({a.name, a, spec.config, ""});
    return checks;
  } catch (const std::exception& e) {
    SuiteCheck bad;
    bad.name = "invalid_spec";
    bad.error = e.what();
    return {bad};
  }
}

void PrintTo(const SuiteCheck& check, std::ostream* os) { *os << check.name; }

namespace internal {

std::string SuiteCheckName(const ::testing::TestParamInfo<SuiteCheck>& info) { return info.param.name; }

void SuiteTest::SetUp() {
  if (!GetParam().error.empty()) GTEST_FAIL() << GetParam().error;
  RobustnessTest::SetUp();
}

void SuiteTest::RunCheck(const SuiteCheck& c) {
  const Verdict v = RunAssertion(model(), c.assertion);
  RecordVerdict(v);
  if (!Holds(v)) {
    ADD_FAILURE() << "Value of: " << v.query << "\nExpected: " << v.requirement << "\n  Actual: " << v.explanation;
  }
}

}  // namespace internal
}  // namespace synapse::robustness
