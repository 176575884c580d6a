// The statistics every robustness number carries: intervals and paired tests.
//
//   synapse::Interval ci = synapse::WilsonInterval(/*successes=*/87, /*n=*/100);  // [0.79, 0.92]
//   double p = synapse::McNemarExactP(/*lost=*/12, /*gained=*/2);                // 0.013
//   double q = synapse::Quantile({0.5, 0.1, 2.0}, 0.5);                         // 0.5
#ifndef SYNAPSE_STATS_H_
#define SYNAPSE_STATS_H_

#include <cstdint>
#include <vector>

namespace synapse {

/// A two-sided confidence interval [low, high].
struct Interval {
  double low = 0;
  double high = 0;
};

/// The standard normal quantile: z with Φ(z) = p, for p in (0, 1).
double NormalQuantile(double p);

/// The Wilson score interval of a proportion `successes / n` at `confidence` (e.g. 0.95).
/// n = 0 gives [0, 1].
Interval WilsonInterval(int64_t successes, int64_t n, double confidence = 0.95);

/// McNemar's exact test of paired outcomes: the two-sided binomial p-value of the
/// discordant pairs, `b` (right before, wrong after) against `c` (wrong before, right
/// after). 1 when there are none.
double McNemarExactP(int64_t b, int64_t c);

/// The standard error of the difference of two independent proportions s1/n1 and s2/n2
/// under the null of equal rates (the pooled estimate): √(p(1−p)(1/n1 + 1/n2)).
double PooledStandardError(int64_t s1, int64_t n1, int64_t s2, int64_t n2);

/// The two-proportion z-test's two-sided p-value of s1/n1 against s2/n2 (pooled standard
/// error). 1 when either n is 0; 0 or 1 when the pooled rate is 0 or 1.
double TwoProportionP(int64_t s1, int64_t n1, int64_t s2, int64_t n2);

/// The q-quantile (0 ≤ q ≤ 1) with linear interpolation between order statistics (NumPy's
/// default). NaN for an empty vector.
double Quantile(std::vector<double> values, double q);

}  // namespace synapse

#endif  // SYNAPSE_STATS_H_
