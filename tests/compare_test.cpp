// CompareReports on small hand-made reports: which differences between two reports warn
// (Comparison::differences) and which make them a mismatch (Comparison::mismatch, exit 2
// in `synapse compare`). tests/scripts/compare_test.py runs the command on real reports.
#include "synapse/compare.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "synapse/error.h"
#include "test_util.h"

namespace synapse {
namespace {

using json = nlohmann::ordered_json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A report of 100 examples, two classes and one layer with a top-k row per k in `ks`.
json Report(const std::vector<std::string>& classes = {"ham", "spam"}, const std::string& hash = "h1",
            const std::vector<int>& ks = {1, 2, 4}) {
  json r;
  r["model"] = {
      {"path", "v1/model.pt"}, {"parameter_hash", "aaaa"}, {"layers", {{{"index", 0}, {"name", "encoder.layer.0"}}}}};
  r["data"] = {{"path", "eval.jsonl"}, {"examples", 100}, {"examples_hash", hash}, {"classes", classes}};
  r["data"]["support"] = json::object();
  r["baseline"] = {{"n", 100}, {"correct", 90}, {"recall", json::object()}};
  for (const std::string& c : classes) {
    r["data"]["support"][c] = 50;
    r["baseline"]["recall"][c] = 0.9;
  }
  r["options"] = {{"k", ks}};
  json experiments = json::array();
  for (int k : ks) {
    experiments.push_back({{"selection", "top"}, {"k", k}, {"metrics", {{"n", 100}, {"correct", 90 - k}}}});
  }
  r["layers"] = {{{"index", 0}, {"name", "encoder.layer.0"}, {"experiments", experiments}}};
  return r;
}

TEST(CompareReports, AnotherVersionOnTheSameDataNeitherWarnsNorMismatches) {
  json v2 = Report();
  v2["model"]["path"] = "v2/model.pt";
  v2["model"]["parameter_hash"] = "bbbb";
  const Comparison c = CompareReports(Report(), v2);
  EXPECT_TRUE(c.same_examples);
  EXPECT_THAT(c.differences, IsEmpty());
  EXPECT_FALSE(c.mismatch);
  EXPECT_EQ(c.metrics.size(), 6u);  // accuracy, 2 recalls, 3 top-k rows
}

TEST(CompareReports, OtherExamplesWarnButEveryMetricIsMatched) {
  json other = Report({"ham", "spam"}, "h2");
  other["data"]["examples"] = 400;
  other["data"]["path"] = "more.jsonl";
  const Comparison c = CompareReports(Report(), other);
  EXPECT_FALSE(c.same_examples);
  EXPECT_THAT(c.differences, ElementsAre("the examples differ (100 / 400 examples; eval.jsonl / more.jsonl; "
                                         "data.examples_hash)"));
  EXPECT_FALSE(c.mismatch);
  // The same count, other rows: the hash alone tells.
  const Comparison same_count = CompareReports(Report(), Report({"ham", "spam"}, "h2"));
  EXPECT_THAT(same_count.differences,
              ElementsAre("the examples differ (100 each, other rows or labels; data.examples_hash)"));
}

TEST(CompareReports, OtherClassNamesAreAMismatchEvenWhenMostMetricsMatch) {
  const Comparison c = CompareReports(Report(), Report({"0", "1"}));
  EXPECT_TRUE(c.mismatch);
  EXPECT_EQ(c.only_in_baseline.size(), 2u);  // the recalls; accuracy and the rows match
  EXPECT_THAT(c.differences, ElementsAre("the class names differ (ham, spam / 0, 1)"));
}

TEST(CompareReports, MostMetricsUnmatchedIsAMismatchAndSaysWhatDiffers) {
  // Other examples and other k: 3 of the baseline's 6 metrics are matched, not a mismatch;
  // 4 of 6 unmatched is.
  json half = Report({"ham", "spam"}, "h2", {8, 16, 32});
  const Comparison c = CompareReports(Report(), half);
  EXPECT_EQ(c.only_in_baseline.size(), 3u);
  EXPECT_FALSE(c.mismatch);
  json most = Report({"ham", "spam"}, "h2", {8, 16, 32});
  most["model"]["parameter_hash"] = "bbbb";
  most["baseline"]["recall"].erase("spam");
  const Comparison m = CompareReports(Report(), most);
  EXPECT_EQ(m.only_in_baseline.size(), 4u);
  EXPECT_TRUE(m.mismatch);
  EXPECT_THAT(m.differences, ElementsAre(HasSubstr("the examples differ"), "the options differ (k)",
                                         "the model weights differ too (model.parameter_hash aaaa / bbbb)"));
}

TEST(CompareReports, UnmatchedMetricsOfTheSameSetupWarnWithTheirCause) {
  const Comparison c = CompareReports(Report(), Report({"ham", "spam"}, "h1", {1, 2, 4, 8}));
  EXPECT_FALSE(c.mismatch);
  EXPECT_THAT(c.only_in_current, ElementsAre("layer 0 (encoder.layer.0) top k=8 accuracy"));
  EXPECT_THAT(c.differences, ElementsAre("the options differ (k)"));
  json other_layers = Report();
  other_layers["model"]["layers"][0]["name"] = "blocks.0";
  other_layers["layers"][0]["name"] = "blocks.0";
  const Comparison l = CompareReports(Report(), other_layers);
  EXPECT_FALSE(l.mismatch);  // the accuracy and the recalls match: 3 of 6, not most
  EXPECT_THAT(l.differences, ElementsAre(HasSubstr("the models' layers differ (1: encoder.layer.0 / 1: blocks.0)")));
}

TEST(CompareReports, NoMetricInCommonSaysWhatDiffers) {
  json r = Report({"0", "1"});
  r["baseline"].erase("correct");
  r["layers"] = json::array();
  test::ExpectError<DataError>([&] { CompareReports(Report(), r); }, 211,
                               "no metric in common (the class names differ (ham, spam / 0, 1)");
}

TEST(ComparisonMarkdown, SaysWhatDiffers) {
  const Comparison c = CompareReports(Report(), Report({"ham", "spam"}, "h2"));
  EXPECT_THAT(ComparisonMarkdown(c, CompareOptions()), HasSubstr("**Warning:** the examples differ (100 each"));
  EXPECT_THAT(ComparisonMarkdown(CompareReports(Report(), Report()), CompareOptions()),
              ::testing::Not(HasSubstr("Warning")));
}

}  // namespace
}  // namespace synapse
