// The matcher classes behind synapse/gtest/matchers.h (internal: use the factories there,
// as GoogleMock keeps its own matcher classes in gmock/internal/).
#ifndef SYNAPSE_GTEST_INTERNAL_MATCHERS_IMPL_H_
#define SYNAPSE_GTEST_INTERNAL_MATCHERS_IMPL_H_

#include <gmock/gmock.h>

#include <ostream>
#include <string>
#include <utility>

#include "synapse/robustness/check.h"
#include "synapse/robustness/outcome.h"
#include "synapse/robustness/queries.h"

namespace synapse::robustness {
namespace internal {

/// A GoogleMock matcher for one Check (check.h): the verdict's explanation is the
/// matcher's, and the verdict is recorded for the running test.
class CheckMatcher {
 public:
  using is_gtest_matcher = void;
  explicit CheckMatcher(Check check) : check_(std::move(check)) {}

  /// Tests the bound of the `confidence` interval (e.g. 0.95) instead of the estimate
  /// (HurtsMoreThanRandom: the level of its one-sided test).
  CheckMatcher WithConfidence(double confidence) const;
  /// MinFlipBudgetAtLeast only: the budget that flips at least `share` of the examples
  /// (e.g. 0.01) instead of the single most fragile example's.
  CheckMatcher ForShare(double share) const;

  bool MatchAndExplain(const Outcome& outcome, std::ostream* os) const;
  bool MatchAndExplain(const ProbeOutcome& outcome, std::ostream* os) const;
  /// A query that cannot run does not match, "which cannot run: [synapse.spec.311] ...",
  /// so the failure keeps the test's file and line.
  bool MatchAndExplain(const Query& query, std::ostream* os) const;
  bool MatchAndExplain(const ProbeQuery& query, std::ostream* os) const;
  void DescribeTo(std::ostream* os) const;
  void DescribeNegationTo(std::ostream* os) const;

  const Check& check() const { return check_; }

 private:
  Check check_;
};

/// Applies a matcher on double to the outcome's accuracy.
class AccuracyMatcher {
 public:
  using is_gtest_matcher = void;
  explicit AccuracyMatcher(::testing::Matcher<double> inner) : inner_(std::move(inner)) {}
  bool MatchAndExplain(const Outcome& outcome, std::ostream* os) const;
  bool MatchAndExplain(const Query& query, std::ostream* os) const;
  void DescribeTo(std::ostream* os) const;
  void DescribeNegationTo(std::ostream* os) const;

 private:
  ::testing::Matcher<double> inner_;
};

/// Set while a KnownWeakness matcher runs its inner matcher, so the record says so.
void SetExpectingWeakness(bool expecting);

/// Whether a query runs (false, and "which cannot run: ..." on `os`, when it throws); any
/// other value runs.
bool QueryRuns(const Query& query, std::ostream* os);
bool QueryRuns(const ProbeQuery& query, std::ostream* os);
template <typename T>
bool QueryRuns(const T&, std::ostream*) {
  return true;
}

/// Matches when `inner` does not: a requirement the model is known to miss.
template <typename Inner>
class KnownWeaknessMatcher {
 public:
  using is_gtest_matcher = void;
  explicit KnownWeaknessMatcher(Inner inner) : inner_(std::move(inner)) {}

  template <typename T>
  bool MatchAndExplain(const T& value, std::ostream* os) const {
    // A query that cannot run is no known weakness: it fails.
    if (!QueryRuns(value, os)) return false;
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

namespace internal {
/// A check of `metric` against `threshold` (for a class's recall, `class_name`'s).
inline CheckMatcher Requiring(Metric metric, double threshold = 0, std::string class_name = "") {
  Check check;
  check.metric = metric;
  check.threshold = threshold;
  check.class_name = std::move(class_name);
  return CheckMatcher(std::move(check));
}
}  // namespace internal

}  // namespace synapse::robustness

#endif  // SYNAPSE_GTEST_INTERNAL_MATCHERS_IMPL_H_
