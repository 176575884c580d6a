// The betting confidence sequence (synapse/sequential.h) under optional stopping: simulated
// outcome streams sitting exactly at the threshold, read after every observation, must
// pass at most alpha of the time; a Wilson interval recomputed at each look does not.
#include "synapse/sequential.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <vector>

#include "synapse/stats.h"

namespace synapse {
namespace {

// Runs `runs` i.i.d. Bernoulli(p) streams of up to `max_n` observations against `t`, reading
// the test after every observation; the share of runs that ended kAbove.
double AboveRate(double p, double t, double alpha, int runs, int max_n, uint64_t seed, double* mean_n = nullptr) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution draw(p);
  int above = 0;
  double used = 0;
  for (int r = 0; r < runs; ++r) {
    SequentialTest test(SequentialOptions(t).alpha(alpha));
    for (int i = 0; i < max_n && test.decision() == SequentialDecision::kUndecided; ++i) test.Add(draw(rng));
    above += test.decision() == SequentialDecision::kAbove;
    used += static_cast<double>(test.n());
  }
  if (mean_n) *mean_n = used / runs;
  return static_cast<double>(above) / runs;
}

TEST(SequentialTestTest, FalsePassRateAtTheThresholdIsAtMostAlpha) {
  // 2,000 runs of up to 2,000 examples each, at the threshold: every pass is a false pass.
  for (double t : {0.5, 0.9, 0.98}) {
    for (double alpha : {0.05, 0.1}) {
      const double rate = AboveRate(t, t, alpha, 2000, 2000, 7 + static_cast<uint64_t>(t * 100));
      EXPECT_LE(rate, alpha) << "t = " << t << ", alpha = " << alpha;
      std::printf("false-pass rate at the threshold %.2f, alpha %.2f: %.4f (2000 runs)\n", t, alpha, rate);
    }
  }
}

TEST(SequentialTestTest, AWilsonIntervalRecomputedAtEachLookInflatesTheErrorRate) {
  // The same streams judged by the fixed-sample rule at looks 32, 64, ..., 2048: its false
  // pass rate exceeds alpha, which is why adaptive evaluation does not use it.
  std::mt19937_64 rng(11);
  const double t = 0.9, alpha = 0.05;
  std::bernoulli_distribution draw(t);
  int passed = 0;
  const int runs = 2000;
  for (int r = 0; r < runs; ++r) {
    int64_t s = 0, n = 0;
    for (int64_t look = 32; look <= 2048; look *= 2) {
      for (; n < look; ++n) s += draw(rng);
      // One-sided at 1 − alpha: the lower end of the two-sided 1 − 2·alpha interval.
      if (WilsonInterval(s, n, 1 - 2 * alpha).low >= t) {
        ++passed;
        break;
      }
    }
  }
  EXPECT_GT(static_cast<double>(passed) / runs, alpha);
  std::printf("Wilson recomputed at 7 looks: false-pass rate %.4f (2000 runs)\n", static_cast<double>(passed) / runs);
}

TEST(SequentialTestTest, DecidesClearCasesEarly) {
  double mean_n = 0;
  EXPECT_GE(AboveRate(0.96, 0.9, 0.05, 500, 5000, 3, &mean_n), 0.99);
  EXPECT_LT(mean_n, 400);
  // A rare-event rate far under its threshold (flip rate 0.2% against 2%).
  SequentialTest below_rate(SequentialOptions(0.02).alpha(0.05));
  std::mt19937_64 rng(5);
  std::bernoulli_distribution flip(0.002);
  while (below_rate.decision() == SequentialDecision::kUndecided && below_rate.n() < 5000) below_rate.Add(flip(rng));
  EXPECT_EQ(below_rate.decision(), SequentialDecision::kBelow);
  EXPECT_LT(below_rate.n(), 400);
}

TEST(SequentialTestTest, BoundsAgreeWithTheDecision) {
  std::mt19937_64 rng(9);
  std::bernoulli_distribution draw(0.95);
  SequentialTest test(SequentialOptions(0.9).alpha(0.05));
  while (test.decision() == SequentialDecision::kUndecided) test.Add(draw(rng));
  ASSERT_EQ(test.decision(), SequentialDecision::kAbove);
  EXPECT_GE(test.LowerBound(), 0.9 - 1e-9);
  EXPECT_GE(test.UpperBound(), test.mean());
  EXPECT_LT(test.LowerBound(), test.mean());
  EXPECT_GE(test.capital_above(), 20.0);
}

// The rule of an adaptive gate with a confidence c: the confidence sequence at (1 − c) / 2
// while examples remain, then, undecided after all N, the full run's test (the lower end of
// the two-sided Wilson interval at c, one-sided at (1 − c) / 2). At the threshold, passes
// stay under 1 − c.
TEST(SequentialTestTest, TheGatesRuleWithItsWholeSetFallbackStaysUnderAlpha) {
  const int64_t N = 887;
  const int runs = 2000;
  for (double t : {0.9, 0.95}) {
    std::mt19937_64 rng(17);
    std::bernoulli_distribution draw(t);
    const double alpha = 0.05;
    int passed = 0;
    for (int r = 0; r < runs; ++r) {
      SequentialTest test(SequentialOptions(t).alpha(alpha / 2));
      int64_t s = 0, n = 0;
      for (; n < N && test.decision() == SequentialDecision::kUndecided; ++n) {
        const bool x = draw(rng);
        s += x;
        test.Add(x);
      }
      if (test.decision() == SequentialDecision::kUndecided) {
        passed += WilsonInterval(s, n, 1 - alpha).low >= t;
      } else {
        passed += test.decision() == SequentialDecision::kAbove;
      }
    }
    EXPECT_LE(static_cast<double>(passed) / runs, alpha) << "t = " << t;
    std::printf("the gate's rule at the threshold %.2f (887 examples): false-pass rate %.4f (2000 runs)\n", t,
                static_cast<double>(passed) / runs);
  }
}

// Finite sets: a random order of N outcomes whose mean sits just under t (so "above" is
// wrong); early decisions wrong at most alpha of the time, and exact at the end.
TEST(SequentialTestTest, WithoutReplacementAgreesWithTheWholeSet) {
  const int64_t N = 887;
  const double t = 0.94, alpha = 0.05;
  const int64_t ones = static_cast<int64_t>(std::ceil(N * t)) - 1;  // mean just under t
  std::vector<double> set(N, 0.0);
  std::fill(set.begin(), set.begin() + ones, 1.0);
  std::mt19937_64 rng(13);
  int wrong = 0, early = 0;
  const int runs = 2000;
  for (int r = 0; r < runs; ++r) {
    std::shuffle(set.begin(), set.end(), rng);
    SequentialTest test(SequentialOptions(t).alpha(alpha).population(N));
    for (int64_t i = 0; i < N && test.decision() == SequentialDecision::kUndecided; ++i) test.Add(set[i]);
    ASSERT_NE(test.decision(), SequentialDecision::kUndecided) << "the whole set always decides";
    wrong += test.decision() == SequentialDecision::kAbove;
    early += test.n() < N;
  }
  EXPECT_LE(static_cast<double>(wrong) / runs, alpha);
  std::printf("without replacement, set mean just under 0.94: wrong early passes %.4f (2000 runs)\n",
              static_cast<double>(wrong) / runs);
  EXPECT_GT(early, 0);
  // A set well above the threshold stops early, and certainly once the rest cannot matter.
  std::vector<double> good(N, 1.0);
  std::fill(good.begin(), good.begin() + 30, 0.0);  // mean 0.966
  std::shuffle(good.begin(), good.end(), rng);
  SequentialTest test(SequentialOptions(0.9).alpha(alpha).population(N));
  for (int64_t i = 0; i < N && test.decision() == SequentialDecision::kUndecided; ++i) test.Add(good[i]);
  EXPECT_EQ(test.decision(), SequentialDecision::kAbove);
  EXPECT_LT(test.n(), N / 2);
}

TEST(SequentialTestTest, WithoutReplacementIsCertainWhenTheRestCannotMatter) {
  SequentialTest test(SequentialOptions(0.5).population(4).alpha(1e-9));
  test.Add(1);
  EXPECT_EQ(test.decision(), SequentialDecision::kUndecided);
  test.Add(1);  // 2 of 4 already: the mean is at least 0.5
  EXPECT_EQ(test.decision(), SequentialDecision::kAbove);
  EXPECT_TRUE(test.certain());
  SequentialTest low(SequentialOptions(0.75).population(4).alpha(1e-9));
  low.Add(0);
  low.Add(0);  // at most 2 of 4
  EXPECT_EQ(low.decision(), SequentialDecision::kBelow);
  EXPECT_TRUE(low.certain());
}

}  // namespace
}  // namespace synapse
