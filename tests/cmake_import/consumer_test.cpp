// A robustness test in a project of its own, built against the installed synapse::gtest:
// the default model's baseline, read from the report in $SYNAPSE_REPORT.
#include <synapse/testing.h>

#include <cstdlib>
#include <fstream>

using namespace synapse::robustness;

TEST(InstalledMatchers, DefaultModelBaselineFromItsReport) {
  const char* path = std::getenv("SYNAPSE_REPORT");
  ASSERT_NE(path, nullptr) << "set SYNAPSE_REPORT to a report.json";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  const Outcome baseline = BaselineOutcome(nlohmann::json::parse(in));
  EXPECT_THAT(baseline, AccuracyAtLeast(0.95));
  EXPECT_THAT(baseline, ClassRecallAtLeast("spam", 0.95).WithConfidence(0.95));
  EXPECT_THAT(baseline, ::testing::Not(ClassRecallAtLeast("hard_ham", 0.9)));
}
