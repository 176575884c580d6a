// Intervals and tests against published and hand-computed values.
#include "synapse/stats.h"

#include <gtest/gtest.h>

#include <cmath>

namespace synapse {
namespace {

TEST(NormalQuantileTest, MatchesKnownValues) {
  EXPECT_NEAR(NormalQuantile(0.975), 1.959963984540054, 1e-12);
  EXPECT_NEAR(NormalQuantile(0.5), 0.0, 1e-15);
  EXPECT_NEAR(NormalQuantile(0.995), 2.5758293035489004, 1e-12);
  EXPECT_NEAR(NormalQuantile(0.001), -3.090232306167813, 1e-11);
  EXPECT_NEAR(NormalQuantile(1e-10), -6.361340902404056, 1e-9);
  EXPECT_TRUE(std::isnan(NormalQuantile(1.5)));
}

TEST(WilsonIntervalTest, MatchesNewcombesTable) {
  // Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I,
  // method 3 (score interval without continuity correction).
  struct Case {
    int64_t s, n;
    double low, high;
  };
  for (const Case& c : {Case{81, 263, 0.2553, 0.3662}, Case{15, 148, 0.0624, 0.1605}, Case{0, 20, 0.0, 0.1611},
                        Case{1, 29, 0.0061, 0.1718}}) {
    Interval ci = WilsonInterval(c.s, c.n);
    EXPECT_NEAR(ci.low, c.low, 1e-4) << c.s << "/" << c.n;
    EXPECT_NEAR(ci.high, c.high, 1e-4) << c.s << "/" << c.n;
  }
}

TEST(WilsonIntervalTest, WiderAtHigherConfidence) {
  Interval ci95 = WilsonInterval(3, 40), ci99 = WilsonInterval(3, 40, 0.99);
  EXPECT_LT(ci99.low, ci95.low);
  EXPECT_GT(ci99.high, ci95.high);
  EXPECT_NEAR(ci99.low, 0.01916, 1e-4);
  EXPECT_NEAR(ci99.high, 0.25177, 1e-4);
}

TEST(WilsonIntervalTest, EdgesStayInsideZeroOne) {
  Interval all = WilsonInterval(50, 50);
  EXPECT_EQ(all.high, 1.0);
  EXPECT_NEAR(all.low, 0.9287, 1e-4);
  Interval none = WilsonInterval(0, 50);
  EXPECT_EQ(none.low, 0.0);
  EXPECT_NEAR(none.high, 0.0713, 1e-4);
  Interval empty = WilsonInterval(0, 0);
  EXPECT_EQ(empty.low, 0.0);
  EXPECT_EQ(empty.high, 1.0);
}

TEST(WilsonIntervalTest, NarrowsWithMoreData) {
  Interval small = WilsonInterval(9, 10), large = WilsonInterval(900, 1000);
  EXPECT_LT(large.high - large.low, small.high - small.low);
  EXPECT_LT(small.low, 0.9);
  EXPECT_GT(small.high, 0.9);
}

// 45/100 against 30/100: pooled rate 0.375, z = 0.15 / 0.068465 = 2.191, two-sided p = 0.0285
// (the z-test as R's prop.test(correct = FALSE) computes it).
TEST(TwoProportionTest, PooledStandardErrorAndTwoSidedP) {
  EXPECT_NEAR(PooledStandardError(45, 100, 30, 100), 0.0684653, 1e-6);
  EXPECT_NEAR(TwoProportionP(45, 100, 30, 100), 0.0284597, 1e-6);
  EXPECT_DOUBLE_EQ(TwoProportionP(30, 100, 45, 100), TwoProportionP(45, 100, 30, 100));
  EXPECT_EQ(TwoProportionP(5, 10, 0, 0), 1.0);
  EXPECT_EQ(TwoProportionP(10, 10, 20, 20), 1.0);  // both all successes: no difference
  EXPECT_EQ(TwoProportionP(0, 10, 0, 20), 1.0);
}

TEST(McNemarExactPTest, IsTheTwoSidedBinomialTest) {
  // 2 · P(X ≤ 2), X ~ Bin(14, 1/2) = 2 · (1 + 14 + 91) / 2^14
  EXPECT_NEAR(McNemarExactP(12, 2), 212.0 / 16384.0, 1e-12);
  EXPECT_NEAR(McNemarExactP(2, 12), 212.0 / 16384.0, 1e-12);
  EXPECT_EQ(McNemarExactP(0, 0), 1.0);
  EXPECT_EQ(McNemarExactP(5, 5), 1.0);
  EXPECT_NEAR(McNemarExactP(1, 0), 1.0, 1e-12);
  // 2 · P(X = 0), X ~ Bin(10, 1/2)
  EXPECT_NEAR(McNemarExactP(10, 0), 2.0 / 1024.0, 1e-12);
  // Large counts stay finite (no overflow of the binomial coefficients).
  double p = McNemarExactP(900, 100);
  EXPECT_GT(p, 0.0);
  EXPECT_LT(p, 1e-140);
}

TEST(QuantileTest, InterpolatesLikeNumPy) {
  EXPECT_DOUBLE_EQ(Quantile({3, 1, 2}, 0.5), 2.0);
  EXPECT_DOUBLE_EQ(Quantile({1, 2, 3, 4}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(Quantile({1, 2, 3, 4}, 0.1), 1.3);  // numpy.quantile([1,2,3,4], 0.1)
  EXPECT_DOUBLE_EQ(Quantile({5}, 0.9), 5.0);
  EXPECT_DOUBLE_EQ(Quantile({1, 2}, 1.0), 2.0);
  EXPECT_TRUE(std::isnan(Quantile({}, 0.5)));
}

}  // namespace
}  // namespace synapse
