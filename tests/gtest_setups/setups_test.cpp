// Robustness tests as a team writes them in its own GoogleTest setup: linked with
// synapse::gtest and either GoogleTest's gtest_main or a main() of its own (own_main.cpp),
// never synapse::gtest_main. tests/scripts/gtest_setups_test.py runs them and checks that
// the --synapse_* flags and SYNAPSE_* environment work, an unknown flag fails, the reports
// are written, one process per test (gtest_discover_tests) keeps every test, and a JUnit
// reader sees the failed assertion's explanation as its message.
//
// Two of the tests fail on purpose; the script selects them with --gtest_filter.
#include <synapse/testing.h>

#include <string>

using namespace synapse::robustness;  // NOLINT: how users write it

class Setup : public RobustnessTest {
 protected:
  // A small sample keeps each process (one per test in the script) to about a second.
  Setup() : RobustnessTest(Config().model(std::string(SYNAPSE_SOURCE_DIR) + "/models/spam-tiny").max_examples(120)) {}
};

TEST_F(Setup, BaselineAccuracy) { EXPECT_THAT(Baseline(), AccuracyAtLeast(0.5)); }

TEST_F(Setup, LastLayerTopFiveAblation) { EXPECT_THAT(Ablate(TopK(5)).AtLayer(-1), FlipRateAtMost(0.5)); }

TEST_F(Setup, FirstLayerNoise) { EXPECT_THAT(Noise(0.1).AtLayer(0), AccuracyDropAtMost(0.5)); }

TEST_F(Setup, LogitShift) { EXPECT_THAT(LogitShift(0.001), FlipRateAtMost(0.5)); }

// Fails: hard_ham's recall is about 0.5.
TEST_F(Setup, FailingHardHamRecall) {
  EXPECT_THAT(Baseline(), ClassRecallAtLeast("hard_ham", 0.9).WithConfidence(0.95));
}

// Fails with a plain GoogleTest assertion: no Synapse explanation to show.
TEST_F(Setup, FailingPlainAssertion) { EXPECT_EQ(Baseline().outcome().accuracy.n, 7) << "seven examples"; }
