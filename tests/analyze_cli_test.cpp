// `synapse analyze` as a user runs it: real text, the real tokenizer, the default protocol;
// the report is validated against docs/report.schema.json and the probes against
// scikit-learn on the very vectors Synapse saved.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace synapse {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kCli = SYNAPSE_CLI;
const std::string kFixtures = SYNAPSE_FIXTURE_DIR;
const std::string kSource = SYNAPSE_SOURCE_DIR;
const std::string kTokenizer = std::string(SYNAPSE_TOKENIZER_REF_DIR) + "/uncased.json";

std::string Analyze(const std::string& extra) {
  return kCli + " analyze --model " + kFixtures + "/spam_tiny.pt --labels " + kFixtures +
         "/spam_tiny_labels.json --tokenizer " + kTokenizer + " --max-length 64 " + extra;
}

class AnalyzeCli : public ::testing::Test {
 protected:
  // The default protocol once, shared by the tests below.
  static void SetUpTestSuite() {
    dir_ = new std::string(test::TempDir("analyze_cli"));
    result_ = new test::CommandResult(
        test::RunCommand(Analyze("--data " + kFixtures + "/spam_eval.jsonl --out " + *dir_ +
                                 "/out --save-activations " + *dir_ + "/acts --seed 3 --threads 1"),
                         *dir_));
  }
  static void TearDownTestSuite() {
    delete result_;
    delete dir_;
  }
  static std::string* dir_;
  static test::CommandResult* result_;
};

std::string* AnalyzeCli::dir_ = nullptr;
test::CommandResult* AnalyzeCli::result_ = nullptr;

TEST_F(AnalyzeCli, WritesAReportThatMatchesTheSchema) {
  ASSERT_EQ(result_->exit_code, 0) << result_->err;
  auto v = test::RunCommand("/usr/bin/python3 " + kSource + "/tests/scripts/validate_report.py " + kSource +
                                "/docs/report.schema.json " + *dir_ + "/out/report.json",
                            *dir_);
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_THAT(v.out, HasSubstr(": valid (2 layers"));
}

TEST_F(AnalyzeCli, TheSchemaCatchesABrokenReport) {
  ASSERT_EQ(result_->exit_code, 0) << result_->err;
  json report = json::parse(test::ReadFile(*dir_ + "/out/report.json"));
  report["layers"][0]["experiments"][0]["metrics"].erase("flip_rate");
  report["baseline"]["accuracy"] = 1.5;
  report.erase("timing");
  test::WriteFile(*dir_ + "/broken.json", report.dump());
  auto v = test::RunCommand("/usr/bin/python3 " + kSource + "/tests/scripts/validate_report.py " + kSource +
                                "/docs/report.schema.json " + *dir_ + "/broken.json",
                            *dir_);
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_THAT(v.out, HasSubstr("'timing' is a required property"));
  EXPECT_THAT(v.out, HasSubstr("'flip_rate' is a required property"));
  EXPECT_THAT(v.out, HasSubstr("baseline/accuracy"));
}

TEST_F(AnalyzeCli, ThePrintedSummaryNamesWhatMatters) {
  ASSERT_EQ(result_->exit_code, 0) << result_->err;
  const std::string& out = result_->out;
  EXPECT_THAT(out, HasSubstr("baseline     accuracy"));
  EXPECT_THAT(out, HasSubstr("recall ham"));
  EXPECT_THAT(out, HasSubstr("bert.encoder.layer.1"));
  EXPECT_THAT(out, HasSubstr("flips 1% of predictions"));
  EXPECT_THAT(out, HasSubstr("weight space"));
  EXPECT_THAT(out, HasSubstr("report              " + *dir_ + "/out/report.json"));
  // Not a terminal: no progress bar in the captured stderr.
  EXPECT_THAT(result_->err, Not(HasSubstr("extraction")));
  json report = json::parse(test::ReadFile(*dir_ + "/out/report.json"));
  EXPECT_EQ(report["data"]["path"], kFixtures + "/spam_eval.jsonl");
  EXPECT_EQ(report["data"]["examples"], 300);
  EXPECT_EQ(report["options"]["random_seeds"], 5);
  EXPECT_EQ(report["options"]["noise"].size(), 4u);
  // Which layer and class stand out, if any, depends on what the fixture learned (the
  // report's summary holds null for none); the printed summary says the same either way.
  const json& layer = report["summary"]["most_fragile_layer"];
  if (layer.is_null()) {
    EXPECT_THAT(out, HasSubstr("most fragile layer  none: "));
  } else {
    EXPECT_THAT(out, HasSubstr("most fragile layer  " + std::to_string(layer["layer"].get<int>()) + " (" +
                               layer["name"].get<std::string>() + "): top-" +
                               std::to_string(layer["k"].get<int64_t>()) + " ablation costs "));
  }
  const json& cls = report["summary"]["most_fragile_class"];
  if (cls.is_null()) {
    EXPECT_THAT(out, HasSubstr("most fragile class  none: "));
  } else {
    EXPECT_THAT(out, HasSubstr("most fragile class  " + cls["class"].get<std::string>() + ": recall "));
    EXPECT_THAT(out, HasSubstr("with its top-" + std::to_string(cls["k"].get<int64_t>()) + " neurons of layer " +
                               std::to_string(cls["layer"].get<int>()) + " ablated"));
  }
  // Text rows tokenized by Synapse equal the Hugging Face ids the model was trained on:
  // predict on the pre-tokenized copy of the same rows gets the baseline's predictions,
  // but for examples whose top two logits tie to float rounding (predict batches them
  // differently; whether there are any depends on what the fixture learned).
  auto ids = test::RunCommand(kCli + " predict --model " + kFixtures + "/spam_tiny.pt --data " + kFixtures +
                                  "/spam_eval_ids.jsonl --labels " + kFixtures + "/spam_tiny_labels.json --out " +
                                  *dir_ + "/pred.jsonl",
                              *dir_);
  ASSERT_EQ(ids.exit_code, 0) << ids.err;
  int correct = 0, total = 0, near_ties = 0;
  std::istringstream lines(test::ReadFile(*dir_ + "/pred.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    const json row = json::parse(line);
    std::vector<double> logits = row["logits"];
    ASSERT_EQ(logits.size(), 3u);
    std::sort(logits.rbegin(), logits.rend());
    near_ties += logits[0] - logits[1] < 1e-4 * (1 + std::abs(logits[0]));
    correct += row["pred_label"] == row["label"];
    ++total;
  }
  ASSERT_EQ(total, 300);
  EXPECT_LE(std::abs(report["baseline"]["correct"].get<int>() - correct), near_ties)
      << "predict: " << correct << " correct, " << near_ties << " on a tie";
  char accuracy[32];
  std::snprintf(accuracy, sizeof accuracy, "accuracy %.4f", correct / 300.0);
  EXPECT_THAT(ids.err, HasSubstr(accuracy));
}

TEST_F(AnalyzeCli, WritesASelfContainedHtmlReportWithEveryChart) {
  ASSERT_EQ(result_->exit_code, 0) << result_->err;
  EXPECT_THAT(result_->out, HasSubstr("charts              " + *dir_ + "/out/report.html"));
  const std::string html = test::ReadFile(*dir_ + "/out/report.html");
  for (const char* section :
       {"id='baseline'", "id='probes'", "id='ablation'", "id='heatmap'", "id='noise'", "id='logits'", "id='weights'"}) {
    EXPECT_THAT(html, HasSubstr(section));
  }
  EXPECT_THAT(html, Not(HasSubstr("id='tests'")));  // an analysis has no test verdicts
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("https://")));
  // One ablation chart per analysed layer, drawn with its random band.
  json report = json::parse(test::ReadFile(*dir_ + "/out/report.json"));
  size_t charts = 0, at = 0;
  while ((at = html.find("<title>ablation curve, layer", at)) != std::string::npos) ++charts, ++at;
  EXPECT_EQ(charts, report["layers"].size());
  EXPECT_THAT(html, HasSubstr("class='band'"));
}

// Within 1.5 points or one test example, whichever is more (probe_parity.py says why).
TEST_F(AnalyzeCli, ProbesAgreeWithScikitLearnWithinOneAndAHalfPointsOrOneExample) {
  ASSERT_EQ(result_->exit_code, 0) << result_->err;
  auto p = test::RunCommand("/usr/bin/python3 " + kSource + "/tests/scripts/probe_parity.py " + *dir_ + "/acts " +
                                *dir_ + "/out/report.json 0.015",
                            *dir_);
  EXPECT_EQ(p.exit_code, 0) << p.out << p.err;
  EXPECT_THAT(p.out, HasSubstr("layer 1: synapse"));
  std::cout << p.out;
}

TEST_F(AnalyzeCli, SavedActivationsAreNumPyArrays) {
  ASSERT_EQ(result_->exit_code, 0) << result_->err;
  auto p = test::RunCommand(
      "/usr/bin/python3 -c \"import numpy as np, json, sys; d=sys.argv[1]; i=json.load(open(d+'/index.json')); "
      "x=np.load(d+'/'+i['layers'][1]['file']); y=np.load(d+'/labels.npy'); l=np.load(d+'/logits.npy'); "
      "print(x.dtype, x.shape, y.dtype, y.shape, l.shape, i['pool'], sorted(set(y.tolist())))\" " +
          *dir_ + "/acts",
      *dir_);
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(p.out, "float32 (300, 32) int64 (300,) (300, 3) first [0, 1, 2]\n");
}

TEST(AnalyzeCliErrors, BadInputIsOneLineAndExitTwo) {
  std::string dir = test::TempDir("analyze_cli_errors");
  test::WriteFile(dir + "/unlabelled.jsonl",
                  "{\"text\": \"hello\", \"label\": \"spam\"}\n{\"text\": \"no label here\"}\n");
  struct Case {
    std::string args, message;
  };
  for (const Case& c : {
           Case{"--data " + dir + "/unlabelled.jsonl", "unlabelled.jsonl:2: no label"},
           Case{"--data " + kFixtures + "/spam_eval.jsonl --k 5,abc", "[synapse.spec.310] analysis: k: \"abc\""},
           Case{"--data " + kFixtures + "/spam_eval.jsonl --ablate-value median", "ablate_value must be zero or mean"},
           Case{"--data " + kFixtures + "/spam_eval.jsonl --noise 0.1,x", "--noise: expected a number, got \"x\""},
           Case{"--data " + kFixtures + "/spam_eval.jsonl --layers 9", "[synapse.spec.304]"},
           Case{"--data " + kFixtures + "/spam_eval.jsonl --head classifier.bias", "[synapse.model.108]"},
           Case{"--data " + kFixtures + "/spam_eval.jsonl --pool mean --pooled-only", "pooled-only ablation"},
           Case{"--data " + kFixtures + "/spam_eval.jsonl --weight-noise-param nope", "[synapse.model.107]"},
           Case{"--data " + kFixtures + "/missing.jsonl", "[synapse.data.201]"},
       }) {
    auto r = test::RunCommand(Analyze(c.args + " --out " + dir + "/out --quiet --threads 1"), dir);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << c.args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_THAT(r.err, Not(HasSubstr("Exception raised from")));
  }
  EXPECT_FALSE(std::ifstream(dir + "/out/report.json").good()) << "no report from a failed run";
}

TEST(AnalyzeCliErrors, HelpListsTheProtocolOptions) {
  std::string dir = test::TempDir("analyze_cli_help");
  auto r = test::RunCommand(kCli + " analyze --help", dir);
  EXPECT_EQ(r.exit_code, 0);
  for (const char* option : {"--k", "--random-seeds", "--noise", "--ablate-value", "--pooled-only", "--probe-l1",
                             "--probe-l2", "--mass", "--save-activations", "--layers", "--pool", "--head"}) {
    EXPECT_THAT(r.out, HasSubstr(option));
  }
}

}  // namespace
}  // namespace synapse
