#include "synapse/testing/matchers.h"

#include <cmath>
#include <iomanip>
#include <sstream>

namespace synapse::testing {
namespace internal {
namespace {

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

}  // namespace

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

// GoogleMock passes a null stream when it needs the verdict only.
bool ThresholdMatcher::MatchAndExplain(const Outcome& o, std::ostream* stream) const {
  std::ostringstream explanation;
  const bool ok = Match(o, &explanation);
  if (stream != nullptr) *stream << explanation.str();
  return ok;
}

bool ThresholdMatcher::Match(const Outcome& o, std::ostream* os) const {
  const double level = confidence_ > 0 ? confidence_ : o.confidence;
  const bool at_least = direction_ == Direction::kAtLeast;
  std::ostringstream why;
  double estimate = 0, tested = 0;
  switch (metric_) {
    case OutcomeMetric::kAccuracy:
    case OutcomeMetric::kAccuracyDrop: {
      const Interval ci = o.accuracy.Wilson(level);
      const double base = o.baseline_accuracy.value();
      if (metric_ == OutcomeMetric::kAccuracy) {
        estimate = o.accuracy.value();
        tested = confidence_ > 0 ? ci.low : estimate;
        why << "whose accuracy is " << Fixed(estimate) << " " << IntervalText(ci, level);
      } else {
        // The baseline is the same model on the same examples: the drop's uncertainty is
        // the perturbed accuracy's.
        estimate = base - o.accuracy.value();
        tested = confidence_ > 0 ? base - ci.low : estimate;
        why << "whose accuracy dropped by " << Fixed(estimate) << " (at most " << Fixed(base - ci.low) << " at "
            << Percent(level) << ") to " << Fixed(o.accuracy.value());
      }
      why << " on " << o.accuracy.n << " examples" << After(o) << " (baseline " << Fixed(base) << ")";
      break;
    }
    case OutcomeMetric::kClassRecall: {
      auto it = o.recall.find(class_name_);
      if (it == o.recall.end()) {
        *os << "which has no class \"" << class_name_ << "\" (classes:";
        for (const auto& [name, rate] : o.recall) *os << " " << name;
        *os << ")";
        return false;
      }
      const Interval ci = it->second.Wilson(level);
      estimate = it->second.value();
      tested = confidence_ > 0 ? ci.low : estimate;
      why << "whose recall of class \"" << class_name_ << "\" is " << Fixed(estimate) << " (" << it->second.successes
          << "/" << it->second.n << ") " << IntervalText(ci, level) << After(o);
      auto base = o.baseline_recall.find(class_name_);
      if (base != o.baseline_recall.end()) why << " (baseline " << Fixed(base->second.value()) << ")";
      break;
    }
    case OutcomeMetric::kFlipRate: {
      const Interval ci = o.flips.Wilson(level);
      estimate = o.flips.value();
      tested = confidence_ > 0 ? ci.high : estimate;
      why << "whose flip rate is " << Fixed(estimate) << " (" << o.flips.successes << " of " << o.flips.n
          << " labels changed) " << IntervalText(ci, level) << After(o);
      break;
    }
  }
  if (std::isnan(tested)) {
    *os << why.str() << ", which is undefined (no examples)";
    return false;
  }
  const bool ok = at_least ? tested >= threshold_ : tested <= threshold_;
  *os << why.str();
  if (confidence_ > 0) {
    *os << "; the " << (at_least ? "lower" : "upper") << " bound " << Fixed(tested) << (ok ? " clears " : " misses ")
        << Fixed(threshold_);
  }
  return ok;
}

bool AccuracyMatcher::MatchAndExplain(const Outcome& o, std::ostream* stream) const {
  const double value = o.accuracy.value();
  ::testing::StringMatchResultListener inner;
  const bool ok = inner_.MatchAndExplain(value, &inner);
  if (stream == nullptr) return ok;
  std::ostream* os = stream;
  *os << "whose accuracy is " << Fixed(value) << " " << IntervalText(o.accuracy.Wilson(o.confidence), o.confidence)
      << " on " << o.accuracy.n << " examples" << After(o) << " (baseline " << Fixed(o.baseline_accuracy.value())
      << ")";
  if (!inner.str().empty()) *os << ", " << inner.str();
  return ok;
}

void AccuracyMatcher::DescribeTo(std::ostream* os) const {
  *os << "has accuracy that ";
  inner_.DescribeTo(os);
}

void AccuracyMatcher::DescribeNegationTo(std::ostream* os) const {
  *os << "has accuracy that ";
  inner_.DescribeNegationTo(os);
}

}  // namespace internal

void PrintTo(const Outcome& o, std::ostream* os) {
  // What was done is in the matcher's explanation; keep the printed value short.
  *os << "{accuracy " << internal::Fixed(o.accuracy.value()) << " (" << o.accuracy.successes << "/" << o.accuracy.n
      << "), " << o.flips.successes << (o.flips.successes == 1 ? " label" : " labels") << " flipped}";
}

}  // namespace synapse::testing
