// The verdict logic behind every matcher, the suite and `synapse gate`
// (synapse/robustness/check.h), on outcomes built by hand: no model, no report, no LibTorch
// call. Expected bounds are computed here from the Wilson formula itself, so a change in
// how check.cpp reads an interval shows up as a failure, not as a new expectation.
#include "synapse/robustness/check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "synapse/stats.h"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace st = ::synapse::robustness;

// The Wilson score interval, written out (z for a two-sided interval at `confidence`).
synapse::Interval WilsonByHand(double successes, double n, double confidence) {
  const double z = synapse::NormalQuantile(0.5 + confidence / 2);
  const double p = successes / n, z2 = z * z;
  const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = z * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
  return {centre - half, centre + half};
}

st::Outcome TwoClassOutcome(int64_t correct, int64_t n) {
  st::Outcome o;
  o.query = "Ablate(TopK(10)).AtLayer(-1)";
  o.what = "zeroing the global top-10 neurons of layer 3";
  o.accuracy = {correct, n};
  o.baseline_accuracy = {n - 2, n};
  o.recall = {{"ham", {correct / 2, n / 2}}, {"spam", {correct - correct / 2, n - n / 2}}};
  o.baseline_recall = {{"ham", {n / 2, n / 2}}, {"spam", {n - n / 2 - 2, n - n / 2}}};
  o.flips = {n - 2 - correct > 0 ? n - 2 - correct : 0, n};
  return o;
}

st::Check CheckOf(st::Metric metric, double threshold, double confidence = 0) {
  st::Check c;
  c.metric = metric;
  c.threshold = threshold;
  c.confidence = confidence;
  return c;
}

TEST(CheckTest, WilsonMatchesTheFormula) {
  for (auto [k, n] : {std::pair<int64_t, int64_t>{87, 100}, {14, 14}, {0, 20}, {412, 500}}) {
    const synapse::Interval lib = synapse::WilsonInterval(k, n, 0.95);
    const synapse::Interval hand = WilsonByHand(static_cast<double>(k), static_cast<double>(n), 0.95);
    EXPECT_NEAR(lib.low, hand.low, 1e-12) << k << "/" << n;
    EXPECT_NEAR(lib.high, hand.high, 1e-12) << k << "/" << n;
  }
}

TEST(CheckTest, AccuracyPointEstimateAgainstThreshold) {
  const st::Outcome o = TwoClassOutcome(90, 100);
  EXPECT_TRUE(st::Evaluate(CheckOf(st::Metric::kAccuracy, 0.90), o).passed);
  const st::Verdict miss = st::Evaluate(CheckOf(st::Metric::kAccuracy, 0.91), o);
  EXPECT_FALSE(miss.passed);
  EXPECT_DOUBLE_EQ(miss.value, 0.90);
  EXPECT_DOUBLE_EQ(miss.tested, 0.90);
  EXPECT_EQ(miss.comparison, ">=");
  EXPECT_THAT(miss.explanation, HasSubstr("whose accuracy is 0.900"));
  EXPECT_THAT(miss.explanation, HasSubstr("on 100 examples after zeroing the global top-10 neurons of layer 3"));
  EXPECT_THAT(miss.explanation, HasSubstr("(baseline 0.980)"));
}

TEST(CheckTest, AccuracyWithConfidenceTestsTheLowerBound) {
  const st::Outcome o = TwoClassOutcome(90, 100);
  const synapse::Interval ci = WilsonByHand(90, 100, 0.95);
  // The point estimate clears 0.85, the lower bound (about 0.826) does not.
  const st::Verdict v = st::Evaluate(CheckOf(st::Metric::kAccuracy, 0.85, 0.95), o);
  EXPECT_NEAR(v.tested, ci.low, 1e-12);
  EXPECT_NEAR(v.low, ci.low, 1e-12);
  EXPECT_NEAR(v.high, ci.high, 1e-12);
  EXPECT_FALSE(v.passed);
  EXPECT_THAT(v.explanation, HasSubstr("the lower bound 0.826 misses 0.850"));
  EXPECT_TRUE(st::Evaluate(CheckOf(st::Metric::kAccuracy, 0.82, 0.95), o).passed);
}

TEST(CheckTest, AccuracyDropUsesTheUpperBoundOfTheDrop) {
  const st::Outcome o = TwoClassOutcome(90, 100);  // baseline 0.98: a drop of 0.08
  const st::Verdict point = st::Evaluate(CheckOf(st::Metric::kAccuracyDrop, 0.08), o);
  EXPECT_NEAR(point.value, 0.08, 1e-12);
  EXPECT_TRUE(point.passed);
  EXPECT_EQ(point.comparison, "<=");
  const st::Verdict bounded = st::Evaluate(CheckOf(st::Metric::kAccuracyDrop, 0.12, 0.95), o);
  EXPECT_NEAR(bounded.tested, 0.98 - WilsonByHand(90, 100, 0.95).low, 1e-12);  // about 0.154
  EXPECT_FALSE(bounded.passed);
  EXPECT_THAT(bounded.explanation, HasSubstr("whose accuracy dropped by 0.080"));
}

TEST(CheckTest, RecallOfAClassAndOfAMissingClass) {
  const st::Outcome o = TwoClassOutcome(90, 100);  // ham 45/50, spam 45/50
  const st::Check ham = [] {
    st::Check c = CheckOf(st::Metric::kRecall, 0.9);
    c.class_name = "ham";
    return c;
  }();
  const st::Verdict v = st::Evaluate(ham, o);
  EXPECT_TRUE(v.passed);
  EXPECT_EQ(v.metric, "recall[ham]");
  EXPECT_THAT(v.explanation, HasSubstr("whose recall of class \"ham\" is 0.900 (45/50)"));
  EXPECT_THAT(v.explanation, HasSubstr("(baseline 1.000)"));

  st::Check typo = ham;
  typo.class_name = "spma";
  const st::Verdict missing = st::Evaluate(typo, o);
  EXPECT_FALSE(missing.passed);
  EXPECT_TRUE(std::isnan(missing.value));
  EXPECT_THAT(missing.explanation, HasSubstr("which has no class \"spma\" (classes: ham spam)"));
}

TEST(CheckTest, FlipRateTestsTheUpperBound) {
  st::Outcome o = TwoClassOutcome(90, 100);
  o.flips = {3, 100};
  EXPECT_TRUE(st::Evaluate(CheckOf(st::Metric::kFlipRate, 0.03), o).passed);
  EXPECT_FALSE(st::Evaluate(CheckOf(st::Metric::kFlipRate, 0.029), o).passed);
  const st::Verdict bounded = st::Evaluate(CheckOf(st::Metric::kFlipRate, 0.05, 0.95), o);
  EXPECT_NEAR(bounded.tested, WilsonByHand(3, 100, 0.95).high, 1e-12);  // about 0.085
  EXPECT_FALSE(bounded.passed);
  EXPECT_THAT(bounded.explanation, HasSubstr("(3 of 100 labels changed)"));
  EXPECT_THAT(bounded.explanation, HasSubstr("the upper bound 0.085 misses 0.050"));
}

TEST(CheckTest, NoExamplesIsUndefinedAndFails) {
  st::Outcome o;
  o.accuracy = {0, 0};
  const st::Verdict v = st::Evaluate(CheckOf(st::Metric::kAccuracy, 0.5), o);
  EXPECT_FALSE(v.passed);
  EXPECT_TRUE(std::isnan(v.tested));
  EXPECT_THAT(v.explanation, HasSubstr("undefined (no examples)"));
}

TEST(CheckTest, LogitShiftCountsFlipsAtOrUnderTheBudget) {
  st::Outcome o = TwoClassOutcome(98, 100);
  o.flip_budget = {0.9, 0.04, 0.5, 0.05, 2.0};
  const st::Verdict flips = st::Evaluate(CheckOf(st::Metric::kNoLabelFlipsUnderShift, 0.05), o);
  EXPECT_FALSE(flips.passed);
  EXPECT_DOUBLE_EQ(flips.value, 2);  // 0.04 and 0.05: a flip at exactly the budget counts
  EXPECT_THAT(flips.explanation, HasSubstr("where 2 of 5 labels flip under a logit change of 0.050"));
  EXPECT_THAT(flips.explanation, HasSubstr("example 1 (needs 0.040), 3 (needs 0.050)"));

  const st::Verdict none = st::Evaluate(CheckOf(st::Metric::kNoLabelFlipsUnderShift, 0.03), o);
  EXPECT_TRUE(none.passed);
  EXPECT_THAT(none.explanation, HasSubstr("the most fragile example needs 0.040"));
}

TEST(CheckTest, MinFlipBudgetSingleAndShare) {
  st::Outcome o = TwoClassOutcome(98, 100);
  o.flip_budget = {0.9, 0.04, 0.5, 0.05, 2.0};
  const st::Verdict single = st::Evaluate(CheckOf(st::Metric::kMinFlipBudget, 0.04), o);
  EXPECT_TRUE(single.passed);
  EXPECT_DOUBLE_EQ(single.value, 0.04);
  EXPECT_THAT(single.explanation, HasSubstr("whose most fragile example (1)"));
  EXPECT_FALSE(st::Evaluate(CheckOf(st::Metric::kMinFlipBudget, 0.041), o).passed);

  st::Check share = CheckOf(st::Metric::kMinFlipBudget, 0.0);
  share.share = 0.4;  // 2 of 5 labels: the second smallest budget flips them
  const st::Verdict v = st::Evaluate(share, o);
  EXPECT_DOUBLE_EQ(v.value, 0.05);
  EXPECT_EQ(v.metric, "flip_budget[40%]");

  st::Outcome pooled = TwoClassOutcome(98, 100);  // no per-example budgets
  EXPECT_FALSE(st::Evaluate(CheckOf(st::Metric::kMinFlipBudget, 0.0), pooled).passed);
}

TEST(CheckTest, HurtsMoreThanRandomPairedAndUnpaired) {
  st::Outcome top = TwoClassOutcome(60, 100);
  top.correct.assign(100, 0.0);
  for (int i = 0; i < 60; ++i) top.correct[i] = 1.0;
  st::Outcome control = TwoClassOutcome(90, 100);
  control.what = "zeroing 10 random neurons";
  control.correct.assign(100, 0.0);
  for (int i = 0; i < 90; ++i) control.correct[i] = 1.0;
  top.random_control = [control] { return control; };

  const st::Verdict paired = st::Evaluate(CheckOf(st::Metric::kHurtsMoreThanRandom, 0), top);
  EXPECT_TRUE(paired.passed);
  EXPECT_NEAR(paired.value, 0.30, 1e-12);
  // Paired differences: 30 ones and 70 zeros; the one-sided bound at 95%.
  const double se = std::sqrt(0.3 * 0.7 * 100 / 99 / 100);
  EXPECT_NEAR(paired.low, 0.30 - synapse::NormalQuantile(0.95) * se, 1e-9);
  EXPECT_THAT(paired.explanation, HasSubstr("paired one-sided"));
  EXPECT_THAT(paired.explanation, HasSubstr(", significant"));

  st::Outcome same = top;
  same.random_control = [top] {
    st::Outcome c = top;
    c.random_control = nullptr;
    return c;
  };
  const st::Verdict tie = st::Evaluate(CheckOf(st::Metric::kHurtsMoreThanRandom, 0), same);
  EXPECT_FALSE(tie.passed);
  EXPECT_THAT(tie.explanation, HasSubstr("not significant"));

  st::Outcome unpaired = TwoClassOutcome(60, 100);
  unpaired.random_control = [] { return TwoClassOutcome(90, 100); };
  const st::Verdict two = st::Evaluate(CheckOf(st::Metric::kHurtsMoreThanRandom, 0), unpaired);
  EXPECT_TRUE(two.passed);
  EXPECT_THAT(two.explanation, HasSubstr("two-proportion"));

  st::Outcome alone = TwoClassOutcome(60, 100);
  const st::Verdict none = st::Evaluate(CheckOf(st::Metric::kHurtsMoreThanRandom, 0), alone);
  EXPECT_FALSE(none.passed);
  EXPECT_THAT(none.explanation, HasSubstr("which has no random control"));
}

TEST(CheckTest, ClassAsymmetryWithAndWithoutATargetClass) {
  st::Outcome o;
  o.what = "zeroing the top-10 neurons of class spam";
  o.accuracy = {70, 100};
  o.baseline_accuracy = {96, 100};
  o.recall = {{"ham", {48, 50}}, {"spam", {22, 50}}};
  o.baseline_recall = {{"ham", {49, 50}}, {"spam", {47, 50}}};
  // Untargeted: spam drops 0.50, ham 0.02: an asymmetry of 0.48.
  const st::Verdict v = st::Evaluate(CheckOf(st::Metric::kClassAsymmetry, 0.5), o);
  EXPECT_NEAR(v.value, 0.48, 1e-12);
  EXPECT_TRUE(v.passed);
  EXPECT_THAT(v.explanation, HasSubstr("class spam's recall drops most (0.500)"));
  EXPECT_FALSE(st::Evaluate(CheckOf(st::Metric::kClassAsymmetry, 0.4), o).passed);

  o.target_class = "spam";
  const st::Verdict targeted = st::Evaluate(CheckOf(st::Metric::kClassAsymmetry, 0.5), o);
  EXPECT_NEAR(targeted.value, 0.48, 1e-12);
  EXPECT_THAT(targeted.explanation, HasSubstr("where class spam's recall drops by 0.500"));

  o.recall.erase("ham");
  EXPECT_FALSE(st::Evaluate(CheckOf(st::Metric::kClassAsymmetry, 1), o).passed);
}

TEST(CheckTest, KnownWeaknessHoldsWhenTheCheckFails) {
  st::Verdict v;
  v.passed = false;
  v.known_weakness = true;
  EXPECT_TRUE(st::Holds(v));
  v.passed = true;
  EXPECT_FALSE(st::Holds(v));
  v.known_weakness = false;
  EXPECT_TRUE(st::Holds(v));
}

TEST(CheckTest, DescribeReadsAsARequirement) {
  EXPECT_THAT(st::Describe(CheckOf(st::Metric::kAccuracy, 0.9)), HasSubstr("accuracy at least 0.900"));
  EXPECT_THAT(st::Describe(CheckOf(st::Metric::kAccuracy, 0.9, 0.95)), HasSubstr("with 95% confidence"));
  EXPECT_THAT(st::Describe(CheckOf(st::Metric::kAccuracy, 0.9), /*negated=*/true), HasSubstr("doesn't have"));
  EXPECT_THAT(st::Describe(CheckOf(st::Metric::kFlipRate, 0.05)), Not(HasSubstr("confidence")));
}

TEST(CheckTest, MetricNamesRoundTrip) {
  for (st::Metric m : {st::Metric::kAccuracy, st::Metric::kAccuracyDrop, st::Metric::kRecall, st::Metric::kFlipRate,
                       st::Metric::kNoLabelFlipsUnderShift, st::Metric::kMinFlipBudget, st::Metric::kProbeAccuracy,
                       st::Metric::kHurtsMoreThanRandom, st::Metric::kClassAsymmetry}) {
    st::Metric parsed;
    ASSERT_TRUE(st::ParseMetric(st::MetricName(m), &parsed)) << st::MetricName(m);
    EXPECT_EQ(parsed, m);
  }
  st::Metric unused;
  EXPECT_FALSE(st::ParseMetric("acuracy", &unused));
}

TEST(CheckTest, VerdictJsonHasNullForUndefinedNumbers) {
  st::Outcome o;
  o.accuracy = {0, 0};
  const nlohmann::ordered_json j = st::VerdictJson(st::Evaluate(CheckOf(st::Metric::kAccuracy, 0.5), o));
  EXPECT_TRUE(j["value"].is_null());
  EXPECT_EQ(j["verdict"], "no match");
  const nlohmann::ordered_json ok =
      st::VerdictJson(st::Evaluate(CheckOf(st::Metric::kAccuracy, 0.5), TwoClassOutcome(90, 100)));
  EXPECT_EQ(ok["verdict"], "match");
  EXPECT_DOUBLE_EQ(ok["value"].get<double>(), 0.9);
}

}  // namespace
