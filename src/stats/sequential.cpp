#include "synapse/sequential.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace synapse {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The bets' running mean and variance after the n-th observation x (sum: of all n), from
// WSR's pseudo-observation (1/2, 1/4): predictable for the next bet.
void UpdateEstimates(double x, double n, double sum, double* mu_hat, double* var_hat) {
  *var_hat = (*var_hat * n + (x - *mu_hat) * (x - *mu_hat)) / (n + 1);
  *mu_hat = (0.5 + sum) / (n + 1);
}

}  // namespace

SequentialTest::SequentialTest(const SequentialOptions& options) : options_(options) {}

double SequentialTest::mean() const { return values_.empty() ? NAN : sum_ / static_cast<double>(values_.size()); }

// aGRAPA (Waudby-Smith & Ramdas 2023, section 5.3): λ = (μ̂ − m) / (σ̂² + (μ̂ − m)²) for the
// side betting that the mean is above m, the mirror image for below; capped so that the
// capital stays positive whatever the next observation.
double SequentialTest::Bet(double m_now, bool above, double mu_hat, double var_hat) const {
  const double gap = above ? mu_hat - m_now : m_now - mu_hat;
  if (gap <= 0) return 0;
  const double lambda = gap / (var_hat + gap * gap);
  const double room = above ? m_now : 1 - m_now;  // the largest loss per unit bet
  return room > 0 ? std::min(lambda, options_.max_bet() / room) : lambda;
}

void SequentialTest::Add(double x) {
  if (decision_ != SequentialDecision::kUndecided) return;
  x = std::clamp(std::isnan(x) ? 0.0 : x, 0.0, 1.0);
  const double t = options_.threshold();
  const int64_t N = options_.population();
  const double before = static_cast<double>(values_.size());
  if (N > 0 && values_.size() >= static_cast<size_t>(N)) return;  // the whole set was read
  // The mean the next observation has under the null "the mean is t": for a finite set,
  // the mean of what is left of it.
  double m = t;
  if (N > 0) m = (static_cast<double>(N) * t - sum_) / (static_cast<double>(N) - before);
  if (m > 0 && m < 1) {
    capital_above_ *= 1 + Bet(m, true, mu_hat_, var_hat_) * (x - m);
    capital_below_ *= 1 - Bet(m, false, mu_hat_, var_hat_) * (x - m);
  }
  values_.push_back(x);
  sum_ += x;
  const double n = static_cast<double>(values_.size());
  UpdateEstimates(x, n, sum_, &mu_hat_, &var_hat_);
  if (N > 0) {
    // Certain once the rest of the set, all ones or all zeros, cannot cross t.
    const double need = static_cast<double>(N) * t, slack = 1e-9 * static_cast<double>(N);
    if (sum_ >= need - slack) {
      decision_ = SequentialDecision::kAbove;
      certain_ = true;
      return;
    }
    if (sum_ + (static_cast<double>(N) - n) < need - slack) {
      decision_ = SequentialDecision::kBelow;
      certain_ = true;
      return;
    }
  }
  const double target = 1 / options_.alpha();
  if (capital_above_ >= target)
    decision_ = SequentialDecision::kAbove;
  else if (capital_below_ >= target)
    decision_ = SequentialDecision::kBelow;
}

double SequentialTest::Capital(double m0, bool above) const {
  const int64_t N = options_.population();
  double capital = 1, sum = 0, mu_hat = 0.5, var_hat = 0.25;
  for (size_t i = 0; i < values_.size(); ++i) {
    double m = m0;
    if (N > 0) m = (static_cast<double>(N) * m0 - sum) / (static_cast<double>(N) - static_cast<double>(i));
    // A null the data already contradict is rejected on its side, and is no evidence on
    // the other.
    if (m < 0) return above ? kInf : 0;
    if (m > 1) return above ? 0 : kInf;
    const double x = values_[i];
    if (m > 0 && m < 1) {
      const double lambda = Bet(m, above, mu_hat, var_hat);
      capital *= above ? 1 + lambda * (x - m) : 1 - lambda * (x - m);
    }
    sum += x;
    UpdateEstimates(x, static_cast<double>(i + 1), sum, &mu_hat, &var_hat);
  }
  if (N > 0 && static_cast<int64_t>(values_.size()) == N) {
    // The whole set: its mean is known.
    const double mean = sum / static_cast<double>(N);
    return (above ? m0 < mean - 1e-12 : m0 > mean + 1e-12) ? kInf : 0;
  }
  return capital;
}

// The edge of the candidate means the side `above` rejects: [0, low) for above, (high, 1]
// for below, found by bisection.
double SequentialTest::Edge(bool above) const {
  if (values_.empty()) return above ? 0 : 1;
  const double target = 1 / options_.alpha();
  double lo = 0, hi = 1;
  for (int i = 0; i < 50; ++i) {
    const double mid = (lo + hi) / 2;
    ((Capital(mid, above) >= target) == above ? lo : hi) = mid;
  }
  return above ? lo : hi;
}

double SequentialTest::LowerBound() const { return Edge(true); }
double SequentialTest::UpperBound() const { return Edge(false); }

}  // namespace synapse
