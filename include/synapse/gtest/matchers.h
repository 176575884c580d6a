// GoogleMock matchers over robustness outcomes (synapse/robustness/outcome.h) and the queries
// that produce them (synapse/robustness/queries.h).
//
//   using namespace synapse::robustness;
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
#ifndef SYNAPSE_GTEST_MATCHERS_H_
#define SYNAPSE_GTEST_MATCHERS_H_

#include <string>

#include "synapse/robustness/check.h"
#include "synapse/robustness/outcome.h"
#include "synapse/robustness/queries.h"
#include "synapse/gtest/internal/matchers_impl.h"

namespace synapse::robustness {

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
#define EXPECT_KNOWN_WEAKNESS(value, matcher) EXPECT_THAT(value, ::synapse::robustness::KnownWeakness(matcher))

/// Accuracy after the query is at least `x`.
inline internal::CheckMatcher AccuracyAtLeast(double x) { return internal::Requiring(Metric::kAccuracy, x); }
/// Accuracy fell by at most `d` from the unperturbed model's (baseline − accuracy ≤ d).
inline internal::CheckMatcher AccuracyDropAtMost(double d) { return internal::Requiring(Metric::kAccuracyDrop, d); }
/// Recall of class `name` after the query is at least `x`.
inline internal::CheckMatcher ClassRecallAtLeast(const std::string& name, double x) {
  return internal::Requiring(Metric::kRecall, x, name);
}
/// At most a share `r` of the examples changed their predicted label.
inline internal::CheckMatcher FlipRateAtMost(double r) { return internal::Requiring(Metric::kFlipRate, r); }
/// The outcome's accuracy matches `m`, e.g. Accuracy(Ge(0.9)).
inline internal::AccuracyMatcher Accuracy(::testing::Matcher<double> m) { return internal::AccuracyMatcher(m); }
/// No example's label changes under any change of at most `budget` to each logit (L∞):
/// every example's top two logits are more than 2 × budget apart.
inline internal::CheckMatcher NoLabelFlipsUnderLogitShift(double budget) {
  return internal::Requiring(Metric::kNoLabelFlipsUnderShift, budget);
}
/// The smallest L∞ logit change that flips any example (or, with ForShare(s), a share s
/// of them) is at least `b`.
inline internal::CheckMatcher MinFlipBudgetAtLeast(double b) { return internal::Requiring(Metric::kMinFlipBudget, b); }
/// The probe's accuracy on its held-out examples is at least `x`.
inline internal::CheckMatcher ProbeAccuracyAtLeast(double x) { return internal::Requiring(Metric::kProbeAccuracy, x); }
/// The ablation costs more accuracy than ablating as many random neurons at the same place
/// (Config::random_seeds draws pooled), significantly: a one-sided test on the paired
/// per-example differences, at 95% unless WithConfidence says otherwise.
inline internal::CheckMatcher HurtsMoreThanRandom() { return internal::Requiring(Metric::kHurtsMoreThanRandom); }
/// Recall drops differ by at most `x` across classes. For an intervention aimed at a class
/// (TopK(k).OfClass(c), HeadWeightScale(c, ...)): c's own drop minus the mean drop of the
/// other classes (the report's class asymmetry); otherwise the largest drop minus the
/// smallest.
inline internal::CheckMatcher ClassAsymmetryAtMost(double x) { return internal::Requiring(Metric::kClassAsymmetry, x); }

/// Prints an outcome in gtest messages: "{accuracy 0.870 (359/412), 5 labels flipped}".
void PrintTo(const Outcome& outcome, std::ostream* os);

}  // namespace synapse::robustness

#endif  // SYNAPSE_GTEST_MATCHERS_H_
