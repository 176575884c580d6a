// Robustness tests on the installed default model, registered one process per test
// (gtest_discover_tests, synapse_discover_tests) and run by run.sh with ctest -j2: the
// joined junit.xml must hold every test.
#include <synapse/testing.h>

using namespace synapse::robustness;  // NOLINT: how users write it

class Discovered : public RobustnessTest {
 protected:
  Discovered() : RobustnessTest(Config().model(SPAM_TINY_DIR).max_examples(60)) {}
};

TEST_F(Discovered, Baseline) { EXPECT_THAT(Baseline(), AccuracyAtLeast(0.5)); }
TEST_F(Discovered, TopFiveAblation) { EXPECT_THAT(Ablate(TopK(5)).AtLayer(-1), FlipRateAtMost(0.5)); }
TEST_F(Discovered, Noise) { EXPECT_THAT(Noise(0.1).AtLayer(0), AccuracyDropAtMost(0.5)); }
TEST_F(Discovered, LogitShift) { EXPECT_THAT(LogitShift(0.001), FlipRateAtMost(0.5)); }
