// Robustness tests that fail on purpose (and one that is skipped), run by
// tests/scripts/run_example.sh to check what the reporters write for failures and under
// sharding. Not a test of the model: the thresholds are set to be missed.
#include <synapse/testing.h>

using namespace synapse::robustness;  // NOLINT

class Failing : public RobustnessTest {
 protected:
  Failing() : RobustnessTest(Config().model(std::string(SYNAPSE_SOURCE_DIR) + "/models/spam-tiny").max_examples(200)) {}
};

TEST_F(Failing, AccuracyAboveWhatTheModelScores) { EXPECT_THAT(Baseline(), AccuracyAtLeast(0.999)); }

TEST_F(Failing, HardHamRecallWithConfidence) {
  EXPECT_THAT(Baseline(), ClassRecallAtLeast("hard_ham", 0.9).WithConfidence(0.95));
}

TEST_F(Failing, PassesToo) { EXPECT_THAT(Baseline(), AccuracyAtLeast(0.5)); }

TEST_F(Failing, Skipped) { GTEST_SKIP() << "skipped on purpose"; }

class Unloadable : public RobustnessTest {
 protected:
  Unloadable() : RobustnessTest(Config().model("/nonexistent/model-dir")) {}
};

TEST_F(Unloadable, FailsWithTheLoadError) { EXPECT_THAT(Baseline(), AccuracyAtLeast(0.5)); }
