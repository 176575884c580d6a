// Robustness requirements of the spam filter (models/spam-tiny: a 4-layer BERT-style
// encoder, ham / hard_ham / spam, 887 held-out messages of the SpamAssassin corpus).
//
// Each TEST_F states one requirement. The thresholds come from what a mail team would
// need, not from what the model happens to score: where the model misses one, the test
// says so with EXPECT_KNOWN_WEAKNESS (it passes while the weakness is there, and fails
// with "the known weakness is gone" once a better model meets the requirement), never by
// loosening the threshold until it is green.
//
// Run: spam_filter_robustness --synapse_report_dir=reports   (junit.xml, report.json,
// report.html). Another model: --synapse_model=DIR or SYNAPSE_MODEL=DIR.
#include <synapse/testing.h>

using namespace synapse::robustness;  // NOLINT: the vocabulary of the tests
using ::testing::Ge;

class SpamFilter : public RobustnessTest {
 protected:
  SpamFilter() : RobustnessTest(Config().model(SPAM_TINY_DIR).seed(0)) {}
};

// --- What the model must do untouched.

TEST_F(SpamFilter, ClassifiesMostMailCorrectly) { EXPECT_THAT(Baseline(), AccuracyAtLeast(0.94).WithConfidence(0.95)); }

TEST_F(SpamFilter, CatchesSpam) { EXPECT_THAT(Baseline(), ClassRecallAtLeast("spam", 0.95).WithConfidence(0.95)); }

TEST_F(SpamFilter, DeliversOrdinaryMail) {
  EXPECT_THAT(Baseline(), ClassRecallAtLeast("ham", 0.95).WithConfidence(0.95));
}

// Known weakness: hard ham (legitimate mail that looks commercial: newsletters, offers)
// is the class a mail team cares about most, and the model delivers only about half of
// it; 12 of its 37 test messages go to spam.
TEST_F(SpamFilter, DeliversHardHam) { EXPECT_KNOWN_WEAKNESS(Baseline(), ClassRecallAtLeast("hard_ham", 0.8)); }

// --- Neuron ablations: losing part of a layer must not break it.

TEST_F(SpamFilter, KeepsCatchingSpamWithoutItsTopTenSpamNeurons) {
  EXPECT_THAT(Ablate(TopK(10).OfClass("spam")).AtLayer(-1), ClassRecallAtLeast("spam", 0.95).WithConfidence(0.95));
}

TEST_F(SpamFilter, LastLayerSurvivesLosingHalfItsMostImportantNeurons) {
  EXPECT_THAT(Ablate(TopK(64)).AtLayer(-1), AccuracyDropAtMost(0.01));
}

TEST_F(SpamFilter, ClsTokenOfLayerTwoIsNotASinglePointOfFailure) {
  EXPECT_THAT(Ablate(TopK(20).Global()).AtLayer(2).PooledOnly(), FlipRateAtMost(0.02).WithConfidence(0.95));
}

TEST_F(SpamFilter, RandomNeuronLossIsHarmless) {
  EXPECT_THAT(Ablate(RandomK(20).Seeds(5)).AtLayer(-1), Accuracy(Ge(0.95)));
}

// Known weakness: ablating half of layer 0's [CLS] neurons costs hard_ham a quarter of its
// recall while ham and spam do not move; the classes are hurt very unevenly.
TEST_F(SpamFilter, FirstLayerAblationHurtsClassesEvenly) {
  EXPECT_KNOWN_WEAKNESS(Ablate(TopK(64)).AtLayer(0), ClassAsymmetryAtMost(0.1));
}

// Known weakness: the probe's ranking does not find neurons the model relies on more than
// any others; its top-64 of layer 0 hurt no more than 64 random ones. SYNAPSE's rankings
// explain this model poorly (it is very redundant), so ablation-based guarantees must not
// lean on them.
TEST_F(SpamFilter, ProbeRankingFindsNeuronsThatMatter) {
  EXPECT_KNOWN_WEAKNESS(Ablate(TopK(64)).AtLayer(0), HurtsMoreThanRandom());
}

// --- Noise and logit space.

TEST_F(SpamFilter, ToleratesActivationNoise) {
  EXPECT_THAT(Noise(0.5).AtLayer(3), FlipRateAtMost(0.01).WithConfidence(0.95));
}

TEST_F(SpamFilter, NoTinyLogitShiftFlipsALabel) { EXPECT_THAT(Baseline(), NoLabelFlipsUnderLogitShift(0.05)); }

TEST_F(SpamFilter, OnePercentOfLabelsNeedsAHalfLogitShift) {
  EXPECT_THAT(Baseline(), MinFlipBudgetAtLeast(0.5).ForShare(0.01));
}

TEST_F(SpamFilter, StaysAccurateUnderTheWorstHalfLogitShift) { EXPECT_THAT(LogitShift(0.5), AccuracyAtLeast(0.94)); }

// --- Weights and representations.

TEST_F(SpamFilter, DoublingSpamHeadWeightsFlipsNothing) {
  EXPECT_THAT(HeadWeightScale("spam", TopK(10), 2.0), FlipRateAtMost(0.01).WithConfidence(0.95));
}

TEST_F(SpamFilter, MiddleLayersEncodeTheClass) {
  EXPECT_THAT(Probe(1), ProbeAccuracyAtLeast(0.9).WithConfidence(0.95));
}

// --- The standard suite, from a JSON spec (docs/robustness-tests.md).

SYNAPSE_ROBUSTNESS_SUITE(SpamFilterSuite, SPAM_FILTER_SPEC);
