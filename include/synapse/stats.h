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

/// The q-quantile (0 ≤ q ≤ 1) with linear interpolation between order statistics (NumPy's
/// default). NaN for an empty vector.
double Quantile(std::vector<double> values, double q);

}  // namespace synapse

#endif  // SYNAPSE_STATS_H_
