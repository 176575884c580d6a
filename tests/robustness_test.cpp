// The live robustness engine behind RobustnessTest (ModelUnderTest, queries, matchers,
// reporters, the standard suite's spec), on the embedded default model (models/spam-tiny,
// 887 test messages). The live numbers are checked against `synapse analyze` run with the
// same seed: two independent paths through the engine must agree exactly.
//
// Registered as one ctest (the model loads once for the whole binary, as in a user's suite).
#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <regex>

#include "synapse/error.h"
#include "synapse/report_files.h"
#include "synapse/report_parts.h"
#include "synapse/runtime.h"
#include "synapse/testing.h"
#include "test_util.h"

namespace synapse {
namespace {

using nlohmann::json;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace synapse::robustness;  // NOLINT: how users write it

const std::string kCli = SYNAPSE_CLI;
const std::string kModelDir = std::string(SYNAPSE_SOURCE_DIR) + "/models/spam-tiny";
constexpr uint64_t kSeed = 3;

template <typename M, typename T>
std::string Explain(const M& m, const T& value) {
  ::testing::StringMatchResultListener listener;
  ::testing::Matcher<const T&>(m).MatchAndExplain(value, &listener);
  return listener.str();
}

class LiveEngine : public RobustnessTest {
 protected:
  LiveEngine() : RobustnessTest(Config().model(kModelDir).seed(kSeed)) {}

  // `synapse analyze` with the same seed, last and first layers, k 10 and 32.
  static const json& CliReport() {
    static const json* report = [] {
      const std::string dir = test::TempDir("robustness_cli");
      test::CommandResult r = test::RunCommand(kCli +
                                                   " analyze --threads 1 --seed 3 --layers 0,-1 --k 10,32 "
                                                   "--random-seeds 2 --noise 0.5 --no-weight-space --quiet --out " +
                                                   dir,
                                               dir);
      EXPECT_EQ(r.exit_code, 0) << r.err;
      return new json(json::parse(test::ReadFile(dir + "/report.json")));
    }();
    return *report;
  }
};

void ExpectSameOutcome(const Outcome& live, const Outcome& cli) {
  EXPECT_EQ(live.accuracy.successes, cli.accuracy.successes) << live.query;
  EXPECT_EQ(live.accuracy.n, cli.accuracy.n) << live.query;
  EXPECT_EQ(live.flips.successes, cli.flips.successes) << live.query;
  for (const auto& [name, rate] : cli.recall) {
    EXPECT_EQ(live.recall.at(name).successes, rate.successes) << live.query << " " << name;
    EXPECT_EQ(live.recall.at(name).n, rate.n) << live.query << " " << name;
  }
}

TEST_F(LiveEngine, BaselineMatchesTheCli) {
  const Outcome live = Baseline();
  ExpectSameOutcome(live, BaselineOutcome(CliReport()));
  EXPECT_EQ(live.accuracy.n, 887);
  EXPECT_EQ(live.flips.successes, 0);
  EXPECT_EQ(live.correct.size(), 887u);
  EXPECT_EQ(live.flip_budget.size(), 887u);
  EXPECT_EQ(live.query, "Baseline()");
}

TEST_F(LiveEngine, AblationsMatchTheCliWithTheSameSeed) {
  for (int layer : {0, -1}) {
    for (int64_t k : {10, 32}) {
      ExpectSameOutcome(Ablate(TopK(k)).AtLayer(layer), ExperimentOutcome(CliReport(), layer, "top", k));
      ExpectSameOutcome(Ablate(BottomK(k)).AtLayer(layer), ExperimentOutcome(CliReport(), layer, "bottom", k));
      // The CLI pools its 2 random draws; the live query draws the same sets.
      ExpectSameOutcome(Ablate(RandomK(k).Seeds(2)).AtLayer(layer), ExperimentOutcome(CliReport(), layer, "random", k));
      for (const char* c : {"ham", "hard_ham", "spam"}) {
        ExpectSameOutcome(Ablate(TopK(k).OfClass(c)).AtLayer(layer),
                          ExperimentOutcome(CliReport(), layer, "class_top", k, c));
      }
    }
  }
}

TEST_F(LiveEngine, NoiseAndProbesMatchTheCli) {
  for (int layer : {0, -1}) {
    ExpectSameOutcome(Noise(0.5).AtLayer(layer), ExperimentOutcome(CliReport(), layer, "noise", 0, "", 0.5));
    const ProbeOutcome live = Probe(layer);
    const ProbeOutcome cli = ProbeOutcomeOf(CliReport(), layer);
    EXPECT_EQ(live.test_accuracy.successes, cli.test_accuracy.successes) << layer;
    EXPECT_EQ(live.test_accuracy.n, cli.test_accuracy.n) << layer;
    EXPECT_EQ(live.layer, cli.layer);
  }
}

TEST_F(LiveEngine, PooledOnlyAndMeanAblationsAreTheirOwnExperiments) {
  const Outcome all = Ablate(TopK(64)).AtLayer(0);
  const Outcome pooled = Ablate(TopK(64)).AtLayer(0).PooledOnly();
  const Outcome mean = Ablate(TopK(64)).AtLayer(0).ToMean();
  EXPECT_EQ(pooled.query, "Ablate(TopK(64)).AtLayer(0).PooledOnly()");
  EXPECT_THAT(pooled.what, HasSubstr("at the pooled token"));
  EXPECT_THAT(mean.what, HasSubstr("setting to their mean"));
  // Zeroing at every token moves more labels than at [CLS] alone (measured: 17 vs ≤ 17).
  EXPECT_GE(all.flips.successes, pooled.flips.successes);
  EXPECT_GT(all.flips.successes, 0);
}

TEST_F(LiveEngine, LogitShiftCountsEveryFlippableExample) {
  const Outcome base = Baseline();
  for (double budget : {0.0, 0.1, 0.5, 2.0}) {
    const Outcome shifted = LogitShift(budget);
    int64_t flippable = 0, stay_right = 0;
    for (size_t i = 0; i < base.flip_budget.size(); ++i) {
      flippable += base.flip_budget[i] <= budget;
      stay_right += base.correct[i] > 0.5 && base.flip_budget[i] > budget;
    }
    EXPECT_EQ(shifted.flips.successes, flippable) << budget;
    EXPECT_EQ(shifted.accuracy.successes, stay_right) << budget;
  }
  // A matcher on the same numbers: the smallest budget flips exactly one example.
  double smallest = 1e9;
  for (double b : base.flip_budget) smallest = std::min(smallest, b);
  EXPECT_THAT(Baseline(), NoLabelFlipsUnderLogitShift(smallest * 0.99));
  EXPECT_THAT(Baseline(), Not(NoLabelFlipsUnderLogitShift(smallest)));
  EXPECT_THAT(Baseline(), MinFlipBudgetAtLeast(smallest));
  EXPECT_THAT(Baseline(), Not(MinFlipBudgetAtLeast(smallest * 1.01)));
  EXPECT_THAT(Explain(NoLabelFlipsUnderLogitShift(smallest), Baseline()),
              HasSubstr("where 1 of 887 labels flip under a logit change of"));
}

TEST_F(LiveEngine, HeadWeightScaleRestoresTheWeightsAndMovesLabels) {
  // Flipping the sign of spam's ten largest head weights (factor −16, as the analysis's
  // search finds) sends other mail to spam; doubling them changes nothing.
  const Outcome doubled = HeadWeightScale("spam", TopK(10), 2.0);
  const Outcome flipped = HeadWeightScale("spam", TopK(10), -16.0);
  EXPECT_EQ(doubled.flips.successes, 0);
  EXPECT_GT(flipped.flips.successes, 100);
  EXPECT_EQ(flipped.target_class, "spam");
  EXPECT_THAT(flipped.what, HasSubstr("scaling class spam's 10 largest head weights (classifier.weight) by -16"));
  // The weights are back: the baseline recomputed after both is the same.
  ExpectSameOutcome(Baseline(), BaselineOutcome(CliReport()));
  EXPECT_THAT(HeadWeightScale("spam", TopK(10), 2.0), FlipRateAtMost(0.01).WithConfidence(0.95));
  EXPECT_THAT(HeadWeightScale("spam", TopK(10), -16.0), Not(FlipRateAtMost(0.05)));
}

TEST_F(LiveEngine, HurtsMoreThanRandomUsesThePairedControl) {
  const Outcome top = Ablate(TopK(64)).AtLayer(0);
  ASSERT_TRUE(top.random_control);
  const Outcome control = top.random_control();
  EXPECT_EQ(control.query, "Ablate(RandomK(64).Seeds(5)).AtLayer(0)");
  EXPECT_EQ(control.accuracy.n, 5 * 887);
  // Measured: top-64 of layer 0 costs no more than 64 random neurons.
  EXPECT_THAT(Ablate(TopK(64)).AtLayer(0), Not(HurtsMoreThanRandom()));
  const std::string why = Explain(HurtsMoreThanRandom(), top);
  EXPECT_THAT(why, AllOf(HasSubstr("below the random control's"), HasSubstr("paired one-sided p ="),
                         HasSubstr("not significant")));
  // A random ablation has no control of its own.
  EXPECT_THAT(Explain(HurtsMoreThanRandom(), Ablate(RandomK(5)).AtLayer(0).outcome()),
              HasSubstr("has no random control"));
}

TEST_F(LiveEngine, ClassAsymmetryReadsTheTargetClass) {
  // Layer 0's top-64: hard_ham loses about a quarter of its recall, ham and spam nothing.
  const Outcome global = Ablate(TopK(64)).AtLayer(0);
  const double hard = global.baseline_recall.at("hard_ham").value() - global.recall.at("hard_ham").value();
  EXPECT_GT(hard, 0.15);
  EXPECT_THAT(global, Not(ClassAsymmetryAtMost(0.1)));
  EXPECT_THAT(global, ClassAsymmetryAtMost(0.3));
  EXPECT_THAT(Explain(ClassAsymmetryAtMost(0.1), global), HasSubstr("where class hard_ham's recall drops most"));
  // Aimed at spam: spam's own drop against the others' mean, which is negative here.
  const Outcome spam = Ablate(TopK(64).OfClass("spam")).AtLayer(0);
  EXPECT_EQ(spam.target_class, "spam");
  EXPECT_THAT(spam, ClassAsymmetryAtMost(0.0));
  EXPECT_THAT(Explain(ClassAsymmetryAtMost(0.0), spam), HasSubstr("where class spam's recall drops by"));
}

TEST_F(LiveEngine, ProbeAccuracyMatcherUsesTheHeldOutSplit) {
  const ProbeOutcome p = Probe(1);
  EXPECT_EQ(p.test_accuracy.n, 177);
  EXPECT_THAT(Probe(1), ProbeAccuracyAtLeast(p.test_accuracy.value()));
  EXPECT_THAT(Probe(1), Not(ProbeAccuracyAtLeast(p.test_accuracy.value()).WithConfidence(0.95)));
  EXPECT_THAT(Explain(ProbeAccuracyAtLeast(0.99), p), HasSubstr("held-out examples"));
}

TEST_F(LiveEngine, KnownWeaknessPassesWhileTheRequirementIsMissed) {
  EXPECT_KNOWN_WEAKNESS(Baseline(), ClassRecallAtLeast("hard_ham", 0.8));
  const std::string gone = Explain(KnownWeakness(ClassRecallAtLeast("hard_ham", 0.1)), Baseline().outcome());
  EXPECT_THAT(gone, HasSubstr("the known weakness is gone"));
  EXPECT_FALSE(::testing::Matches(KnownWeakness(ClassRecallAtLeast("hard_ham", 0.1)))(Baseline().outcome()));
}

TEST_F(LiveEngine, AssertionsBecomeTestProperties) {
  EXPECT_THAT(Ablate(TopK(10)).AtLayer(-1), AccuracyAtLeast(0.9).WithConfidence(0.95));
  EXPECT_THAT(Ablate(TopK(10)).AtLayer(-1), AccuracyAtLeast(0.9).WithConfidence(0.95));  // same: recorded once
  const ::testing::TestResult* result = ::testing::UnitTest::GetInstance()->current_test_info()->result();
  std::map<std::string, std::string> props;
  for (int i = 0; i < result->test_property_count(); ++i) {
    props[result->GetTestProperty(i).key()] = result->GetTestProperty(i).value();
  }
  EXPECT_EQ(props["synapse.1.query"], "Ablate(TopK(10)).AtLayer(-1)");
  EXPECT_EQ(props["synapse.1.metric"], "accuracy");
  EXPECT_THAT(props["synapse.1.interval"], ::testing::MatchesRegex(R"(\[0\.9[0-9]*, 0\.9[0-9]*\] at 0\.95)"));
  EXPECT_EQ(props["synapse.1.threshold"], ">= 0.9");
  EXPECT_EQ(props["synapse.1.verdict"], "match");
  EXPECT_EQ(props.count("synapse.2.query"), 0u);
}

TEST_F(LiveEngine, QueriesThatDoNotFitTheModelSayWhy) {
  test::ExpectError<Error>([&] { Ablate(TopK(10)).AtLayer(7).outcome(); }, 311, "no layer 7: the model has 4 layers");
  test::ExpectError<Error>([&] { Ablate(TopK(500)).AtLayer(0).outcome(); }, 311, "k = 500 is outside 1..128");
  test::ExpectError<Error>([&] { Ablate(TopK(5).OfClass("phishing")).outcome(); }, 311,
                           "no class \"phishing\" (classes: ham, hard_ham, spam)");
  test::ExpectError<Error>([&] { LogitShift(0.5).AtLayer(1); }, 311, "only Ablate and Noise queries take it");
  test::ExpectError<Error>([&] { BottomK(3).OfClass("spam"); }, 311, "only TopK has a per-class ranking");
  test::ExpectError<Error>(
      [&] {
        Ablate(NeuronSet({1, 200})).AtLayer(0).outcome();
      },
      311, "neuron 200 is out of range");
}

// A query that cannot run fails the EXPECT_THAT it is in, at its file and line, with the
// error as the explanation (not "unknown file: C++ exception thrown in the test body"), and
// is no known weakness.
TEST_F(LiveEngine, QueryErrorsFailAtTheirLine) {
  ::testing::TestPartResultArray results;
  int line = 0;
  {
    ::testing::ScopedFakeTestPartResultReporter intercept(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    EXPECT_THAT(Ablate(TopK(500)).AtLayer(0), AccuracyAtLeast(0.9)), line = __LINE__;
    EXPECT_KNOWN_WEAKNESS(Ablate(TopK(500)).AtLayer(0), AccuracyAtLeast(0.9));
    EXPECT_THAT(Probe(9), ProbeAccuracyAtLeast(0.5));
  }
  ASSERT_EQ(results.size(), 3);
  for (int i = 0; i < results.size(); ++i) {
    const ::testing::TestPartResult& r = results.GetTestPartResult(i);
    EXPECT_TRUE(r.nonfatally_failed());
    ASSERT_NE(r.file_name(), nullptr);
    EXPECT_EQ(std::string(r.file_name()), __FILE__);
    EXPECT_EQ(r.line_number(), line + i);
    EXPECT_THAT(r.message(), HasSubstr(", which cannot run: [synapse.spec.311]")) << r.message();
  }
  EXPECT_THAT(results.GetTestPartResult(0).message(),
              AllOf(HasSubstr("Actual: Ablate(TopK(500)).AtLayer(0), which cannot run"),
                    HasSubstr("k = 500 is outside 1..128")));
}

// "Actual:" is the query's outcome and the explanation, without GoogleMock's
// "(of type synapse::robustness::Query)".
TEST_F(LiveEngine, ActualLinesShowNoQueryType) {
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter intercept(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    EXPECT_THAT(Baseline(), AccuracyAtLeast(0.999));
    EXPECT_THAT(Probe(0), ProbeAccuracyAtLeast(0.9999));
  }
  ASSERT_EQ(results.size(), 2);
  EXPECT_THAT(
      results.GetTestPartResult(0).message(),
      AllOf(HasSubstr("Actual: Baseline() {accuracy "), HasSubstr(", whose accuracy is"), Not(HasSubstr("(of type"))));
  EXPECT_THAT(results.GetTestPartResult(1).message(),
              AllOf(HasSubstr("Actual: Probe(0) {held-out accuracy "), Not(HasSubstr("(of type"))));
}

// Adaptive evaluation (Config().adaptive(true)) on the real model: the matchers stop early,
// say how far they read, and agree with the whole set where it decides with a margin.
class AdaptiveEngine : public RobustnessTest {
 protected:
  AdaptiveEngine() : RobustnessTest(Config().model(kModelDir).seed(kSeed).adaptive(true)) {}
};

TEST_F(AdaptiveEngine, MatchersStopEarlyAndSayHowFarTheyRead) {
  EXPECT_TRUE(model().config().adaptive());
  const std::string why = Explain(AccuracyAtLeast(0.8), Baseline());
  EXPECT_THAT(why, HasSubstr("adaptive: the 95% confidence sequence for the whole set's accuracy"));
  std::smatch read;
  ASSERT_TRUE(std::regex_search(why, read, std::regex("on the ([0-9]+) of 887 examples read"))) << why;
  EXPECT_LT(std::stoi(read[1]), 887) << why;
  EXPECT_THAT(Baseline(), AccuracyAtLeast(0.8));
  EXPECT_THAT(Baseline(), Not(AccuracyAtLeast(0.99)));
  EXPECT_THAT(Ablate(TopK(20)).AtLayer(2).PooledOnly(), FlipRateAtMost(0.05));
  EXPECT_THAT(Ablate(TopK(10)).AtLayer(-1), AccuracyDropAtMost(0.2).WithConfidence(0.95));
  EXPECT_THAT(why, Not(HasSubstr("population")));
  // A population claim at 90%: the sequence spends half of the 10%, the whole set's test the rest.
  EXPECT_THAT(Explain(FlipRateAtMost(0.05).WithConfidence(0.9), Noise(0.5).AtLayer(3)),
              HasSubstr("95% confidence sequence for the population's flip rate"));
  // Paired with the random control on the same examples; where the sequence stays
  // undecided, the full run's paired test on the whole set decides, as without adaptive().
  const Query top10 = Ablate(TopK(10)).AtLayer(-1);
  const std::string hurts = Explain(HurtsMoreThanRandom(), top10);
  EXPECT_THAT(hurts, ::testing::AnyOf(HasSubstr("97.5% confidence sequence for the population's excess drop over "
                                                "the random control"),
                                      HasSubstr("97.5% confidence sequence was undecided after every example")))
      << hurts;
  std::shared_ptr<ModelUnderTest> full = ModelUnderTest::Shared(Config().model(kModelDir).seed(kSeed));
  const ::testing::Matcher<const Query&> significant = HurtsMoreThanRandom();
  EXPECT_EQ(significant.Matches(top10), significant.Matches(full->Ablate(TopK(10)).AtLayer(-1)));
  // A check that needs the whole set uses it, as without adaptive().
  EXPECT_THAT(Probe(1), ProbeAccuracyAtLeast(0.8));
  EXPECT_THAT(Explain(NoLabelFlipsUnderLogitShift(0.01), Baseline()), Not(HasSubstr("adaptive")));
}

// A real model's outcome stream put exactly at the threshold: LogitShift(b) counts an
// example right only when no logit change of b flips it (b = 0.5 puts the whole set's rate
// at 0.95); the threshold sits just above that rate, so every pass is wrong.
// 2,000 visiting orders: the share of passes stays under 1 − confidence.
TEST_F(AdaptiveEngine, FalsePassRateOnARealModelAtTheThreshold) {
  std::shared_ptr<ModelUnderTest> m = ModelUnderTest::Shared(Config().model(kModelDir).seed(kSeed));
  const Outcome whole = m->LogitShift(0.5).outcome();
  const double rate = whole.accuracy.value();
  ASSERT_GT(rate, 0.5);
  ASSERT_LT(rate, 0.99);
  AdaptiveItem item;
  item.check.metric = Metric::kAccuracy;
  item.check.threshold = (static_cast<double>(whole.accuracy.successes) + 0.5) / whole.accuracy.n;
  item.query = m->LogitShift(0.5);
  int passed = 0, early = 0;
  const int runs = 2000;
  for (int seed = 0; seed < runs; ++seed) {
    const AdaptiveVerdict v = RunAdaptive(*m, {item}, AdaptiveOptions().seed(seed)).verdicts[0];
    passed += v.verdict.passed;
    early += v.examples < whole.accuracy.n;
  }
  const double alpha = 1 - m->config().confidence();
  EXPECT_LE(static_cast<double>(passed) / runs, alpha);
  EXPECT_GT(early, 0);
  std::printf("LogitShift(0.5) accuracy %.4f, threshold %.4f: %d of %d adaptive runs passed (%d stopped early)\n", rate,
              item.check.threshold, passed, runs, early);
}

TEST(RobustnessConfig, AdaptiveFromFlagsAndEnvironment) {
  setenv("SYNAPSE_ADAPTIVE", "1", 1);
  EXPECT_TRUE(ResolveConfig(Config().model(kModelDir)).adaptive());
  setenv("SYNAPSE_ADAPTIVE", "maybe", 1);
  EXPECT_THROW(
      try { ResolveConfig(Config().model(kModelDir)); } catch (const UsageError& e) {
        EXPECT_THAT(e.what(), HasSubstr("SYNAPSE_ADAPTIVE: expected 1, 0, true, false, yes or no"));
        throw;
      },
      UsageError);
  unsetenv("SYNAPSE_ADAPTIVE");
  EXPECT_FALSE(ResolveConfig(Config().model(kModelDir)).adaptive());
}

TEST(RobustnessConfig, MissingFilesAreNamedWithTheirOrigin) {
  test::ExpectError<Error>([] { ResolveConfig(Config()); }, 403, "no model: name a model directory");
  test::ExpectError<Error>([] { ResolveConfig(Config().model("/nonexistent/model")); }, 403,
                           "Config().model(): /nonexistent/model does not exist");
  setenv("SYNAPSE_DATA", "/nonexistent/eval.jsonl", 1);
  test::ExpectError<Error>([] { ResolveConfig(Config().model(kModelDir)); }, 403,
                           "SYNAPSE_DATA: /nonexistent/eval.jsonl does not exist");
  unsetenv("SYNAPSE_DATA");
  const Config c = ResolveConfig(Config().model(kModelDir + "/../spam-tiny"));
  EXPECT_THAT(c.model(), ::testing::EndsWith("models/spam-tiny/model.pt"));
  EXPECT_THAT(c.model(), Not(HasSubstr("..")));
  EXPECT_THAT(c.tokenizer(), ::testing::EndsWith("tokenizer.json"));
  EXPECT_THAT(c.data(), ::testing::EndsWith("eval.jsonl"));
}

// A model file, not a directory: the tokenizer.json and labels.json beside it are found,
// as the CLI finds them (one helper, FileBesideModel); eval.jsonl only for a directory.
TEST(RobustnessConfig, AModelFileFindsTheTokenizerAndLabelsBesideIt) {
  const std::string dir = test::TempDir("config_model_file");
  for (const char* f : {"model.pt", "tokenizer.json", "labels.json", "eval.jsonl"}) {
    test::WriteFile(dir + "/" + f, test::ReadFile(kModelDir + "/" + f));
  }
  const std::string rows = test::TempDir("config_model_file_rows") + "/rows.jsonl";
  test::WriteFile(rows, "{\"text\": \"Win a FREE cruise now!!!\", \"label\": \"spam\"}\n");
  setenv("SYNAPSE_DATA", rows.c_str(), 1);
  const Config c = ResolveConfig(Config().model(dir + "/model.pt"));
  unsetenv("SYNAPSE_DATA");
  EXPECT_THAT(c.model(), ::testing::EndsWith("config_model_file/model.pt"));
  EXPECT_THAT(c.tokenizer(), ::testing::EndsWith("config_model_file/tokenizer.json"));
  EXPECT_THAT(c.labels(), ::testing::EndsWith("config_model_file/labels.json"));
  EXPECT_THAT(c.data(), ::testing::EndsWith("config_model_file_rows/rows.jsonl"));
  // Without SYNAPSE_DATA, a model file does not bring its directory's eval.jsonl.
  test::ExpectError<Error>([&] { ResolveConfig(Config().model(dir + "/model.pt")); }, 403, "no evaluation data");
  // A setting still wins over the file beside the model.
  EXPECT_THAT(
      ResolveConfig(Config().model(dir + "/model.pt").data(rows).tokenizer(kModelDir + "/tokenizer.json")).tokenizer(),
      ::testing::EndsWith("models/spam-tiny/tokenizer.json"));
}

TEST(RobustnessConfig, FlagsOverrideTheEnvironment) {
  setenv("SYNAPSE_SEED", "5", 1);
  EXPECT_EQ(ResolveConfig(Config().model(kModelDir)).seed(), 5u);
  std::string a0 = "test", a1 = "--synapse_seed=9", a2 = "--gtest_brief=1";
  char* argv[] = {a0.data(), a1.data(), a2.data(), nullptr};
  int argc = 3;
  InitSynapse(&argc, argv);
  EXPECT_EQ(argc, 2);
  EXPECT_STREQ(argv[1], "--gtest_brief=1");
  EXPECT_EQ(ResolveConfig(Config().model(kModelDir)).seed(), 9u);
  unsetenv("SYNAPSE_SEED");
  std::string b1 = "--synapse_modle=x";
  char* bad[] = {a0.data(), b1.data(), nullptr};
  argc = 2;
  test::ExpectError<Error>([&] { InitSynapse(&argc, bad); }, 403, "--synapse_modle=x: unknown flag");
}

TEST(RobustnessConfig, PadIdFromConfigEnvironmentFlagsAndSpecs) {
  EXPECT_EQ(ResolveConfig(Config().model(kModelDir)).pad_id(), -1);  // the tokenizer's
  EXPECT_EQ(ResolveConfig(Config().model(kModelDir).pad_id(1)).pad_id(), 1);
  setenv("SYNAPSE_PAD_ID", "2", 1);
  EXPECT_EQ(ResolveConfig(Config().model(kModelDir).pad_id(1)).pad_id(), 2);
  setenv("SYNAPSE_PAD_ID", "-3", 1);
  test::ExpectError<Error>([] { ResolveConfig(Config().model(kModelDir)); }, 403,
                           "SYNAPSE_PAD_ID: expected a non-negative integer, got \"-3\"");
  unsetenv("SYNAPSE_PAD_ID");
  // The pad id is part of what a shared model under test is.
  EXPECT_NE(ModelUnderTest::Shared(Config().model(kModelDir).pad_id(7)).get(),
            ModelUnderTest::Shared(Config().model(kModelDir)).get());
  const Spec gate = ParseGateSpec(
      json::parse(R"({"model": "m", "pad_id": 1, "assertions": [{"metric": "accuracy", "threshold": 0.5}]})"),
      "g.json");
  EXPECT_EQ(gate.config.pad_id(), 1);
  const Spec suite = ParseSuiteSpec(json::parse(R"({"pad_id": 1, "baseline": {"accuracy_at_least": 0.9}})"), "r.json");
  EXPECT_EQ(suite.config.pad_id(), 1);
  test::ExpectError<Error>(
      [] {
        ParseGateSpec(
            json::parse(R"({"model": "m", "pad_id": -1, "assertions": [{"metric": "accuracy", "threshold": 0.5}]})"),
            "g.json");
      },
      404, "g.json: pad_id: expected an integer ≥ 0");
}

TEST(RobustnessSuiteSpec, ChecksAreNamedAfterWhatTheyCheck) {
  const json spec = json::parse(R"({
    "model": "m", "confidence": 0.9,
    "baseline": {"accuracy_at_least": 0.9, "recall_at_least": {"spam": 0.95}},
    "hurts_more_than_random": [{"layer": -1, "k": 10}],
    "class_asymmetry": [{"layer": 2, "k": 5, "at_most": 0.2, "classes": ["ham", "spam"]}],
    "logit_flip_budget": {"at_least": 0.1, "share": 0.01},
    "weight_space": [{"class": "spam", "k": 10, "factor": 1.5, "flip_rate_at_most": 0.02}]})");
  const Spec parsed = ParseSuiteSpec(spec, "/specs/robustness.json");
  std::vector<std::string> names;
  for (const Assertion& a : parsed.assertions) names.push_back(a.name);
  EXPECT_THAT(names, ::testing::ElementsAre("baseline_accuracy", "baseline_recall_spam",
                                            "layer_m1_top10_hurts_more_than_random", "layer_2_top5_class_ham_asymmetry",
                                            "layer_2_top5_class_spam_asymmetry", "logit_flip_budget",
                                            "weight_space_spam_top10_x1_5"));
  EXPECT_EQ(parsed.config.model(), "/specs/m");  // relative to the spec
  EXPECT_DOUBLE_EQ(parsed.assertions.front().check.confidence, 0.9);
  const Assertion& asym = parsed.assertions[4];
  EXPECT_EQ(asym.query.intervention, "ablate");
  EXPECT_EQ(asym.query.of_class, "spam");
  EXPECT_EQ(asym.query.layer, 2);
  EXPECT_EQ(asym.check.metric, Metric::kClassAsymmetry);
  EXPECT_EQ(parsed.assertions[5].check.share, 0.01);
}

TEST(RobustnessSuiteSpec, BadSpecsNameTheJsonPath) {
  auto parse = [](const char* text) { return ParseSuiteSpec(json::parse(text), "r.json"); };
  test::ExpectError<Error>([&] { parse(R"({"baseline": {"accuracy_at_least": 0.9}, "seed": -1})"); }, 404,
                           "r.json: seed: expected an integer ≥ 0");
  test::ExpectError<Error>([&] { parse(R"({"baseline": {"accuracy_at_least": "high"}})"); }, 404,
                           "r.json: baseline.accuracy_at_least: expected a number");
  test::ExpectError<Error>([&] { parse(R"({"baseline": {"acuracy_at_least": 0.9}})"); }, 404,
                           "r.json: baseline.acuracy_at_least: unknown key");
  test::ExpectError<Error>(
      [&] { parse(R"({"weight_space": [{"class": "spam", "k": 1.5, "factor": 2, "flip_rate_at_most": 0}]})"); }, 404,
      "r.json: weight_space[0].k: expected an integer");
  test::ExpectError<Error>([&] { parse(R"({"model": "m"})"); }, 404, "r.json: no checks");
  const std::vector<SuiteCheck> missing = LoadSuiteChecks("/nonexistent/robustness.json");
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].name, "invalid_spec");
  EXPECT_THAT(missing[0].error, HasSubstr("/nonexistent/robustness.json: cannot open the spec"));
}

TEST(ReportFiles, JUnitCarriesFailuresPropertiesAndEscapes) {
  json report;
  report["tests"] = json::array();
  report["tests"].push_back({{"suite", "S"},
                             {"name", "Passes"},
                             {"time_s", 0.5},
                             {"status", "passed"},
                             {"failures", json::array()},
                             {"properties", {{"synapse.1.metric", "accuracy"}}}});
  report["tests"].push_back({{"suite", "S"},
                             {"name", "Fails"},
                             {"time_s", 1.25},
                             {"status", "failed"},
                             {"failures", {"a.cpp:3: Value of: x < 1 & \"y\"\nActual: 2"}},
                             {"properties", json::object()}});
  report["tests"].push_back({{"suite", "T"}, {"name", "Skips"}, {"status", "skipped"}});
  const std::string xml = RenderJUnitXml(report);
  EXPECT_THAT(xml, HasSubstr(R"(<testsuites name="synapse" tests="3" failures="1" errors="0" skipped="1")"));
  EXPECT_THAT(xml, HasSubstr(R"(<testsuite name="S" tests="2" failures="1")"));
  EXPECT_THAT(xml, HasSubstr(R"(<testcase classname="S" name="Fails" time="1.250")"));
  EXPECT_THAT(xml, HasSubstr(R"(<failure message="a.cpp:3: Value of: x &lt; 1 &amp; &quot;y&quot;")"));
  EXPECT_THAT(xml, HasSubstr(R"(<property name="synapse.1.metric" value="accuracy"/>)"));
  EXPECT_THAT(xml, HasSubstr("<skipped/>"));
  const std::string html = RenderHtmlReport(report);
  EXPECT_THAT(html, HasSubstr("1 passed, 1 failed, 1 skipped"));
  EXPECT_THAT(html, HasSubstr("No query ran"));
}

// 14 positives, all recalled: no recall threshold above the Wilson lower bound of 14/14
// (0.785 at 95%) can pass, whatever the model; the explanation says so.
TEST(CheckExplanations, UnreachableConfidenceBoundsSayTheBestPossible) {
  Outcome o;
  o.query = "Baseline()";
  o.accuracy = o.baseline_accuracy = {20, 20};
  o.recall["positive"] = o.baseline_recall["positive"] = {14, 14};
  o.flips = {0, 20};
  const std::string why = Explain(ClassRecallAtLeast("positive", 0.9).WithConfidence(0.95), o);
  EXPECT_THAT(why, HasSubstr("the lower bound 0.785 misses 0.900; unreachable with 14 examples: the best possible "
                             "lower bound is 0.785"));
  // Reachable (0.7 < 0.785) but missed: no such clause.
  o.recall["positive"] = {11, 14};
  EXPECT_THAT(Explain(ClassRecallAtLeast("positive", 0.7).WithConfidence(0.95), o),
              AllOf(HasSubstr("misses 0.700"), Not(HasSubstr("unreachable"))));
  // The upper bounds: no flip on 20 examples still leaves an upper bound of 0.161.
  EXPECT_THAT(Explain(FlipRateAtMost(0.05).WithConfidence(0.95), o),
              HasSubstr("unreachable with 20 examples: the best possible upper bound is 0.161"));
  EXPECT_THAT(Explain(AccuracyDropAtMost(0.05).WithConfidence(0.95), o),
              HasSubstr("unreachable with 20 examples: the best possible upper bound is 0.161"));
  EXPECT_THAT(Explain(AccuracyAtLeast(0.9).WithConfidence(0.95), o),
              HasSubstr("unreachable with 20 examples: the best possible lower bound is 0.839"));
}

// A NoLabelFlipsUnderLogitShift row tests "labels flipped == 0": the budget is in its metric.
TEST(CheckExplanations, LogitShiftRowsShowTheBudget) {
  Outcome o;
  o.query = "Baseline()";
  o.flip_budget = {0.2, 0.04, 0.9};
  Check c;
  c.metric = Metric::kNoLabelFlipsUnderShift;
  c.threshold = 0.05;
  const Verdict v = Evaluate(c, o);
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.metric, "labels_flipped[budget 0.050]");
  EXPECT_EQ(VerdictJson(v)["metric"], "labels_flipped[budget 0.050]");
}

TEST(RobustnessGateSpec, ConfidenceNoneOptsOutOfTheSpecWideConfidence) {
  const json spec = json::parse(R"({"model": "m", "confidence": 0.9, "assertions": [
    {"name": "bounded", "metric": "accuracy", "threshold": 0.9},
    {"name": "estimate", "metric": "accuracy", "threshold": 0.9, "confidence": "none"},
    {"name": "own", "metric": "accuracy", "threshold": 0.9, "confidence": 0.99}]})");
  const Spec parsed = ParseGateSpec(spec, "/specs/gate.json");
  ASSERT_EQ(parsed.assertions.size(), 3u);
  EXPECT_DOUBLE_EQ(parsed.assertions[0].check.confidence, 0.9);
  EXPECT_DOUBLE_EQ(parsed.assertions[1].check.confidence, 0);
  EXPECT_DOUBLE_EQ(parsed.assertions[2].check.confidence, 0.99);
  test::ExpectError<Error>(
      [] {
        ParseGateSpec(json::parse(R"({"model": "m", "assertions": [
          {"metric": "accuracy", "threshold": 0.9, "confidence": "high"}]})"),
                      "g.json");
      },
      404, "g.json: assertions[0].confidence: expected a number in (0, 1) or \"none\"");
}

TEST(ReportFiles, WeightSpaceTableNamesTheHeadParameters) {
  const json report = json::parse(R"({"baseline": {"accuracy": 0.9}, "weight_space": {
    "head": {"weight": "classifier.weight", "bias": "classifier.bias"}, "target_rate": 0.1,
    "classes": [{"class": "spam", "head_scale": {"reached": true, "factor": 2.5, "rate": 0.12},
                 "bias_shift": {"reached": false}}]}})");
  const std::string html = RenderHtmlReport(nlohmann::ordered_json(report));
  EXPECT_THAT(html, HasSubstr("<th>head-weight factor (<code>classifier.weight</code>)</th>"));
  EXPECT_THAT(html, HasSubstr("<th>bias shift (<code>classifier.bias</code>)</th>"));
}

// Without a labels file the classes are "0", "1": the page calls them "class 0", as the
// analyze summary does, in the baseline bars, the heatmap and the weight-space table.
TEST(ReportFiles, UnnamedClassesShowAsClassIndex) {
  const json report = json::parse(R"({"data": {"classes": ["0", "1"]},
    "baseline": {"accuracy": 0.9, "recall": {"0": 0.8, "1": 1.0}},
    "layers": [{"index": 0, "experiments": [{"selection": "class_top", "k": 2, "class": "1",
                                             "metrics": {"recall": {"0": 0.8, "1": 0.5}}}]}],
    "weight_space": {"target_rate": 0.1, "classes": [{"class": "0", "head_scale": {"reached": false},
                                                      "bias_shift": {"reached": false}}]}})");
  const std::string html = RenderHtmlReport(nlohmann::ordered_json(report));
  EXPECT_THAT(html, HasSubstr(">recall class 0<"));
  EXPECT_THAT(html, HasSubstr("top-2 of class 1</th>"));
  EXPECT_THAT(html, HasSubstr("<th>drop of class 0</th>"));
  EXPECT_THAT(html, HasSubstr("<tr><td>class 0</td>"));
  EXPECT_THAT(html, Not(HasSubstr(">recall 0<")));
}

// Joining parts: the latest run of a test wins, a part whose tests all ran again later is
// dropped with its measurements, a model's measurements are united across parts, and
// another model's go under more_models.
TEST(ReportParts, MergeKeepsEachTestOnceAndUnitesMeasurements) {
  using ojson = nlohmann::ordered_json;
  auto part = [](double at, const std::string& hash, const std::vector<std::pair<std::string, std::string>>& tests,
                 const std::string& query) {
    ojson p = ojson::parse(R"({"model": {"path": "m.pt"}, "options": {"seed": 0}, "baseline": {"accuracy": 0.9},
                               "layers": [{"index": 3, "experiments": []}], "other_queries": []})");
    p["data"]["examples_hash"] = hash;
    p["part"] = {{"format", kReportPartFormat}, {"finished_at", at}};
    p["layers"][0]["experiments"].push_back({{"query", query}});
    p["tests"] = ojson::array();
    for (const auto& [name, status] : tests) p["tests"].push_back({{"suite", "S"}, {"name", name}, {"status", status}});
    return p;
  };
  const ojson joined = MergeReports({part(3, "a", {{"One", "passed"}}, "Ablate(TopK(1)).AtLayer(3)"),
                                     part(1, "a", {{"One", "failed"}, {"Two", "failed"}}, "Stale()"),
                                     part(2, "a", {{"Two", "passed"}}, "Noise(0.1).AtLayer(3)"),
                                     part(4, "b", {{"Three", "passed"}}, "Baseline()")});
  std::vector<std::string> tests;
  for (const auto& t : joined["tests"])
    tests.push_back(t["name"].get<std::string>() + " " + t["status"].get<std::string>());
  EXPECT_THAT(tests, ::testing::ElementsAre("Two passed", "One passed", "Three passed"));
  EXPECT_EQ(joined["parts"], 3);  // the earliest part's tests all ran again later
  std::vector<std::string> queries;
  for (const auto& e : joined["layers"][0]["experiments"]) queries.push_back(e["query"]);
  EXPECT_THAT(queries, ::testing::UnorderedElementsAre("Ablate(TopK(1)).AtLayer(3)", "Noise(0.1).AtLayer(3)"));
  ASSERT_EQ(joined["more_models"].size(), 1u);
  EXPECT_EQ(joined["more_models"][0]["data"]["examples_hash"], "b");
  EXPECT_TRUE(MergeReports({}).empty());
}

// The one line CI shows for a failed assertion.
TEST(ReportFiles, JUnitMessageIsTheTestsMessage) {
  json report;
  report["tests"] = json::array();
  report["tests"].push_back({{"suite", "S"},
                             {"name", "Fails"},
                             {"status", "failed"},
                             {"message", "Baseline(): whose accuracy is 0.5; the lower bound 0.4 misses 0.9"},
                             {"failures", {"a.cpp:3: Value of: Baseline()\nExpected: ..."}}});
  const std::string xml = RenderJUnitXml(report);
  EXPECT_THAT(xml,
              HasSubstr(R"(<failure message="Baseline(): whose accuracy is 0.5; the lower bound 0.4 misses 0.9")"));
  EXPECT_THAT(xml, HasSubstr("a.cpp:3: Value of: Baseline()\nExpected: ..."));
}

}  // namespace
}  // namespace synapse

int main(int argc, char** argv) {
  ::testing::InitGoogleMock(&argc, argv);
  synapse::KeepFreedMemory();
  synapse::SetThreads(1);
  return RUN_ALL_TESTS();
}
