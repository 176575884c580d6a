// Robustness requirements of a sentiment classifier for product reviews (built here: a
// 2-layer RoBERTa-shaped encoder, hidden 64, with a byte-level BPE tokenizer.json, trained
// by PyTorch on 700 of the 1,000 Amazon review sentences of the UCI "Sentiment Labelled
// Sentences"; 300 held out, 150 positive and 150 negative). The text of every test goes
// through tokenizer.json with Synapse's BPE tokenizer; RoBERTa pads with id 1.
//
// A model this small, trained from scratch on 700 sentences, is weak: about 0.71 accuracy.
// The thresholds below are what a team would ask of such a first model (clearly better
// than chance, robust to losing a few neurons); what a product would need and the model
// misses is stated with EXPECT_KNOWN_WEAKNESS (it passes while the weakness is there, and
// fails with "the known weakness is gone" once a better model meets the requirement).
// The figures quoted below are the default seed's: what the model learns differs with
// SYNAPSE_FIXTURE_SEED and from one CPU to the next, so on another build a requirement may
// fail or a weakness be gone. `make test` (tests/scripts/run_review_sentiment.sh) checks
// that every verdict is what the measurements say, not that the model meets the bar.
//
// Run: review_sentiment_robustness --synapse_report_dir=reports   (junit.xml, report.json,
// report.html). Another model: --synapse_model=DIR or SYNAPSE_MODEL=DIR.
#include <synapse/testing.h>

using namespace synapse::robustness;  // NOLINT: the vocabulary of the tests

class ReviewSentiment : public RobustnessTest {
 protected:
  ReviewSentiment() : RobustnessTest(Config().model(REVIEW_SENTIMENT_MODEL_DIR).pad_id(1).seed(0)) {}
};

// --- What the model must do untouched.

TEST_F(ReviewSentiment, BeatsChanceClearly) { EXPECT_THAT(Baseline(), AccuracyAtLeast(0.6).WithConfidence(0.95)); }

TEST_F(ReviewSentiment, FindsPositiveReviews) { EXPECT_THAT(Baseline(), ClassRecallAtLeast("positive", 0.6)); }

TEST_F(ReviewSentiment, FindsNegativeReviews) { EXPECT_THAT(Baseline(), ClassRecallAtLeast("negative", 0.65)); }

// Known weakness: a review dashboard needs 0.85; the model gets about 0.71 (a bag of words
// does better on this data: 700 sentences are too few to train a Transformer from scratch).
TEST_F(ReviewSentiment, ClassifiesMostReviewsCorrectly) { EXPECT_KNOWN_WEAKNESS(Baseline(), AccuracyAtLeast(0.85)); }

// --- Neuron ablations.

TEST_F(ReviewSentiment, LastLayerSurvivesLosingItsTopSixteenNeurons) {
  EXPECT_THAT(Ablate(TopK(16)).AtLayer(-1), AccuracyDropAtMost(0.03));
  EXPECT_THAT(Ablate(TopK(16)).AtLayer(-1), FlipRateAtMost(0.05).WithConfidence(0.95));
}

TEST_F(ReviewSentiment, KeepsFindingPositiveReviewsWithoutItsTopEightPositiveNeurons) {
  EXPECT_THAT(Ablate(TopK(8).OfClass("positive")).AtLayer(-1), ClassRecallAtLeast("positive", 0.6));
}

TEST_F(ReviewSentiment, LastLayerAblationHurtsClassesEvenly) {
  EXPECT_THAT(Ablate(TopK(16)).AtLayer(-1), ClassAsymmetryAtMost(0.1));
}

TEST_F(ReviewSentiment, RandomNeuronLossIsHarmless) {
  EXPECT_THAT(Ablate(RandomK(16).Seeds(5)).AtLayer(-1), AccuracyDropAtMost(0.03));
}

// Known weakness: the probe's top-16 of the last layer hurt no more than 16 random neurons
// (the model is redundant there), so guarantees must not lean on that ranking.
TEST_F(ReviewSentiment, ProbeRankingFindsNeuronsThatMatter) {
  EXPECT_KNOWN_WEAKNESS(Ablate(TopK(16)).AtLayer(-1), HurtsMoreThanRandom());
}

// Known weakness: the <s> token of layer 0 is fragile: zeroing its top-20 of 64 neurons
// there changes about 9% of the labels.
TEST_F(ReviewSentiment, StartTokenOfLayerZeroIsNotASinglePointOfFailure) {
  EXPECT_KNOWN_WEAKNESS(Ablate(TopK(20).Global()).AtLayer(0).PooledOnly(), FlipRateAtMost(0.02));
}

// --- Noise, logit space and head weights.

TEST_F(ReviewSentiment, ToleratesActivationNoise) {
  EXPECT_THAT(Noise(0.5).AtLayer(-1), FlipRateAtMost(0.08).WithConfidence(0.95));
}

// Known weakness: many held-out sentences sit on the decision boundary; a logit change of
// 0.05 flips several of them.
TEST_F(ReviewSentiment, NoTinyLogitShiftFlipsALabel) {
  EXPECT_KNOWN_WEAKNESS(Baseline(), NoLabelFlipsUnderLogitShift(0.05));
}

TEST_F(ReviewSentiment, TenPercentOfLabelsNeedsATenthOfALogit) {
  EXPECT_THAT(Baseline(), MinFlipBudgetAtLeast(0.1).ForShare(0.1));
}

TEST_F(ReviewSentiment, StaysAboveChanceUnderTheWorstHalfLogitShift) {
  EXPECT_THAT(LogitShift(0.5), AccuracyAtLeast(0.55));
}

TEST_F(ReviewSentiment, DoublingPositiveHeadWeightsFlipsFewLabels) {
  EXPECT_THAT(HeadWeightScale("positive", TopK(10), 2.0), FlipRateAtMost(0.05).WithConfidence(0.95));
}

TEST_F(ReviewSentiment, LastLayerEncodesTheSentiment) { EXPECT_THAT(Probe(1), ProbeAccuracyAtLeast(0.6)); }
