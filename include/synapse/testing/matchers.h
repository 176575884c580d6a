// GoogleMock matchers over robustness outcomes (synapse/testing/outcome.h).
//
//   using namespace synapse::testing;
//   EXPECT_THAT(top10, AccuracyAtLeast(0.9));                        // the point estimate
//   EXPECT_THAT(top10, AccuracyAtLeast(0.9).WithConfidence(0.95));   // the Wilson lower bound
//   EXPECT_THAT(top10, ClassRecallAtLeast("ham", 0.95));
//   EXPECT_THAT(top10, AccuracyDropAtMost(0.02));
//   EXPECT_THAT(top10, FlipRateAtMost(0.01).WithConfidence(0.95));   // the Wilson upper bound
//   EXPECT_THAT(top10, Accuracy(::testing::Ge(0.9)));                // composed
//
// A failure explains itself with what was measured:
//   whose accuracy is 0.870 [0.835, 0.899 at 95%] on 412 examples after zeroing the global
//   top-10 neurons of layer 3 (encoder.layer.3) at every token (baseline 0.958)
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
  bool Match(const Outcome& outcome, std::ostream* os) const;

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

}  // namespace internal

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

/// Prints an outcome in gtest messages: "{accuracy 0.870 (359/412), 5 labels flipped}".
void PrintTo(const Outcome& outcome, std::ostream* os);

}  // namespace synapse::testing

#endif  // SYNAPSE_TESTING_MATCHERS_H_
