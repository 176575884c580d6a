// Head perturbations scored from the head's captured input (HeadReplay) against forward
// passes under the same change made to the live model: for every fixture model whose
// logits are its head's output, the same logits; for the others, a refusal that says why.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "oracle_util.h"
#include "synapse/synapse.h"
#include "test_util.h"

namespace synapse {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

Model LoadEntry(const json& entry) {
  ModelOptions options;
  if (entry.contains("input_shape")) options.input_shape(entry["input_shape"].get<std::vector<int64_t>>());
  return Model::Load(std::string(SYNAPSE_FIXTURE_DIR) + "/" + entry["file"].get<std::string>(), options);
}

class HeadReplayTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HeadReplayTest, HeadChangesGiveTheForwardPassLogits) {
  const json& entry = test::Oracle()["models"][GetParam()];
  Model model = LoadEntry(entry);
  std::vector<Example> examples = test::OracleInputs(entry);
  // Twice the oracle's rows in batches of 3: several batches of different lengths.
  const std::vector<Example> more = examples;
  examples.insert(examples.end(), more.rbegin(), more.rend());
  const BatchOptions batching =
      BatchOptions().batch_size(3).pool(test::OraclePooling(entry)).pad_id(test::OraclePadId(entry));
  const ClassificationHead head = FindClassificationHead(model);
  const uint64_t hash = ParameterHash(model);
  const HeadReplay replay(model, examples, batching, head);
  ASSERT_TRUE(replay.available()) << replay.reason();
  using Change = std::function<void(WeightPerturbation&)>;
  std::vector<std::pair<std::string, Change>> changes = {
      {"nothing", [](WeightPerturbation&) {}},
      {"scale entries",
       [&](WeightPerturbation& w) {
         w.ScaleEntries(head.weight, 0, {0, 1, 2}, 3.5);
       }},
      {"scale rows", [&](WeightPerturbation& w) { w.ScaleRows(head.weight, {1}, -2.0); }},
      {"weight noise", [&](WeightPerturbation& w) { w.AddNoise(head.weight, 0.25, 7, /*relative=*/true); }},
  };
  if (!head.bias.empty()) {
    changes.push_back({"bias shift", [&](WeightPerturbation& w) { w.AddRows(head.bias, {1}, 0.75); }});
    changes.push_back({"both", [&](WeightPerturbation& w) {
                         w.AddNoise(head.bias, 0.5, 3, /*relative=*/false);
                         w.ScaleEntries(head.weight, 1, {2}, 0.25);
                       }});
  }
  // The same op on the same rows: the same bits on LibTorch 1.13. GPT-2 selects each
  // example's last token after its head, which replay does before it (a smaller matrix
  // product, other rounding); LibTorch 2.x picks its linear kernel by shape, which rounds
  // the weight-shared ALBERT head's product on all rows and on the captured input apart.
  const float tolerance = GetParam() == "gpt2_traced" || test::LibTorchMajor() >= 2 ? 1e-6f : 0.0f;
  const Eigen::MatrixXf base = RunPlans(model, examples, {Plan{}}, batching)[0];
  for (const auto& [name, change] : changes) {
    SCOPED_TRACE(name);
    WeightPerturbation copies = WeightPerturbation::Copies(model);
    change(copies);
    ASSERT_TRUE(replay.Covers(copies));
    const Eigen::MatrixXf replayed = replay.Logits(copies);
    EXPECT_EQ(ParameterHash(model), hash) << "a change on copies touched the model";
    Eigen::MatrixXf forward;
    {
      WeightPerturbation live(model);
      change(live);
      forward = RunPlans(model, examples, {Plan{}}, batching)[0];
    }
    ASSERT_EQ(replayed.rows(), forward.rows());
    ASSERT_EQ(replayed.cols(), forward.cols());
    EXPECT_LE((replayed - forward).cwiseAbs().maxCoeff(), tolerance);
    if (name != "nothing") EXPECT_GT((forward - base).cwiseAbs().maxCoeff(), 1e-4f) << "the change changed nothing";
  }
  EXPECT_EQ(ParameterHash(model), hash);
}

std::vector<std::string> ModelNames() {
  std::vector<std::string> names;
  for (const auto& [name, entry] : test::Oracle()["models"].items()) names.push_back(name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(AllModels, HeadReplayTest, ::testing::ValuesIn(ModelNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(HeadReplay, ChangesElsewhereAreNotCovered) {
  Model model = Model::Load(std::string(SYNAPSE_FIXTURE_DIR) + "/bert_traced.pt");
  const std::vector<Example> examples = {Example::Tokens({2, 5, 9, 11}), Example::Tokens({2, 7, 3})};
  const HeadReplay replay(model, examples, BatchOptions(), FindClassificationHead(model));
  ASSERT_TRUE(replay.available()) << replay.reason();
  WeightPerturbation w = WeightPerturbation::Copies(model);
  w.Scale("bert.pooler.weight", 2.0);
  EXPECT_FALSE(replay.Covers(w));
  EXPECT_THROW(replay.Logits(w), std::logic_error);
}

TEST(HeadReplay, LogitsAfterANonlinearityAreRefused) {
  Model model =
      Model::Load(std::string(SYNAPSE_FIXTURE_DIR) + "/tabular_log_softmax.pt", ModelOptions().input_shape({16}));
  const std::vector<Example> examples = {Example::Features(std::vector<float>(16, 0.5f), {16})};
  const HeadReplay replay(model, examples, BatchOptions(), FindClassificationHead(model));
  EXPECT_FALSE(replay.available());
  EXPECT_THAT(replay.reason(), HasSubstr("not the head's output (aten::log_softmax comes after it)"));
}

TEST(HeadReplay, ANamedHeadThatIsNotTheLastMapIsRefused) {
  // The pooler is a linear map too, but the logits are not its output.
  Model model = Model::Load(std::string(SYNAPSE_FIXTURE_DIR) + "/bert_traced.pt");
  const std::vector<Example> examples = {Example::Tokens({2, 5, 9, 11})};
  ClassificationHead pooler{"bert.pooler.weight", "bert.pooler.bias", 0};
  const HeadReplay replay(model, examples, BatchOptions(), pooler);
  EXPECT_FALSE(replay.available());
  EXPECT_THAT(replay.reason(), HasSubstr("not the head's output"));
}

}  // namespace
}  // namespace synapse
