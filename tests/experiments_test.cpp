// Scoring, flip budgets and k grids: the arithmetic under every analysis number.
#include "synapse/experiments.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "synapse/analysis.h"
#include "synapse/error.h"
#include "test_util.h"

namespace synapse {
namespace {

using ::testing::ElementsAre;

TEST(ScoreTest, CountsAccuracyRecallFlipsAndDiscordantPairs) {
  //                       examples: 0  1  2  3  4  5  6  7
  const std::vector<int64_t> labels = {0, 0, 0, 1, 1, 2, 2, 2};
  const std::vector<int64_t> base = {0, 0, 1, 1, 1, 2, 2, 0};  // 6 right
  const std::vector<int64_t> now = {0, 1, 0, 1, 0, 2, 1, 0};   // 4 right
  Metrics m = Score(now, labels, base, 3);
  EXPECT_EQ(m.n, 8);
  EXPECT_EQ(m.correct, 4);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.5);
  EXPECT_THAT(m.support, ElementsAre(3, 2, 3));
  EXPECT_DOUBLE_EQ(m.recall[0], 2.0 / 3);  // examples 0 and 2
  EXPECT_DOUBLE_EQ(m.recall[1], 0.5);
  EXPECT_DOUBLE_EQ(m.recall[2], 1.0 / 3);
  EXPECT_EQ(m.flips, 4);  // examples 1, 2, 4, 6
  EXPECT_DOUBLE_EQ(m.flip_rate, 0.5);
  EXPECT_EQ(m.lost, 3);    // 1, 4, 6: right before, wrong now
  EXPECT_EQ(m.gained, 1);  // 2: wrong before, right now
  EXPECT_NEAR(m.mcnemar_p, McNemarExactP(3, 1), 1e-15);
  EXPECT_LT(m.accuracy_ci.low, 0.5);
  EXPECT_GT(m.accuracy_ci.high, 0.5);
}

TEST(ScoreTest, AgainstItselfNothingFlips) {
  const std::vector<int64_t> labels = {0, 1, 1, 0}, base = {0, 1, 0, 0};
  Metrics m = Score(base, labels, base, 2);
  EXPECT_EQ(m.flips, 0);
  EXPECT_EQ(m.lost + m.gained, 0);
  EXPECT_EQ(m.mcnemar_p, 1.0);
}

TEST(ScoreTest, UnlabelledExamplesCountOnlyForFlips) {
  Metrics m = Score({1, 1}, {-1, 1}, {0, 1}, 2);
  EXPECT_EQ(m.n, 1);
  EXPECT_EQ(m.flips, 1);
  EXPECT_TRUE(std::isnan(m.recall[0]));
}

TEST(ScoreTest, MismatchedSizesAreAnError) {
  test::ExpectError<DataError>([] { Score({0, 1}, {0}, {0, 1}, 2); }, 209, "2 predictions, 1 labels");
  test::ExpectError<DataError>([] { Score({0}, {5}, {0}, 2); }, 209, "label 5 of example 0");
}

TEST(FlipBudgetsTest, HalfTheGapToEachClass) {
  Eigen::MatrixXf logits(2, 3);
  logits << 3, 1, 0,  //
      -1, 2, 1.5;
  FlipBudgets b = ComputeFlipBudgets(logits);
  EXPECT_DOUBLE_EQ(b.min_flip(0), 1.0);   // (3 - 1) / 2
  EXPECT_DOUBLE_EQ(b.min_flip(1), 0.25);  // (2 - 1.5) / 2
  EXPECT_DOUBLE_EQ(b.to_class(0, 2), 1.5);
  EXPECT_DOUBLE_EQ(b.to_class(1, 0), 1.5);
  EXPECT_DOUBLE_EQ(b.to_class(1, 1), 0.0);
}

TEST(ResolveKTest, IntegersAndPercentagesOfTheWidth) {
  std::vector<KValue> k = ResolveK("1,2,5,10,20,50,10%,25%,50%", 32);
  std::vector<int64_t> values;
  for (const KValue& v : k) values.push_back(v.k);
  // 10% of 32 → 3, 25% → 8, 50% → 16; 50 > 32 is dropped.
  EXPECT_THAT(values, ElementsAre(1, 2, 3, 5, 8, 10, 16, 20));
  EXPECT_EQ(k[2].spec, "10%");
  // Entries that land on the same k are merged, and tiny percentages give at least 1.
  std::vector<KValue> merged = ResolveK("10,31.25%,1%", 32);
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0].k, 1);
  EXPECT_EQ(merged[1].spec, "10,31.25%");
}

TEST(ResolveKTest, BadEntriesNameThemselves) {
  test::ExpectError<SpecError>([] { ResolveK("5,x", 32); }, 310, "k: \"x\" is not a positive integer");
  test::ExpectError<SpecError>([] { ResolveK("0", 32); }, 310, "k: \"0\"");
  test::ExpectError<SpecError>([] { ResolveK("2.5", 32); }, 310, "k: \"2.5\"");
  test::ExpectError<SpecError>([] { ResolveK("150%", 32); }, 310, "k: \"150%\"");
  test::ExpectError<SpecError>([] { ResolveK("5,,6", 32); }, 310, "empty entry");
}

}  // namespace
}  // namespace synapse
