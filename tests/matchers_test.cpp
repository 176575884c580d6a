// The matchers over outcomes, on a real report: `synapse analyze` on the embedded default
// model (models/spam-tiny, its 887 test messages), last layer only. Every expected number
// is read from the report's own fields or recomputed from its confusion matrix.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "synapse/error.h"
#include "synapse/testing.h"
#include "test_util.h"

namespace synapse {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using namespace synapse::robustness;  // NOLINT: how users write it

const std::string kCli = SYNAPSE_CLI;

template <typename M>
std::string Describe(const M& m) {
  return ::testing::DescribeMatcher<const Outcome&>(m);
}
template <typename M>
std::string DescribeNegation(const M& m) {
  return ::testing::DescribeMatcher<const Outcome&>(m, /*negation=*/true);
}
template <typename M>
std::string Explain(const M& m, const Outcome& o) {
  ::testing::StringMatchResultListener listener;
  ::testing::Matcher<const Outcome&>(m).MatchAndExplain(o, &listener);
  return listener.str();
}

class MatchersTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = test::TempDir("matchers");
    test::CommandResult r = test::RunCommand(kCli +
                                                 " analyze --threads 1 --layers -1 --k 10,64 --random-seeds 2 "
                                                 "--noise 0.5 --no-weight-space --quiet --out " +
                                                 dir,
                                             dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    report_ = new json(json::parse(test::ReadFile(dir + "/report.json")));
  }
  static void TearDownTestSuite() { delete report_; }
  static const json& report() { return *report_; }
  static json* report_;
};
json* MatchersTest::report_ = nullptr;

TEST_F(MatchersTest, BaselineCountsComeFromTheReport) {
  const Outcome base = BaselineOutcome(report());
  const json& confusion = report()["baseline"]["confusion"];
  EXPECT_EQ(base.accuracy.n, 887);
  EXPECT_EQ(base.accuracy.successes, report()["baseline"]["correct"].get<int64_t>());
  const json& names = report()["data"]["classes"];
  for (size_t c = 0; c < names.size(); ++c) {
    const Rate& recall = base.recall.at(names[c]);
    int64_t support = 0;
    for (const json& v : confusion[c]) support += v.get<int64_t>();
    EXPECT_EQ(recall.n, support) << names[c];
    EXPECT_EQ(recall.successes, confusion[c][c].get<int64_t>()) << names[c];
  }
  EXPECT_EQ(base.flips.successes, 0);
  EXPECT_TRUE(base.what.empty());
}

TEST_F(MatchersTest, AccuracyAtLeastMatchesTheEstimateAndExplainsIt) {
  const Outcome base = BaselineOutcome(report());
  const double acc = base.accuracy.value();
  EXPECT_THAT(base, AccuracyAtLeast(acc - 0.01));
  EXPECT_THAT(base, Not(AccuracyAtLeast(acc + 0.01)));
  EXPECT_EQ(Describe(AccuracyAtLeast(0.9)), "has accuracy at least 0.900");
  EXPECT_EQ(DescribeNegation(AccuracyAtLeast(0.9)), "doesn't have accuracy at least 0.900");
  EXPECT_EQ(Explain(AccuracyAtLeast(0.9), base),
            "whose accuracy is 0.958 [0.943, 0.970 at 95%] on 887 examples with no intervention (baseline 0.958)");
}

// Between the Wilson lower bound and the estimate: the point estimate passes, the
// confidence version does not.
TEST_F(MatchersTest, WithConfidenceTestsTheWilsonBound) {
  const Outcome base = BaselineOutcome(report());
  const Interval ci = base.accuracy.Wilson(0.95);
  const double between = (ci.low + base.accuracy.value()) / 2;
  EXPECT_THAT(base, AccuracyAtLeast(between));
  EXPECT_THAT(base, Not(AccuracyAtLeast(between).WithConfidence(0.95)));
  EXPECT_THAT(base, AccuracyAtLeast(ci.low - 1e-9).WithConfidence(0.95));
  EXPECT_EQ(Describe(AccuracyAtLeast(0.95).WithConfidence(0.99)),
            "has accuracy at least 0.950 with 99% confidence (the Wilson interval's lower bound)");
  EXPECT_THAT(Explain(AccuracyAtLeast(0.95).WithConfidence(0.95), base),
              HasSubstr("; the lower bound 0.943 misses 0.950"));
  // A higher level widens the interval.
  EXPECT_LT(base.accuracy.Wilson(0.99).low, ci.low);
}

TEST_F(MatchersTest, ClassRecallNamesTheClassAndItsCounts) {
  const Outcome base = BaselineOutcome(report());
  const double hard = base.recall.at("hard_ham").value();
  EXPECT_THAT(base, ClassRecallAtLeast("hard_ham", hard));
  EXPECT_THAT(base, Not(ClassRecallAtLeast("hard_ham", hard + 0.01)));
  EXPECT_THAT(Explain(ClassRecallAtLeast("hard_ham", 0.9), base),
              StartsWith("whose recall of class \"hard_ham\" is 0.514 (19/37) [0.359, 0.666 at 95%]"));
  EXPECT_THAT(base, Not(ClassRecallAtLeast("hardham", 0.1)));
  EXPECT_EQ(Explain(ClassRecallAtLeast("hardham", 0.1), base),
            "which has no class \"hardham\" (classes: ham hard_ham spam)");
}

TEST_F(MatchersTest, AblationOutcomesCarryWhatWasDone) {
  const Outcome top = ExperimentOutcome(report(), -1, "top", 64);
  EXPECT_EQ(top.what, "zeroing the global top-64 neurons of layer 3 (encoder.layer.3) at every token");
  const json* row = nullptr;
  for (const json& r : report()["layers"][3]["experiments"]) {
    if (r["selection"] == "top" && r["k"] == 64) row = &r;
  }
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(top.accuracy.successes, (*row)["metrics"]["correct"].get<int64_t>());
  EXPECT_EQ(top.flips.successes, (*row)["metrics"]["flips"].get<int64_t>());
  const double drop = top.baseline_accuracy.value() - top.accuracy.value();
  EXPECT_NEAR(drop, (*row)["metrics"]["accuracy_drop"].get<double>(), 1e-12);
  EXPECT_THAT(top, AccuracyDropAtMost(drop + 1e-9));
  EXPECT_THAT(top, Not(AccuracyDropAtMost(drop - 0.001)));
  EXPECT_THAT(Explain(AccuracyDropAtMost(0.01), top),
              HasSubstr("on 887 examples after zeroing the global top-64 neurons of layer 3"));

  const double flip_rate = top.flips.value();
  EXPECT_THAT(top, FlipRateAtMost(flip_rate));
  EXPECT_THAT(top, Not(FlipRateAtMost(flip_rate).WithConfidence(0.95)));  // the upper bound is above it
  EXPECT_THAT(Explain(FlipRateAtMost(0.5), top),
              HasSubstr("(" + std::to_string(top.flips.successes) + " of 887 labels changed)"));

  const Outcome random = ExperimentOutcome(report(), 3, "random", 64);
  EXPECT_EQ(random.accuracy.n, 2 * 887);  // two draws pooled
  EXPECT_EQ(random.recall.at("spam").n, 2 * 271);
  const Outcome noise = ExperimentOutcome(report(), -1, "noise", 0, "", 0.5);
  EXPECT_THAT(noise.what, StartsWith("adding Gaussian noise of 0.5 × each neuron's std of layer 3"));
  const Outcome ham = ExperimentOutcome(report(), -1, "class_top", 10, "ham");
  EXPECT_THAT(ham.what, StartsWith("zeroing class ham's top-10 neurons"));
}

TEST_F(MatchersTest, AccuracyComposesWithOtherMatchers) {
  const Outcome base = BaselineOutcome(report());
  EXPECT_THAT(base, Accuracy(::testing::Ge(0.9)));
  EXPECT_THAT(base, Not(Accuracy(::testing::Lt(0.5))));
  EXPECT_THAT(base, Accuracy(::testing::AllOf(::testing::Gt(0.95), ::testing::Lt(0.96))));
  EXPECT_EQ(Describe(Accuracy(::testing::Ge(0.9))), "has accuracy that is >= 0.9");
}

TEST_F(MatchersTest, AMissingRowIsAClearError) {
  try {
    ExperimentOutcome(report(), -1, "top", 7);
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_EQ(e.id(), 210);
    EXPECT_THAT(std::string(e.what()), HasSubstr("no experiment top k=7 at layer -1; run the analysis with that"));
  }
  try {
    ExperimentOutcome(report(), 9, "top", 10);
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("no layer 9: the report has 4 layers"));
  }
}

}  // namespace
}  // namespace synapse
