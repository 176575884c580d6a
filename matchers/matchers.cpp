#include "synapse/gtest/matchers.h"

#include <iomanip>
#include <limits>
#include <sstream>

#include "gtest/recorder.h"
#include "util/number_text.h"
#include "synapse/robustness/adaptive.h"
#include "synapse/robustness/model_under_test.h"
#include "synapse/robustness/queries.h"

namespace synapse::robustness {
namespace internal {
namespace {

// Writes the explanation where GoogleMock wants it (a null stream: the verdict only) and
// records the verdict for the running test.
bool Finish(const Verdict& v, std::ostream* os) {
  if (os != nullptr) *os << v.explanation;
  RecordVerdict(v);
  return v.passed;
}

// The outcome of a query, or false with "which cannot run: <error>" on `os`.
template <typename Q, typename O>
bool RunQuery(const Q& q, O* outcome, std::ostream* os) {
  try {
    *outcome = q.outcome();
    return true;
  } catch (const std::exception& e) {
    if (os != nullptr) *os << "which cannot run: " << e.what();
    return false;
  }
}

}  // namespace

bool QueryRuns(const Query& q, std::ostream* os) {
  Outcome o;
  return RunQuery(q, &o, os);
}

bool QueryRuns(const ProbeQuery& q, std::ostream* os) {
  ProbeOutcome o;
  return RunQuery(q, &o, os);
}

bool CheckMatcher::MatchAndExplain(const Query& q, std::ostream* os) const {
  if (q.model() && q.model()->config().adaptive() && IsSequential(check_.metric)) {
    // Config().adaptive(): only the examples the verdict needs (adaptive.h).
    Verdict v;
    try {
      AdaptiveItem item;
      item.check = check_;
      item.query = q;
      v = RunAdaptive(*q.model(), {item}, AdaptiveOptions().seed(q.model()->config().seed())).verdicts[0].verdict;
    } catch (const std::exception& e) {
      if (os != nullptr) *os << "which cannot run: " << e.what();
      return false;
    }
    return Finish(v, os);
  }
  Outcome o;
  return RunQuery(q, &o, os) && MatchAndExplain(o, os);
}

bool CheckMatcher::MatchAndExplain(const ProbeQuery& q, std::ostream* os) const {
  ProbeOutcome o;
  return RunQuery(q, &o, os) && MatchAndExplain(o, os);
}

bool AccuracyMatcher::MatchAndExplain(const Query& q, std::ostream* os) const {
  Outcome o;
  return RunQuery(q, &o, os) && MatchAndExplain(o, os);
}

CheckMatcher CheckMatcher::WithConfidence(double confidence) const {
  CheckMatcher copy = *this;
  copy.check_.confidence = confidence;
  return copy;
}

CheckMatcher CheckMatcher::ForShare(double share) const {
  CheckMatcher copy = *this;
  copy.check_.share = share;
  return copy;
}

bool CheckMatcher::MatchAndExplain(const Outcome& o, std::ostream* os) const { return Finish(Evaluate(check_, o), os); }
bool CheckMatcher::MatchAndExplain(const ProbeOutcome& o, std::ostream* os) const {
  return Finish(Evaluate(check_, o), os);
}
void CheckMatcher::DescribeTo(std::ostream* os) const { *os << Describe(check_); }
void CheckMatcher::DescribeNegationTo(std::ostream* os) const { *os << Describe(check_, /*negated=*/true); }

bool AccuracyMatcher::MatchAndExplain(const Outcome& o, std::ostream* os) const {
  // The estimate, its interval and the explanation as AccuracyAtLeast gives them; the
  // verdict from the inner matcher.
  Check accuracy;
  accuracy.metric = Metric::kAccuracy;
  Verdict v = Evaluate(accuracy, o);
  std::ostringstream description;
  DescribeTo(&description);
  v.requirement = description.str();
  v.tested = v.value;
  v.threshold = std::numeric_limits<double>::quiet_NaN();
  v.comparison = "matches";
  ::testing::StringMatchResultListener inner;
  v.passed = inner_.MatchAndExplain(v.value, &inner);
  if (!inner.str().empty()) v.explanation += ", " + inner.str();
  return Finish(v, os);
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
  if (!o.query.empty()) *os << o.query << " ";
  *os << "{accuracy " << Fixed(o.accuracy.value()) << " (" << o.accuracy.successes << "/" << o.accuracy.n << "), "
      << o.flips.successes << (o.flips.successes == 1 ? " label" : " labels") << " flipped}";
}

void PrintTo(const ProbeOutcome& o, std::ostream* os) {
  *os << o.query << " {held-out accuracy " << Fixed(o.test_accuracy.value()) << " (" << o.test_accuracy.successes << "/"
      << o.test_accuracy.n << ")}";
}

namespace {
// A query prints as its outcome, running it if need be; a query that cannot run prints as
// written (the matchers say why: "which cannot run: ..."), never throwing out of gtest's
// printer.
template <typename Q>
void PrintQuery(const Q& q, std::ostream* os) {
  try {
    PrintTo(q.outcome(), os);
  } catch (const std::exception&) {
    *os << q.ToString();
  }
}
}  // namespace

void PrintTo(const Query& q, std::ostream* os) { PrintQuery(q, os); }
void PrintTo(const ProbeQuery& q, std::ostream* os) { PrintQuery(q, os); }

}  // namespace synapse::robustness
