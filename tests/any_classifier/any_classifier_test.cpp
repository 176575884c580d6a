// Robustness tests that hold for any ham/spam classifier with two or more layers, for the
// model SYNAPSE_MODEL names (a model directory: its tokenizer, labels and eval.jsonl).
// Every threshold is one any value meets (a recall drop lies in [-1, 1], so an asymmetry
// of two classes' drops in [0, 2]): pt2_families_test.py runs this binary on a
// family's TorchScript export and on its .pt2 package and compares the values the two
// report (junit/report.json), so the GoogleTest fixture and the JSON suite are checked
// on packages, query by query.
#include <synapse/testing.h>

using namespace synapse::robustness;  // NOLINT: the vocabulary of the tests
using ::testing::Ge;

class AnyClassifier : public RobustnessTest {
 protected:
  AnyClassifier() : RobustnessTest(Config().seed(0)) {}
};

TEST_F(AnyClassifier, Baseline) { EXPECT_THAT(Baseline(), AccuracyAtLeast(0.0)); }

TEST_F(AnyClassifier, SpamRecall) { EXPECT_THAT(Baseline(), ClassRecallAtLeast("spam", 0.0).WithConfidence(0.95)); }

TEST_F(AnyClassifier, TopSpamNeuronsOfTheLastLayer) {
  EXPECT_THAT(Ablate(TopK(4).OfClass("spam")).AtLayer(-1), FlipRateAtMost(1.0));
}

TEST_F(AnyClassifier, PooledTokenOfTheFirstLayer) {
  EXPECT_THAT(Ablate(TopK(4)).AtLayer(0).PooledOnly(), AccuracyDropAtMost(1.0));
}

TEST_F(AnyClassifier, RandomNeuronsOfTheFirstLayer) {
  EXPECT_THAT(Ablate(RandomK(4).Seeds(2)).AtLayer(0), Accuracy(Ge(0.0)));
}

TEST_F(AnyClassifier, MeanAblation) { EXPECT_THAT(Ablate(BottomK(4)).AtLayer(-1).ToMean(), FlipRateAtMost(1.0)); }

TEST_F(AnyClassifier, ActivationNoise) { EXPECT_THAT(Noise(0.5).AtLayer(0), FlipRateAtMost(1.0)); }

TEST_F(AnyClassifier, WorstLogitShift) { EXPECT_THAT(LogitShift(0.5), AccuracyAtLeast(0.0)); }

TEST_F(AnyClassifier, FlipBudget) { EXPECT_THAT(Baseline(), MinFlipBudgetAtLeast(0.0).ForShare(0.5)); }

TEST_F(AnyClassifier, HeadWeights) { EXPECT_THAT(HeadWeightScale("spam", TopK(4), 2.0), FlipRateAtMost(1.0)); }

TEST_F(AnyClassifier, Probe) { EXPECT_THAT(Probe(1), ProbeAccuracyAtLeast(0.0)); }

TEST_F(AnyClassifier, Asymmetry) { EXPECT_THAT(Ablate(TopK(4)).AtLayer(-1), ClassAsymmetryAtMost(2.0)); }

SYNAPSE_ROBUSTNESS_SUITE(AnyClassifierSuite, ANY_CLASSIFIER_SPEC);
