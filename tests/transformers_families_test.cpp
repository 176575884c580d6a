// The real `transformers` classifiers (BERT, RoBERTa, DistilBERT, ALBERT, ELECTRA,
// DeBERTa-v2, ModernBERT, GPT-2; eager and SDPA attention) as synapse-export writes them,
// taken from the work folder of the export_families test (the environment variable
// SYNAPSE_FAMILY_WORK, which ctest sets), which
// also leaves each message's layer outputs at the pooled token by eager forward hooks on
// the original classes. For each export:
//   - captures equal those eager hook outputs;
//   - suffix execution (RunEach) equals the whole forward (Run) at every intervention kind;
//   - the last layer runs on the pooled row, through attention's query side, for the
//     families whose graph allows it (with SDPA too);
//   - head changes replayed on the captured head input equal forward passes.
// Registered only in the LibTorch 2.x lane, after export_families (a ctest fixture).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "suffix_plans.h"
#include "synapse/model_directory.h"
#include "synapse/synapse.h"

namespace synapse {
namespace {

using ::testing::HasSubstr;

const std::string kWork = [] {
  const char* v = std::getenv("SYNAPSE_FAMILY_WORK");
  return std::string(v != nullptr ? v : "");
}();
constexpr float kCaptureTolerance = 1e-4f;  // another runtime than eager PyTorch
constexpr float kSameRuntimeTolerance = 1e-5f;

// The exports: "bert_sdpa", "gpt2_eager", ... (each WORK/NAME_model with WORK/NAME_eager.json).
std::vector<std::string> Exports() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(kWork, ec)) {
    const std::string dir = entry.path().filename().string();
    const std::string suffix = "_model";
    if (dir.size() <= suffix.size() || dir.compare(dir.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    const std::string name = dir.substr(0, dir.size() - suffix.size());
    if (std::filesystem::exists(kWork + "/" + name + "_eager.json")) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

struct Export {
  OpenedModel opened;
  std::vector<Example> examples;
  nlohmann::json eager;
  Pooling pool = Pooling::kFirst;
};

Export Open(const std::string& name) {
  const std::string dir = kWork + "/" + name + "_model";
  Export e{OpenModelAndData(dir + "/model.pt", DatasetSpec()
                                                   .data(kWork + "/eval.jsonl")
                                                   .tokenizer(dir + "/tokenizer.json")
                                                   .model(dir + "/model.pt")),
           {},
           nlohmann::json::parse(std::ifstream(kWork + "/" + name + "_eager.json")),
           Pooling::kFirst};
  e.examples = e.opened.data.examples();
  e.pool = e.eager.at("pool").get<std::string>() == "last" ? Pooling::kLast : Pooling::kFirst;
  return e;
}

// The family part of an export's name: "deberta_v2_eager" → "deberta_v2".
std::string Family(const std::string& name) { return name.substr(0, name.rfind('_')); }

TEST(TransformersFamilies, ExportsArePresent) {
  // Every family of export_families, eager and (but for DeBERTa-v2) SDPA.
  EXPECT_EQ(Exports().size(), 15u) << "in " << kWork << ": run the export_families test first";
}

class TransformersFamiliesTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TransformersFamiliesTest, CapturesMatchEagerHooks) {
  const Export e = Open(GetParam());
  const Model& model = e.opened.model;
  const int layers = static_cast<int>(model.layers().size());
  std::vector<Intervention> captures;
  for (int l = 0; l < layers; ++l) captures.push_back(Intervention::Capture(Site::Layer(l)));
  const RunResult got =
      model.Run(e.examples, captures, RunOptions().pool(e.pool).pad_id(e.opened.pad_id));
  const nlohmann::json& want = e.eager.at("captures");
  ASSERT_EQ(want.size(), e.examples.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(static_cast<int>(want[i].size()), layers) << "message " << i;
    for (int l = 0; l < layers; ++l) {
      const std::vector<float> v = want[i][static_cast<size_t>(l)].get<std::vector<float>>();
      const Eigen::MatrixXf& c = got.captures.at(l);
      ASSERT_EQ(c.cols(), static_cast<Eigen::Index>(v.size()));
      float worst = 0.f;
      for (size_t j = 0; j < v.size(); ++j) {
        worst = std::max(worst, std::abs(c(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) - v[j]));
      }
      EXPECT_LE(worst, kCaptureTolerance) << "message " << i << ", layer " << l;
    }
  }
}

TEST_P(TransformersFamiliesTest, SuffixExecutionMatchesTheWholeForward) {
  const Export e = Open(GetParam());
  const SuffixExecution cut = e.opened.model.suffix_execution();
  SCOPED_TRACE("cut at layers " + ::testing::PrintToString(cut.layers) + "; fallback: " + cut.fallback_reason +
               "; pooled rows: " + cut.pooled_rows);
  EXPECT_EQ(cut.layers.size(), e.opened.model.layers().size()) << cut.fallback_reason;
  // Messages of different lengths in one batch: padding, and the mask, are exercised.
  test::ExpectSameResults(e.opened.model, e.examples,
                          RunOptions().pool(e.pool).seed(11).pad_id(e.opened.pad_id), kSameRuntimeTolerance);
}

TEST_P(TransformersFamiliesTest, LastLayerRunsOnThePooledRowWhereTheGraphAllows) {
  const std::string name = GetParam();
  const std::string family = Family(name);
  const bool sdpa = name.size() > 5 && name.compare(name.size() - 5, 5, "_sdpa") == 0;
  const Export e = Open(name);
  const SuffixExecution cut = e.opened.model.suffix_execution();
  const int last = static_cast<int>(e.opened.model.layers().size()) - 1;
  if (family == "gpt2" || family == "modernbert") {
    // GPT-2 picks each message's last token after its head; ModernBERT's layers split
    // their projections with chunk (a node with two outputs). Neither is pushed through:
    // the pooled row starts at most at the head.
    EXPECT_NE(cut.pooled_rows, "");
    return;
  }
  EXPECT_EQ(cut.pooled_rows_layer, last) << cut.pooled_rows;
  EXPECT_THAT(cut.pooled_rows, HasSubstr("aten::layer_norm ×2"));
  if (family == "deberta_v2") {
    // Disentangled attention reads relative positions of every token pair: the output
    // projection, feed-forward and norms run on the row, the attention on every token.
    EXPECT_THAT(cut.pooled_rows, HasSubstr("aten::linear ×3"));
    return;
  }
  // The query projection and the attention on the row; keys and values on every token.
  EXPECT_THAT(cut.pooled_rows, HasSubstr("aten::linear ×4"));
  EXPECT_THAT(cut.pooled_rows, HasSubstr(sdpa ? "aten::scaled_dot_product_attention ×1" : "aten::softmax ×1"));
}

TEST_P(TransformersFamiliesTest, HeadChangesReplayAsForwardPasses) {
  Export e = Open(GetParam());
  Model& model = e.opened.model;
  const BatchOptions batching = BatchOptions().batch_size(5).pool(e.pool).pad_id(e.opened.pad_id);
  const ClassificationHead head = FindClassificationHead(model);
  const HeadReplay replay(model, e.examples, batching, head);
  ASSERT_TRUE(replay.available()) << replay.reason();
  const std::vector<std::pair<std::string, std::function<void(WeightPerturbation&)>>> changes = {
      {"scale rows", [&](WeightPerturbation& w) { w.ScaleRows(head.weight, {1}, -2.0); }},
      {"weight noise", [&](WeightPerturbation& w) { w.AddNoise(head.weight, 0.25, 7, /*relative=*/true); }},
  };
  const Eigen::MatrixXf base = RunPlans(model, e.examples, {Plan{}}, batching)[0];
  for (const auto& [what, change] : changes) {
    SCOPED_TRACE(what);
    WeightPerturbation copies = WeightPerturbation::Copies(model);
    change(copies);
    ASSERT_TRUE(replay.Covers(copies));
    const Eigen::MatrixXf replayed = replay.Logits(copies);
    Eigen::MatrixXf forward;
    {
      WeightPerturbation live(model);
      change(live);
      forward = RunPlans(model, e.examples, {Plan{}}, batching)[0];
    }
    ASSERT_EQ(replayed.rows(), forward.rows());
    EXPECT_LE((replayed - forward).cwiseAbs().maxCoeff(), kSameRuntimeTolerance);
    EXPECT_GT((forward - base).cwiseAbs().maxCoeff(), 1e-4f) << "the change changed nothing";
  }
}

INSTANTIATE_TEST_SUITE_P(Exports, TransformersFamiliesTest, ::testing::ValuesIn(Exports()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(TransformersFamiliesTest);

}  // namespace
}  // namespace synapse
