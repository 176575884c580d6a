// GoogleMock matchers over robustness outcomes (synapse/testing/outcome.h) and the queries
// that produce them (synapse/testing/queries.h).
//
//   using namespace synapse::testing;
//   EXPECT_THAT(top10, AccuracyAtLeast(0.9));                        // the point estimate
//   EXPECT_THAT(top10, AccuracyAtLeast(0.9).WithConfidence(0.95));   // the Wilson lower bound
//   EXPECT_THAT(top10, ClassRecallAtLeast("ham", 0.95));
//   EXPECT_THAT(top10, AccuracyDropAtMost(0.02));
//   EXPECT_THAT(top10, FlipRateAtMost(0.01).WithConfidence(0.95));   // the Wilson upper bound
//   EXPECT_THAT(top10, Accuracy(::testing::Ge(0.9)));                // composed
//   EXPECT_THAT(top10, HurtsMoreThanRandom());                       // vs. its random control
//   EXPECT_THAT(spam10, ClassAsymmetryAtMost(0.1));
//   EXPECT_THAT(Baseline(), NoLabelFlipsUnderLogitShift(0.05));
//   EXPECT_THAT(Baseline(), MinFlipBudgetAtLeast(0.5).ForShare(0.01));
//   EXPECT_THAT(Probe(3), ProbeAccuracyAtLeast(0.9).WithConfidence(0.95));
//
// A failure explains itself with what was measured:
//   whose accuracy is 0.870 [0.835, 0.899 at 95%] on 412 examples after zeroing the global
//   top-10 neurons of layer 3 (encoder.layer.3) at every token (baseline 0.958)
//
// Inside a running test every assertion also records its metric, value, interval, threshold
// and verdict as test properties ("synapse.N.metric", ...), which --gtest_output=xml and the
// Synapse reporters (reporters.h) write out.
#ifndef SYNAPSE_TESTING_MATCHERS_H_
#define SYNAPSE_TESTING_MATCHERS_H_

#include <gmock/gmock.h>

#include <ostream>
#include <string>

#include "synapse/testing/outcome.h"

namespace synapse::testing {
namespace internal {

/// Which number of an outcome a threshold matcher reads.
enum class OutcomeMetric { kAccuracy, kAccuracyDrop, kClassRecall, kFlipRate };

/// A threshold on one metric of an Outcome: at least (kAtLeast) or at most. With a
/// confidence level, the matcher tests the side of the Wilson interval that must clear the
/// threshold (the lower bound for "at least", the upper for "at most"), so a pass is not
/// luck of the sample.
class ThresholdMatcher {
 public:
  using is_gtest_matcher = void;
  enum class Direction { kAtLeast, kAtMost };

  ThresholdMatcher(OutcomeMetric metric, Direction direction, double threshold, std::string class_name = "")
      : metric_(metric), direction_(direction), threshold_(threshold), class_name_(std::move(class_name)) {}

  /// Tests the bound of the `confidence` interval (e.g. 0.95) instead of the estimate.
  ThresholdMatcher WithConfidence(double confidence) const;

  bool MatchAndExplain(const Outcome& outcome, std::ostream* os) const;
  void DescribeTo(std::ostream* os) const;
  void DescribeNegationTo(std::ostream* os) const;

 private:
  void Describe(std::ostream* os, bool negated) const;

  OutcomeMetric metric_;
  Direction direction_;
  double threshold_;
  std::string class_name_;
  double confidence_ = 0;  // 0: the point estimate
};

/// Applies a matcher on double to the outcome's accuracy.
class AccuracyMatcher {
 public:
  using is_gtest_matcher = void;
  explicit AccuracyMatcher(::testing::Matcher<double> inner) : inner_(std::move(inner)) {}
  bool MatchAndExplain(const Outcome& outcome, std::ostream* os) const;
  void DescribeTo(std::ostream* os) const;
  void DescribeNegationTo(std::ostream* os) const;

 private:
  ::testing::Matcher<double> inner_;
};

/// How far logits must move to change labels (Outcome::flip_budget).
class FlipBudgetMatcher {
 public:
  using is_gtest_matcher = void;
  enum class Form { kNoFlipsUnder, kMinBudgetAtLeast };
  FlipBudgetMatcher(Form form, double budget) : form_(form), budget_(budget) {}

  /// MinFlipBudgetAtLeast only: the budget that flips at least `share` of the examples
  /// (e.g. 0.01) instead of the single most fragile example's.
  FlipBudgetMatcher ForShare(double share) const;

  bool MatchAndExplain(const Outcome& outcome, std::ostream* os) const;
  void DescribeTo(std::ostream* os) const;
  void DescribeNegationTo(std::ostream* os) const;

 private:
  void Describe(std::ostream* os, bool negated) const;
  Form form_;
  double budget_;
  double share_ = 0;  // 0: the smallest budget
};

/// The held-out accuracy of a layer's probe.
class ProbeAccuracyMatcher {
 public:
  using is_gtest_matcher = void;
  explicit ProbeAccuracyMatcher(double threshold) : threshold_(threshold) {}
  ProbeAccuracyMatcher WithConfidence(double confidence) const;

  bool MatchAndExplain(const ProbeOutcome& outcome, std::ostream* os) const;
  void DescribeTo(std::ostream* os) const;
  void DescribeNegationTo(std::ostream* os) const;

 private:
  void Describe(std::ostream* os, bool negated) const;
  double threshold_;
  double confidence_ = 0;
};

/// An ablation's accuracy drop exceeds its random control's, significantly.
class HurtsMoreThanRandomMatcher {
 public:
  using is_gtest_matcher = void;
  /// The one-sided test's level: significant when the lower `confidence` bound of the
  /// excess drop is above 0 (p < 1 − confidence). Default 0.95.
  HurtsMoreThanRandomMatcher WithConfidence(double confidence) const;

  bool MatchAndExplain(const Outcome& outcome, std::ostream* os) const;
  void DescribeTo(std::ostream* os) const;
  void DescribeNegationTo(std::ostream* os) const;

 private:
  void Describe(std::ostream* os, bool negated) const;
  double confidence_ = 0.95;
};

/// How unevenly an intervention hurts the classes' recall.
class ClassAsymmetryMatcher {
 public:
  using is_gtest_matcher = void;
  explicit ClassAsymmetryMatcher(double threshold) : threshold_(threshold) {}
  ClassAsymmetryMatcher WithConfidence(double confidence) const;

  bool MatchAndExplain(const Outcome& outcome, std::ostream* os) const;
  void DescribeTo(std::ostream* os) const;
  void DescribeNegationTo(std::ostream* os) const;

 private:
  void Describe(std::ostream* os, bool negated) const;
  double threshold_;
  double confidence_ = 0;
};

/// Set while a KnownWeakness matcher runs its inner matcher, so the record says so.
void SetExpectingWeakness(bool expecting);

/// Matches when `inner` does not: a requirement the model is known to miss.
template <typename Inner>
class KnownWeaknessMatcher {
 public:
  using is_gtest_matcher = void;
  explicit KnownWeaknessMatcher(Inner inner) : inner_(std::move(inner)) {}

  template <typename T>
  bool MatchAndExplain(const T& value, std::ostream* os) const {
    SetExpectingWeakness(true);
    bool inner_matched = false;
    try {
      inner_matched = inner_.MatchAndExplain(value, os);
    } catch (...) {
      SetExpectingWeakness(false);
      throw;
    }
    SetExpectingWeakness(false);
    if (inner_matched && os != nullptr) {
      *os << " — the known weakness is gone: make this EXPECT_THAT(..., matcher) so that it stays fixed";
    }
    return !inner_matched;
  }
  void DescribeTo(std::ostream* os) const {
    *os << "misses, as a known weakness, the requirement that it ";
    inner_.DescribeTo(os);
  }
  void DescribeNegationTo(std::ostream* os) const {
    *os << "meets the requirement, known as a weakness, that it ";
    inner_.DescribeTo(os);
  }

 private:
  Inner inner_;
};

}  // namespace internal

/// A requirement the model is known to miss, kept visible instead of loosened until green:
/// passes while `matcher` does not match, and fails with "the known weakness is gone" once
/// the model meets it (then turn it into an EXPECT_THAT). The record and the reports mark it
/// as a known weakness. See also EXPECT_KNOWN_WEAKNESS.
template <typename M>
internal::KnownWeaknessMatcher<M> KnownWeakness(M matcher) {
  return internal::KnownWeaknessMatcher<M>(std::move(matcher));
}

/// EXPECT_KNOWN_WEAKNESS(Baseline(), ClassRecallAtLeast("hard_ham", 0.8)) reads as the
/// requirement it documents.
#define EXPECT_KNOWN_WEAKNESS(value, matcher) EXPECT_THAT(value, ::synapse::testing::KnownWeakness(matcher))

/// Accuracy after the query is at least `x`.
inline internal::ThresholdMatcher AccuracyAtLeast(double x) {
  return {internal::OutcomeMetric::kAccuracy, internal::ThresholdMatcher::Direction::kAtLeast, x};
}
/// Accuracy fell by at most `d` from the unperturbed model's (baseline − accuracy ≤ d).
inline internal::ThresholdMatcher AccuracyDropAtMost(double d) {
  return {internal::OutcomeMetric::kAccuracyDrop, internal::ThresholdMatcher::Direction::kAtMost, d};
}
/// Recall of class `name` after the query is at least `x`.
inline internal::ThresholdMatcher ClassRecallAtLeast(const std::string& name, double x) {
  return {internal::OutcomeMetric::kClassRecall, internal::ThresholdMatcher::Direction::kAtLeast, x, name};
}
/// At most a share `r` of the examples changed their predicted label.
inline internal::ThresholdMatcher FlipRateAtMost(double r) {
  return {internal::OutcomeMetric::kFlipRate, internal::ThresholdMatcher::Direction::kAtMost, r};
}
/// The outcome's accuracy matches `m`, e.g. Accuracy(Ge(0.9)).
inline internal::AccuracyMatcher Accuracy(::testing::Matcher<double> m) { return internal::AccuracyMatcher(m); }

/// No example's label changes under any change of at most `budget` to each logit (L∞):
/// every example's top two logits are more than 2 × budget apart.
inline internal::FlipBudgetMatcher NoLabelFlipsUnderLogitShift(double budget) {
  return {internal::FlipBudgetMatcher::Form::kNoFlipsUnder, budget};
}
/// The smallest L∞ logit change that flips any example (or, with ForShare(s), a share s
/// of them) is at least `b`.
inline internal::FlipBudgetMatcher MinFlipBudgetAtLeast(double b) {
  return {internal::FlipBudgetMatcher::Form::kMinBudgetAtLeast, b};
}
/// The probe's accuracy on its held-out examples is at least `x`.
inline internal::ProbeAccuracyMatcher ProbeAccuracyAtLeast(double x) { return internal::ProbeAccuracyMatcher(x); }
/// The ablation costs more accuracy than ablating as many random neurons at the same place
/// (Config::random_seeds draws pooled), significantly: a one-sided test on the paired
/// per-example differences, at 95% unless WithConfidence says otherwise.
inline internal::HurtsMoreThanRandomMatcher HurtsMoreThanRandom() { return {}; }
/// Recall drops differ by at most `x` across classes. For an intervention aimed at a class
/// (TopK(k).OfClass(c), HeadWeightScale(c, ...)): c's own drop minus the mean drop of the
/// other classes (the report's class asymmetry); otherwise the largest drop minus the
/// smallest.
inline internal::ClassAsymmetryMatcher ClassAsymmetryAtMost(double x) { return internal::ClassAsymmetryMatcher(x); }

/// Prints an outcome in gtest messages: "{accuracy 0.870 (359/412), 5 labels flipped}".
void PrintTo(const Outcome& outcome, std::ostream* os);

}  // namespace synapse::testing

#endif  // SYNAPSE_TESTING_MATCHERS_H_
