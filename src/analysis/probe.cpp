// Linear probes: multinomial logistic regression fitted with OWL-QN (Andrew & Gao, 2007,
// "Scalable training of L1-regularized log-linear models"), and the neuron rankings read
// from their weights. No LibTorch here: probes run on activations already extracted.
#include "synapse/probe.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <sstream>
#include <string>

#include "synapse/error.h"

namespace synapse {
namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::MatrixXf;
using Eigen::VectorXd;

// Sufficient-decrease constant of the backtracking line search.
constexpr double kArmijo = 1e-4;
// Halvings before a line search gives up (the step is then ~1e-15 of the first one).
constexpr int kMaxBacktracks = 50;
// Correction pairs with less curvature than this would make the inverse-Hessian
// approximation ill-conditioned (or not positive definite); they are skipped.
constexpr double kMinCurvature = 1e-10;
// The objective-change test looks this many iterations back.
constexpr int kObjectivePast = 5;

std::string Num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// A uniform integer in [0, bound) from the engine's raw 64-bit output, by rejection. The
// standard distributions are implementation-defined, so a split made with them would differ
// between libstdc++ and libc++; mt19937_64's raw output does not.
uint64_t UniformBelow(std::mt19937_64& engine, uint64_t bound) {
  const uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
  for (;;) {
    const uint64_t r = engine();
    if (r >= threshold) return r % bound;
  }
}

// Checks row indices against x before anything reads them.
void CheckRows(const std::vector<int64_t>& rows, Index num_rows, const char* what) {
  for (size_t k = 0; k < rows.size(); ++k) {
    if (rows[k] < 0 || rows[k] >= num_rows) {
      throw DataError(209, std::string("probe: ") + what + "[" + std::to_string(k) + "] is " + std::to_string(rows[k]) +
                               ", outside the " + std::to_string(num_rows) + " rows of x");
    }
  }
}

// The one expression that standardizes, so that Apply, fitting and Predict see
// bit-identical inputs.
inline double Standardized(const Standardizer& standardizer, const MatrixXf& x, Index row, Index column) {
  return (static_cast<double>(x(row, column)) - standardizer.mean(column)) / standardizer.scale(column);
}

MatrixXd StandardizeRows(const Standardizer& standardizer, const MatrixXf& x, const std::vector<int64_t>& rows) {
  const Index m = static_cast<Index>(rows.size());
  MatrixXd out(m, x.cols());
  for (Index j = 0; j < x.cols(); ++j) {
    for (Index k = 0; k < m; ++k) out(k, j) = Standardized(standardizer, x, rows[k], j);
  }
  return out;
}

void CheckWidth(const Standardizer& standardizer, const MatrixXf& x) {
  if (x.cols() != standardizer.mean.size()) {
    throw DataError(209, "probe: x has " + std::to_string(x.cols()) + " columns but the probe was fitted on " +
                             std::to_string(standardizer.mean.size()) + " neurons");
  }
}

// Predicted class of each listed row (ties: lower class first). Row by row, so that a row's
// logits never depend on which other rows are predicted with it: train_accuracy and
// Predict then agree exactly.
std::vector<int64_t> PredictRows(const ProbeFit& probe, const MatrixXf& x, const std::vector<int64_t>& rows) {
  std::vector<int64_t> out(rows.size());
  VectorXd standardized(x.cols());
  VectorXd logits(probe.weights.rows());
  for (size_t k = 0; k < rows.size(); ++k) {
    for (Index j = 0; j < x.cols(); ++j) {
      standardized(j) = Standardized(probe.standardizer, x, rows[k], j);
    }
    // Through a segment, which never reallocates: Eigen's resize path trips GCC 12's false
    // -Wuse-after-free.
    logits.head(logits.size()) = probe.intercepts;
    logits.noalias() += probe.weights * standardized;
    Index best = 0;
    for (Index c = 1; c < logits.size(); ++c) {
      if (logits(c) > logits(best)) best = c;
    }
    out[k] = best;
  }
  return out;
}

double Accuracy(const ProbeFit& probe, const MatrixXf& x, const std::vector<int64_t>& labels,
                const std::vector<int64_t>& rows) {
  if (rows.empty()) return std::numeric_limits<double>::quiet_NaN();
  const std::vector<int64_t> predicted = PredictRows(probe, x, rows);
  int64_t correct = 0;
  for (size_t k = 0; k < rows.size(); ++k) correct += predicted[k] == labels[rows[k]];
  return static_cast<double>(correct) / static_cast<double>(rows.size());
}

// The smooth part of the objective, (1/n) Σ_i −log softmax(W x_i + b)[y_i] + (l2/2)‖W‖²,
// over parameters packed as [W (classes × neurons, column-major), b].
class SmoothObjective {
 public:
  SmoothObjective(const MatrixXd& x, const std::vector<int64_t>& y, Index classes, double l2)
      : x_(x), y_(y), classes_(classes), l2_(l2) {}

  Index size() const { return classes_ * (x_.cols() + 1); }
  Index weight_count() const { return classes_ * x_.cols(); }

  /// The value at `theta`, with its gradient in `grad`.
  double Evaluate(const VectorXd& theta, VectorXd* grad) {
    const Index n = x_.rows();
    const Index h = x_.cols();
    Eigen::Map<const MatrixXd> w(theta.data(), classes_, h);
    Eigen::Map<const VectorXd> b(theta.data() + classes_ * h, classes_);
    // Classes × examples, so that each example's softmax is a contiguous column.
    scores_.noalias() = w * x_.transpose();
    double loss = 0;
    for (Index i = 0; i < n; ++i) {
      auto column = scores_.col(i);
      column += b;
      const double top = column.maxCoeff();
      const double target = column(y_[i]);
      column = (column.array() - top).exp();
      const double sum = column.sum();
      loss += top + std::log(sum) - target;
      // The loss's derivative in the logits: softmax minus the one-hot label.
      column /= sum;
      column(y_[i]) -= 1.0;
    }
    Eigen::Map<MatrixXd> grad_w(grad->data(), classes_, h);
    grad_w.noalias() = (1.0 / static_cast<double>(n)) * scores_ * x_;
    grad_w += l2_ * w;
    grad->tail(classes_) = scores_.rowwise().sum() / static_cast<double>(n);
    return loss / static_cast<double>(n) + 0.5 * l2_ * w.squaredNorm();
  }

 private:
  const MatrixXd& x_;
  const std::vector<int64_t>& y_;
  Index classes_;
  double l2_;
  MatrixXd scores_;
};

// The steepest-descent direction's negative for f + l1‖W‖₁: the gradient, with the L1 term's
// one-sided derivative where w ≠ 0, and at w = 0 the smallest subgradient (0 when the
// gradient lies within ±l1, i.e. when w = 0 is already optimal along that coordinate).
void PseudoGradient(const VectorXd& theta, const VectorXd& grad, Index weight_count, double l1, VectorXd* out) {
  *out = grad;
  if (l1 == 0) return;
  for (Index i = 0; i < weight_count; ++i) {
    const double g = grad(i);
    if (theta(i) > 0) {
      (*out)(i) = g + l1;
    } else if (theta(i) < 0) {
      (*out)(i) = g - l1;
    } else if (g + l1 < 0) {
      (*out)(i) = g + l1;
    } else if (g - l1 > 0) {
      (*out)(i) = g - l1;
    } else {
      (*out)(i) = 0;
    }
  }
}

struct Correction {
  VectorXd s;  // step
  VectorXd y;  // change of the smooth gradient
  double rho;  // 1 / s·y
};

// The L-BFGS two-loop recursion: an approximation of H⁻¹ v from the stored corrections.
VectorXd ApplyInverseHessian(const std::deque<Correction>& memory, const VectorXd& v) {
  VectorXd q = v;
  if (memory.empty()) return q;
  std::vector<double> alpha(memory.size());
  for (size_t k = memory.size(); k-- > 0;) {
    alpha[k] = memory[k].rho * memory[k].s.dot(q);
    q -= alpha[k] * memory[k].y;
  }
  const Correction& last = memory.back();
  q *= last.s.dot(last.y) / last.y.squaredNorm();
  for (size_t k = 0; k < memory.size(); ++k) {
    const double beta = memory[k].rho * memory[k].y.dot(q);
    q += (alpha[k] - beta) * memory[k].s;
  }
  return q;
}

struct SolverResult {
  VectorXd theta;
  int iterations = 0;
  bool converged = false;
  double objective = 0;
};

// OWL-QN on smooth(θ) + l1‖W‖₁ from θ = 0; with l1 = 0 every OWL-QN step reduces to L-BFGS.
SolverResult MinimizeOwlqn(SmoothObjective& smooth, double l1, const ProbeOptions& options) {
  const Index dim = smooth.size();
  const Index nw = smooth.weight_count();
  const double tolerance = options.tolerance();
  auto penalized = [&](const VectorXd& theta, double smooth_value) {
    return smooth_value + (l1 == 0 ? 0.0 : l1 * theta.head(nw).lpNorm<1>());
  };

  SolverResult result;
  VectorXd theta = VectorXd::Zero(dim);
  VectorXd grad(dim), pseudo(dim), direction(dim), trial(dim), trial_grad(dim);
  double value = penalized(theta, smooth.Evaluate(theta, &grad));
  PseudoGradient(theta, grad, nw, l1, &pseudo);
  std::vector<double> values{value};
  std::deque<Correction> memory;
  auto gradient_small = [&] { return pseudo.lpNorm<Eigen::Infinity>() <= tolerance * std::max(1.0, std::abs(value)); };
  result.converged = gradient_small();

  while (!result.converged && result.iterations < options.max_iter()) {
    direction = -ApplyInverseHessian(memory, pseudo);
    if (l1 > 0) {
      // Keep the quasi-Newton step within the orthant that steepest descent would enter.
      for (Index i = 0; i < nw; ++i) {
        if (direction(i) * pseudo(i) >= 0) direction(i) = 0;
      }
    }
    if (!(direction.dot(pseudo) < 0)) {
      // The curvature model no longer describes this region (or the sign constraint removed
      // every useful component): start over from steepest descent.
      memory.clear();
      direction = -pseudo;
    }
    // Without curvature information the direction's length means nothing: start from a
    // unit-length step, as libLBFGS does.
    double step = memory.empty() ? std::min(1.0, 1.0 / pseudo.norm()) : 1.0;
    bool accepted = false;
    double trial_value = 0;
    for (int k = 0; k < kMaxBacktracks && !accepted; ++k, step *= 0.5) {
      trial = theta + step * direction;
      if (l1 > 0) {
        // Orthant projection: a weight may reach zero but not cross it in one step.
        for (Index i = 0; i < nw; ++i) {
          const double orthant = theta(i) != 0 ? theta(i) : -pseudo(i);
          if (trial(i) * orthant <= 0) trial(i) = 0;
        }
      }
      trial_value = penalized(trial, smooth.Evaluate(trial, &trial_grad));
      accepted = trial_value <= value + kArmijo * pseudo.dot(trial - theta);
    }
    if (!accepted) {
      // A stale curvature model can point nowhere useful; steepest descent failing as well
      // means no decrease is measurable any more in double precision.
      if (memory.empty()) break;
      memory.clear();
      continue;
    }
    Correction correction{trial - theta, trial_grad - grad, 0};
    const double curvature = correction.s.dot(correction.y);
    if (curvature > kMinCurvature) {
      correction.rho = 1.0 / curvature;
      memory.push_back(std::move(correction));
      if (static_cast<int>(memory.size()) > options.history()) memory.pop_front();
    }
    theta.swap(trial);
    grad.swap(trial_grad);
    value = trial_value;
    PseudoGradient(theta, grad, nw, l1, &pseudo);
    ++result.iterations;
    values.push_back(value);
    const bool stalled = result.iterations >= kObjectivePast &&
                         std::abs(values[values.size() - 1 - kObjectivePast] - value) < tolerance * std::abs(value);
    result.converged = gradient_small() || stalled;
  }
  result.theta = std::move(theta);
  result.objective = value;
  return result;
}

}  // namespace

Split StratifiedSplit(const std::vector<int64_t>& labels, double test_fraction, uint64_t seed) {
  if (!(test_fraction >= 0 && test_fraction < 1)) {
    throw SpecError(310, "probe: test_fraction must be in [0, 1), got " + Num(test_fraction));
  }
  // Ordered by label, so the engine's stream is consumed in the same order everywhere.
  std::map<int64_t, std::vector<int64_t>> by_class;
  for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(static_cast<int64_t>(i));
  std::mt19937_64 engine(seed);
  Split split;
  for (auto& entry : by_class) {
    std::vector<int64_t>& members = entry.second;
    for (size_t i = members.size(); i > 1; --i) {
      std::swap(members[i - 1], members[UniformBelow(engine, i)]);
    }
    const size_t size = members.size();
    size_t test = static_cast<size_t>(std::llround(test_fraction * static_cast<double>(size)));
    if (test == 0 && size >= 2 && test_fraction > 0) test = 1;
    // A class never goes entirely to the test side: the probe must see it in training.
    if (size >= 1 && test >= size) test = size - 1;
    split.test.insert(split.test.end(), members.begin(), members.begin() + static_cast<std::ptrdiff_t>(test));
    split.train.insert(split.train.end(), members.begin() + static_cast<std::ptrdiff_t>(test), members.end());
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.test.begin(), split.test.end());
  return split;
}

Standardizer Standardizer::Fit(const MatrixXf& x, const std::vector<int64_t>& rows) {
  std::vector<int64_t> all;
  if (rows.empty()) {
    all.resize(static_cast<size_t>(x.rows()));
    std::iota(all.begin(), all.end(), 0);
  } else {
    CheckRows(rows, x.rows(), "rows");
  }
  const std::vector<int64_t>& used = rows.empty() ? all : rows;
  if (used.empty()) throw DataError(209, "probe: cannot standardize on zero rows (x has no rows)");
  const double m = static_cast<double>(used.size());
  Standardizer s;
  s.mean.resize(x.cols());
  s.scale.resize(x.cols());
  for (Index j = 0; j < x.cols(); ++j) {
    const float first = x(used.front(), j);
    bool constant = true;
    double sum = 0;
    for (int64_t r : used) {
      sum += x(r, j);
      constant = constant && x(r, j) == first;
    }
    if (constant) {
      // Exactly the value, not a rounded average of copies of it, so the neuron becomes 0
      // rather than a rounding error divided by a tiny scale.
      s.mean(j) = first;
      s.scale(j) = 1;
      continue;
    }
    const double mean = sum / m;
    double squares = 0;
    for (int64_t r : used) squares += (x(r, j) - mean) * (x(r, j) - mean);
    s.mean(j) = mean;
    s.scale(j) = std::sqrt(squares / m);
  }
  return s;
}

MatrixXd Standardizer::Apply(const MatrixXf& x) const {
  CheckWidth(*this, x);
  std::vector<int64_t> all(static_cast<size_t>(x.rows()));
  std::iota(all.begin(), all.end(), 0);
  return StandardizeRows(*this, x, all);
}

std::vector<int64_t> ProbeFit::Predict(const MatrixXf& x) const {
  CheckWidth(standardizer, x);
  std::vector<int64_t> all(static_cast<size_t>(x.rows()));
  std::iota(all.begin(), all.end(), 0);
  return PredictRows(*this, x, all);
}

ProbeFit FitProbe(const MatrixXf& x, const std::vector<int64_t>& labels, int64_t num_classes, const Split& split,
                  const ProbeOptions& options) {
  if (!(options.l1() >= 0)) throw SpecError(310, "probe: l1 must be ≥ 0, got " + Num(options.l1()));
  if (!(options.l2() >= 0)) throw SpecError(310, "probe: l2 must be ≥ 0, got " + Num(options.l2()));
  if (options.max_iter() < 1) {
    throw SpecError(310, "probe: max_iter must be ≥ 1, got " + std::to_string(options.max_iter()));
  }
  if (!(options.tolerance() >= 0)) {
    throw SpecError(310, "probe: tolerance must be ≥ 0, got " + Num(options.tolerance()));
  }
  if (options.history() < 1) {
    throw SpecError(310, "probe: history must be ≥ 1, got " + std::to_string(options.history()));
  }
  if (num_classes < 1) throw SpecError(310, "probe: num_classes must be ≥ 1, got " + std::to_string(num_classes));
  if (static_cast<Index>(labels.size()) != x.rows()) {
    throw DataError(209, "probe: labels has " + std::to_string(labels.size()) + " entries but x has " +
                             std::to_string(x.rows()) + " rows");
  }
  CheckRows(split.train, x.rows(), "split.train");
  CheckRows(split.test, x.rows(), "split.test");
  if (split.train.empty()) throw DataError(209, "probe: the training side of the split is empty");
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= num_classes) {
      throw DataError(209,
                      "probe: example " + std::to_string(i) + ": label " + std::to_string(labels[i]) +
                          " is outside [0, " + std::to_string(num_classes) + ")",
                      static_cast<int64_t>(i));
    }
  }
  // Only the rows the probe reads: x may hold examples the split leaves out on purpose.
  for (const std::vector<int64_t>* side : {&split.train, &split.test}) {
    for (int64_t r : *side) {
      if (!x.row(r).allFinite()) {
        throw DataError(209, "probe: example " + std::to_string(r) + ": x has a non-finite value", r);
      }
    }
  }

  ProbeFit probe;
  probe.standardizer = Standardizer::Fit(x, split.train);
  const MatrixXd train_x = StandardizeRows(probe.standardizer, x, split.train);
  std::vector<int64_t> train_y;
  train_y.reserve(split.train.size());
  for (int64_t r : split.train) train_y.push_back(labels[r]);

  SmoothObjective smooth(train_x, train_y, num_classes, options.l2());
  SolverResult solved = MinimizeOwlqn(smooth, options.l1(), options);

  const Index h = x.cols();
  probe.weights = Eigen::Map<const MatrixXd>(solved.theta.data(), num_classes, h);
  probe.intercepts = solved.theta.tail(num_classes);
  probe.iterations = solved.iterations;
  probe.converged = solved.converged;
  probe.objective = solved.objective;
  probe.zero_weights = static_cast<int64_t>((probe.weights.array() == 0).count());
  probe.train_size = static_cast<int64_t>(split.train.size());
  probe.test_size = static_cast<int64_t>(split.test.size());
  probe.train_accuracy = Accuracy(probe, x, labels, split.train);
  probe.test_accuracy = Accuracy(probe, x, labels, split.test);
  return probe;
}

NeuronRanking RankNeurons(const ProbeFit& probe) {
  const Index h = probe.weights.cols();
  NeuronRanking ranking;
  ranking.importance = probe.weights.cwiseAbs().colwise().sum().transpose();
  std::vector<int64_t> order(static_cast<size_t>(h));
  std::iota(order.begin(), order.end(), 0);
  ranking.global = order;
  std::stable_sort(ranking.global.begin(), ranking.global.end(),
                   [&](int64_t a, int64_t b) { return ranking.importance(a) > ranking.importance(b); });
  for (Index c = 0; c < probe.weights.rows(); ++c) {
    std::vector<int64_t> by_weight = order;
    std::stable_sort(by_weight.begin(), by_weight.end(),
                     [&](int64_t a, int64_t b) { return probe.weights(c, a) > probe.weights(c, b); });
    ranking.per_class.push_back(std::move(by_weight));
  }
  return ranking;
}

namespace {
std::vector<int64_t> Prefix(const std::vector<int64_t>& order, int64_t k) {
  const int64_t n = std::clamp<int64_t>(k, 0, static_cast<int64_t>(order.size()));
  return std::vector<int64_t>(order.begin(), order.begin() + n);
}
}  // namespace

std::vector<int64_t> NeuronRanking::Top(int64_t k) const { return Prefix(global, k); }

// Least important first: global read from its end, so Top(w − k) and Bottom(k) partition
// the neurons even among ties.
std::vector<int64_t> NeuronRanking::Bottom(int64_t k) const {
  return Prefix(std::vector<int64_t>(global.rbegin(), global.rend()), k);
}

std::vector<int64_t> NeuronRanking::TopOfClass(int64_t c, int64_t k) const {
  if (c < 0 || c >= static_cast<int64_t>(per_class.size())) {
    throw SpecError(310,
                    "probe: class " + std::to_string(c) + " is outside [0, " + std::to_string(per_class.size()) + ")");
  }
  return Prefix(per_class[static_cast<size_t>(c)], k);
}

int64_t NeuronRanking::MassSize(double fraction) const {
  // The total is summed in the same order as the prefix, so fraction 1 is reached exactly at
  // the last neuron with a nonzero weight.
  double total = 0;
  for (int64_t j : global) total += importance(j);
  if (total == 0 || !(fraction > 0)) return 0;
  const double target = std::min(fraction, 1.0) * total;
  double sum = 0;
  for (size_t k = 0; k < global.size(); ++k) {
    sum += importance(global[k]);
    if (sum >= target) return static_cast<int64_t>(k + 1);
  }
  return static_cast<int64_t>(global.size());
}

}  // namespace synapse
