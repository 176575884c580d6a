#include "synapse/testing/matchers.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <sstream>

#include "recorder.h"
#include "synapse/report_sections.h"
#include "synapse/stats.h"
#include "synapse/testing/queries.h"

namespace synapse::testing {
namespace internal {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string Fixed(double v) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(3) << v;
  return s.str();
}

std::string Percent(double confidence) {
  std::ostringstream s;
  s << confidence * 100 << "%";
  return s.str();
}

std::string IntervalText(const Interval& i, double confidence) {
  return "[" + Fixed(i.low) + ", " + Fixed(i.high) + " at " + Percent(confidence) + "]";
}

std::string After(const Outcome& o) { return o.what.empty() ? " with no intervention" : " after " + o.what; }

template <typename M>
std::string DescriptionOf(const M& m) {
  std::ostringstream s;
  m.DescribeTo(&s);
  return s.str();
}

// Writes the explanation where GoogleMock wants it (a null stream: the verdict only) and
// records the assertion for the running test.
bool Finish(AssertionRecord r, std::ostream* os) {
  if (os != nullptr) *os << r.explanation;
  RecordAssertion(r);
  return r.matched;
}

const char* MetricKey(OutcomeMetric m) {
  switch (m) {
    case OutcomeMetric::kAccuracy:
      return "accuracy";
    case OutcomeMetric::kAccuracyDrop:
      return "accuracy_drop";
    case OutcomeMetric::kClassRecall:
      return "recall";
    case OutcomeMetric::kFlipRate:
      return "flip_rate";
  }
  return "?";
}

const char* MetricName(OutcomeMetric m) {
  switch (m) {
    case OutcomeMetric::kAccuracy:
      return "accuracy";
    case OutcomeMetric::kAccuracyDrop:
      return "an accuracy drop";
    case OutcomeMetric::kClassRecall:
      return "recall";
    case OutcomeMetric::kFlipRate:
      return "a flip rate";
  }
  return "?";
}

AssertionRecord Start(const std::string& matcher, const Outcome& o) {
  AssertionRecord r;
  r.matcher = matcher;
  r.query = o.query;
  r.what = o.what;
  return r;
}

// Φ(z), the standard normal CDF.
double NormalCdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

}  // namespace

// Threshold matchers.

ThresholdMatcher ThresholdMatcher::WithConfidence(double confidence) const {
  ThresholdMatcher copy = *this;
  copy.confidence_ = confidence;
  return copy;
}

void ThresholdMatcher::Describe(std::ostream* os, bool negated) const {
  const bool at_least = direction_ == Direction::kAtLeast;
  *os << (negated ? "doesn't have " : "has ") << MetricName(metric_);
  if (metric_ == OutcomeMetric::kClassRecall) *os << " of class \"" << class_name_ << "\"";
  *os << (at_least ? " at least " : " at most ") << Fixed(threshold_);
  if (confidence_ > 0) {
    *os << " with " << Percent(confidence_) << " confidence (the Wilson interval's " << (at_least ? "lower" : "upper")
        << " bound)";
  }
}

void ThresholdMatcher::DescribeTo(std::ostream* os) const { Describe(os, false); }
void ThresholdMatcher::DescribeNegationTo(std::ostream* os) const { Describe(os, true); }

bool ThresholdMatcher::MatchAndExplain(const Outcome& o, std::ostream* os) const {
  const double level = confidence_ > 0 ? confidence_ : o.confidence;
  const bool at_least = direction_ == Direction::kAtLeast;
  AssertionRecord r = Start(DescriptionOf(*this), o);
  r.metric = MetricKey(metric_);
  r.confidence = level;
  r.threshold = threshold_;
  r.comparison = at_least ? ">=" : "<=";
  std::ostringstream why;
  switch (metric_) {
    case OutcomeMetric::kAccuracy:
    case OutcomeMetric::kAccuracyDrop: {
      const Interval ci = o.accuracy.Wilson(level);
      const double base = o.baseline_accuracy.value();
      if (metric_ == OutcomeMetric::kAccuracy) {
        r.value = o.accuracy.value();
        r.low = ci.low;
        r.high = ci.high;
        r.tested = confidence_ > 0 ? ci.low : r.value;
        why << "whose accuracy is " << Fixed(r.value) << " " << IntervalText(ci, level);
      } else {
        // The baseline is the same model on the same examples: the drop's uncertainty is
        // the perturbed accuracy's.
        r.value = base - o.accuracy.value();
        r.low = base - ci.high;
        r.high = base - ci.low;
        r.tested = confidence_ > 0 ? r.high : r.value;
        why << "whose accuracy dropped by " << Fixed(r.value) << " (at most " << Fixed(r.high) << " at "
            << Percent(level) << ") to " << Fixed(o.accuracy.value());
      }
      why << " on " << o.accuracy.n << " examples" << After(o) << " (baseline " << Fixed(base) << ")";
      break;
    }
    case OutcomeMetric::kClassRecall: {
      r.metric = "recall[" + class_name_ + "]";
      auto it = o.recall.find(class_name_);
      if (it == o.recall.end()) {
        why << "which has no class \"" << class_name_ << "\" (classes:";
        for (const auto& [name, rate] : o.recall) why << " " << name;
        why << ")";
        r.value = r.tested = r.low = r.high = kNaN;
        r.explanation = why.str();
        return Finish(r, os);
      }
      const Interval ci = it->second.Wilson(level);
      r.value = it->second.value();
      r.low = ci.low;
      r.high = ci.high;
      r.tested = confidence_ > 0 ? ci.low : r.value;
      why << "whose recall of class \"" << class_name_ << "\" is " << Fixed(r.value) << " (" << it->second.successes
          << "/" << it->second.n << ") " << IntervalText(ci, level) << After(o);
      auto base = o.baseline_recall.find(class_name_);
      if (base != o.baseline_recall.end()) why << " (baseline " << Fixed(base->second.value()) << ")";
      break;
    }
    case OutcomeMetric::kFlipRate: {
      const Interval ci = o.flips.Wilson(level);
      r.value = o.flips.value();
      r.low = ci.low;
      r.high = ci.high;
      r.tested = confidence_ > 0 ? ci.high : r.value;
      why << "whose flip rate is " << Fixed(r.value) << " (" << o.flips.successes << " of " << o.flips.n
          << " labels changed) " << IntervalText(ci, level) << After(o);
      break;
    }
  }
  if (std::isnan(r.tested)) {
    why << ", which is undefined (no examples)";
    r.matched = false;
  } else {
    r.matched = at_least ? r.tested >= threshold_ : r.tested <= threshold_;
    if (confidence_ > 0) {
      why << "; the " << (at_least ? "lower" : "upper") << " bound " << Fixed(r.tested)
          << (r.matched ? " clears " : " misses ") << Fixed(threshold_);
    }
  }
  r.explanation = why.str();
  return Finish(r, os);
}

bool AccuracyMatcher::MatchAndExplain(const Outcome& o, std::ostream* os) const {
  AssertionRecord r = Start(DescriptionOf(*this), o);
  r.metric = "accuracy";
  r.value = r.tested = o.accuracy.value();
  const Interval ci = o.accuracy.Wilson(o.confidence);
  r.low = ci.low;
  r.high = ci.high;
  r.confidence = o.confidence;
  r.threshold = kNaN;
  r.comparison = "matches";
  ::testing::StringMatchResultListener inner;
  r.matched = inner_.MatchAndExplain(r.value, &inner);
  std::ostringstream why;
  why << "whose accuracy is " << Fixed(r.value) << " " << IntervalText(ci, o.confidence) << " on " << o.accuracy.n
      << " examples" << After(o) << " (baseline " << Fixed(o.baseline_accuracy.value()) << ")";
  if (!inner.str().empty()) why << ", " << inner.str();
  r.explanation = why.str();
  return Finish(r, os);
}

void AccuracyMatcher::DescribeTo(std::ostream* os) const {
  *os << "has accuracy that ";
  inner_.DescribeTo(os);
}

void AccuracyMatcher::DescribeNegationTo(std::ostream* os) const {
  *os << "has accuracy that ";
  inner_.DescribeNegationTo(os);
}

// Flip budgets.

FlipBudgetMatcher FlipBudgetMatcher::ForShare(double share) const {
  FlipBudgetMatcher copy = *this;
  copy.share_ = share;
  return copy;
}

void FlipBudgetMatcher::Describe(std::ostream* os, bool negated) const {
  if (form_ == Form::kNoFlipsUnder) {
    *os << (negated ? "has some label that flips" : "has no label that flips") << " under a logit change of "
        << Fixed(budget_) << " (L∞)";
    return;
  }
  *os << (negated ? "doesn't need" : "needs") << " a logit change (L∞) of at least " << Fixed(budget_) << " to flip ";
  if (share_ > 0)
    *os << Percent(share_) << " of the labels";
  else
    *os << "any label";
}

void FlipBudgetMatcher::DescribeTo(std::ostream* os) const { Describe(os, false); }
void FlipBudgetMatcher::DescribeNegationTo(std::ostream* os) const { Describe(os, true); }

bool FlipBudgetMatcher::MatchAndExplain(const Outcome& o, std::ostream* os) const {
  AssertionRecord r = Start(DescriptionOf(*this), o);
  r.low = r.high = kNaN;
  r.threshold = budget_;
  std::ostringstream why;
  if (o.flip_budget.empty()) {
    r.metric = form_ == Form::kNoFlipsUnder ? "labels_flipped" : "flip_budget";
    r.value = r.tested = kNaN;
    r.explanation = "which has no per-example flip budgets (outcomes of pooled draws or of a report have none)";
    return Finish(r, os);
  }
  std::vector<size_t> order(o.flip_budget.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return o.flip_budget[a] < o.flip_budget[b]; });
  const double smallest = o.flip_budget[order.front()];
  if (form_ == Form::kNoFlipsUnder) {
    int64_t flipped = 0;
    for (double b : o.flip_budget) flipped += b <= budget_;
    r.metric = "labels_flipped";
    r.value = r.tested = static_cast<double>(flipped);
    r.comparison = "==";
    r.threshold = 0;
    r.matched = flipped == 0;
    why << "where " << flipped << " of " << o.flip_budget.size() << " labels flip under a logit change of "
        << Fixed(budget_);
    if (flipped > 0) {
      why << ": example";
      const size_t show = std::min<size_t>(static_cast<size_t>(flipped), 5);
      for (size_t i = 0; i < show; ++i) {
        why << (i ? ", " : " ") << order[i] << " (needs " << Fixed(o.flip_budget[order[i]]) << ")";
      }
      if (static_cast<size_t>(flipped) > show) why << ", …";
    } else {
      why << " (the most fragile example needs " << Fixed(smallest) << ")";
    }
  } else {
    r.metric = share_ > 0 ? "flip_budget[" + Percent(share_) + "]" : "flip_budget";
    r.value = r.tested = share_ > 0 ? BudgetFlipping(o.flip_budget, share_) : smallest;
    r.comparison = ">=";
    r.matched = r.value >= budget_;
    if (share_ > 0) {
      why << "where a logit change of " << Fixed(r.value) << " flips " << Percent(share_) << " of the "
          << o.flip_budget.size() << " labels";
    } else {
      why << "whose most fragile example (" << order.front() << ") flips under a logit change of " << Fixed(smallest);
    }
  }
  why << After(o);
  r.explanation = why.str();
  return Finish(r, os);
}

// Probes.

ProbeAccuracyMatcher ProbeAccuracyMatcher::WithConfidence(double confidence) const {
  ProbeAccuracyMatcher copy = *this;
  copy.confidence_ = confidence;
  return copy;
}

void ProbeAccuracyMatcher::Describe(std::ostream* os, bool negated) const {
  *os << (negated ? "doesn't have" : "has") << " a probe accuracy of at least " << Fixed(threshold_);
  if (confidence_ > 0) *os << " with " << Percent(confidence_) << " confidence (the Wilson interval's lower bound)";
}
void ProbeAccuracyMatcher::DescribeTo(std::ostream* os) const { Describe(os, false); }
void ProbeAccuracyMatcher::DescribeNegationTo(std::ostream* os) const { Describe(os, true); }

bool ProbeAccuracyMatcher::MatchAndExplain(const ProbeOutcome& o, std::ostream* os) const {
  AssertionRecord r;
  r.matcher = DescriptionOf(*this);
  r.query = o.query;
  r.what = "a linear probe on layer " + std::to_string(o.layer) + " (" + o.layer_name + ")";
  r.metric = "probe_accuracy";
  const double level = confidence_ > 0 ? confidence_ : o.confidence;
  const Interval ci = o.test_accuracy.Wilson(level);
  r.value = o.test_accuracy.value();
  r.low = ci.low;
  r.high = ci.high;
  r.confidence = level;
  r.tested = confidence_ > 0 ? ci.low : r.value;
  r.comparison = ">=";
  r.threshold = threshold_;
  r.matched = !std::isnan(r.tested) && r.tested >= threshold_;
  std::ostringstream why;
  why << "whose probe on layer " << o.layer << " (" << o.layer_name << ") scores " << Fixed(r.value) << " ("
      << o.test_accuracy.successes << "/" << o.test_accuracy.n << " held-out examples) " << IntervalText(ci, level)
      << ", train " << Fixed(o.train_accuracy) << (o.converged ? "" : ", not converged");
  if (confidence_ > 0) {
    why << "; the lower bound " << Fixed(r.tested) << (r.matched ? " clears " : " misses ") << Fixed(threshold_);
  }
  r.explanation = why.str();
  return Finish(r, os);
}

// Against the random control.

HurtsMoreThanRandomMatcher HurtsMoreThanRandomMatcher::WithConfidence(double confidence) const {
  HurtsMoreThanRandomMatcher copy = *this;
  copy.confidence_ = confidence;
  return copy;
}

void HurtsMoreThanRandomMatcher::Describe(std::ostream* os, bool negated) const {
  *os << (negated ? "doesn't cost" : "costs") << " more accuracy than ablating as many random neurons ("
      << "one-sided, " << Percent(confidence_) << " confidence)";
}
void HurtsMoreThanRandomMatcher::DescribeTo(std::ostream* os) const { Describe(os, false); }
void HurtsMoreThanRandomMatcher::DescribeNegationTo(std::ostream* os) const { Describe(os, true); }

bool HurtsMoreThanRandomMatcher::MatchAndExplain(const Outcome& o, std::ostream* os) const {
  AssertionRecord r = Start(DescriptionOf(*this), o);
  r.metric = "excess_drop_over_random";
  r.confidence = confidence_;
  r.comparison = ">";
  r.threshold = 0;
  r.high = kNaN;
  std::ostringstream why;
  if (!o.random_control) {
    r.value = r.tested = r.low = kNaN;
    r.explanation =
        "which has no random control: HurtsMoreThanRandom() applies to Ablate(TopK / BottomK / NeuronSet) queries";
    return Finish(r, os);
  }
  const Outcome control = o.random_control();
  const double acc = o.accuracy.value(), control_acc = control.accuracy.value();
  // Excess drop = (base − acc) − (base − control_acc) = control_acc − acc.
  r.value = control_acc - acc;
  double se = 0;
  const char* test = "";
  if (!o.correct.empty() && o.correct.size() == control.correct.size()) {
    // Paired: the same examples, per-example difference of the control's correct share and
    // this outcome's.
    const double n = static_cast<double>(o.correct.size());
    double mean = 0, sq = 0;
    for (size_t i = 0; i < o.correct.size(); ++i) mean += control.correct[i] - o.correct[i];
    mean /= n;
    for (size_t i = 0; i < o.correct.size(); ++i) {
      const double d = control.correct[i] - o.correct[i] - mean;
      sq += d * d;
    }
    se = n > 1 ? std::sqrt(sq / (n - 1) / n) : 0;
    test = "paired";
  } else {
    // Two proportions on different draws: the pooled standard error.
    const double n1 = static_cast<double>(o.accuracy.n), n2 = static_cast<double>(control.accuracy.n);
    const double p = (static_cast<double>(o.accuracy.successes + control.accuracy.successes)) / (n1 + n2);
    se = std::sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
    test = "two-proportion";
  }
  const double z = NormalQuantile(confidence_);
  r.low = r.value - z * se;
  r.tested = r.low;
  const double p_value = se > 0 ? 1 - NormalCdf(r.value / se) : (r.value > 0 ? 0.0 : 1.0);
  r.matched = r.value > 0 && (se > 0 ? r.low > 0 : true);
  why << "whose accuracy " << Fixed(acc) << After(o) << " is " << Fixed(r.value) << " below the random control's "
      << Fixed(control_acc) << " (" << control.what << "); the excess drop is at least " << Fixed(r.low) << " at "
      << Percent(confidence_) << " (" << test << " one-sided p = " << std::setprecision(2) << p_value << ")";
  why << (r.matched ? ", significant" : ", not significant");
  r.explanation = why.str();
  return Finish(r, os);
}

// Class asymmetry.

ClassAsymmetryMatcher ClassAsymmetryMatcher::WithConfidence(double confidence) const {
  ClassAsymmetryMatcher copy = *this;
  copy.confidence_ = confidence;
  return copy;
}

void ClassAsymmetryMatcher::Describe(std::ostream* os, bool negated) const {
  *os << (negated ? "doesn't have" : "has") << " a class asymmetry of recall drops of at most " << Fixed(threshold_);
  if (confidence_ > 0) *os << " with " << Percent(confidence_) << " confidence (from the Wilson bounds)";
}
void ClassAsymmetryMatcher::DescribeTo(std::ostream* os) const { Describe(os, false); }
void ClassAsymmetryMatcher::DescribeNegationTo(std::ostream* os) const { Describe(os, true); }

bool ClassAsymmetryMatcher::MatchAndExplain(const Outcome& o, std::ostream* os) const {
  AssertionRecord r = Start(DescriptionOf(*this), o);
  r.metric = "class_asymmetry";
  const double level = confidence_ > 0 ? confidence_ : o.confidence;
  r.confidence = level;
  r.comparison = "<=";
  r.threshold = threshold_;
  // Per class: the drop, and its range from the recall's Wilson interval (the baseline is
  // the same model on the same examples).
  struct Drop {
    std::string name;
    double drop, low, high;
  };
  std::vector<Drop> drops;
  for (const auto& [name, rate] : o.recall) {
    auto base = o.baseline_recall.find(name);
    if (rate.n == 0 || base == o.baseline_recall.end() || base->second.n == 0) continue;
    const Interval ci = rate.Wilson(level);
    const double b = base->second.value();
    drops.push_back({name, b - rate.value(), b - ci.high, b - ci.low});
  }
  std::ostringstream why;
  if (drops.size() < 2) {
    r.value = r.tested = r.low = r.high = kNaN;
    r.explanation = "which has fewer than two classes with examples";
    return Finish(r, os);
  }
  const bool targeted = !o.target_class.empty();
  auto by_drop = [](const Drop& a, const Drop& b) { return a.drop < b.drop; };
  if (targeted) {
    auto own = std::find_if(drops.begin(), drops.end(), [&](const Drop& d) { return d.name == o.target_class; });
    if (own == drops.end()) {
      r.value = r.tested = r.low = r.high = kNaN;
      r.explanation = "whose target class \"" + o.target_class + "\" has no examples";
      return Finish(r, os);
    }
    double others = 0, others_low = 0;
    for (const Drop& d : drops) {
      if (d.name == o.target_class) continue;
      others += d.drop;
      others_low += d.low;
    }
    const double count = static_cast<double>(drops.size() - 1);
    r.value = own->drop - others / count;
    r.high = own->high - others_low / count;
    why << "where class " << o.target_class << "'s recall drops by " << Fixed(own->drop)
        << " and the other classes' by " << Fixed(others / count) << " on average";
  } else {
    const Drop& most = *std::max_element(drops.begin(), drops.end(), by_drop);
    const Drop& least = *std::min_element(drops.begin(), drops.end(), by_drop);
    double high_max = -1e300, low_min = 1e300;
    for (const Drop& d : drops) {
      high_max = std::max(high_max, d.high);
      low_min = std::min(low_min, d.low);
    }
    r.value = most.drop - least.drop;
    r.high = high_max - low_min;
    why << "where class " << most.name << "'s recall drops most (" << Fixed(most.drop) << ") and class " << least.name
        << "'s least (" << Fixed(least.drop) << ")";
  }
  r.low = kNaN;
  r.tested = confidence_ > 0 ? r.high : r.value;
  r.matched = r.tested <= threshold_;
  why << ": an asymmetry of " << Fixed(r.value) << " (at most " << Fixed(r.high) << " at " << Percent(level) << ")"
      << After(o);
  why << "; drops:";
  for (const Drop& d : drops) why << " " << d.name << " " << Fixed(d.drop);
  if (confidence_ > 0)
    why << "; the upper bound " << Fixed(r.tested) << (r.matched ? " clears " : " misses ") << Fixed(threshold_);
  r.explanation = why.str();
  return Finish(r, os);
}

}  // namespace internal

void PrintTo(const Outcome& o, std::ostream* os) {
  // What was done is in the matcher's explanation; keep the printed value short.
  if (!o.query.empty()) *os << o.query << " ";
  *os << "{accuracy " << internal::Fixed(o.accuracy.value()) << " (" << o.accuracy.successes << "/" << o.accuracy.n
      << "), " << o.flips.successes << (o.flips.successes == 1 ? " label" : " labels") << " flipped}";
}

void PrintTo(const ProbeOutcome& o, std::ostream* os) {
  *os << o.query << " {held-out accuracy " << internal::Fixed(o.test_accuracy.value()) << " ("
      << o.test_accuracy.successes << "/" << o.test_accuracy.n << ")}";
}

void PrintTo(const Query& q, std::ostream* os) {
  try {
    PrintTo(q.outcome(), os);
  } catch (const std::exception& e) {
    *os << q.ToString() << " {" << e.what() << "}";
  }
}

void PrintTo(const ProbeQuery& q, std::ostream* os) {
  try {
    PrintTo(q.outcome(), os);
  } catch (const std::exception& e) {
    *os << q.ToString() << " {" << e.what() << "}";
  }
}

}  // namespace synapse::testing
