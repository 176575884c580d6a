// Classifier families beyond BERT (tests/fixtures/make_fixtures.py, build_families): how
// their layers are found and named, weight-shared layers as calls, a model that refuses the
// load-time dry run's ids, and `synapse inspect` / `synapse analyze` on each of them. Their
// logits under every intervention kind, captures and suffix execution are checked against
// eager PyTorch by model_oracle_test.cpp and suffix_execution_test.cpp, which run every
// fixture in oracle.json.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "oracle_util.h"
#include "synapse/robustness/config.h"
#include "synapse/robustness/model_under_test.h"
#include "synapse/synapse.h"
#include "test_util.h"

namespace synapse {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kFixtures = SYNAPSE_FIXTURE_DIR;

std::vector<std::string> Names(const Model& m) {
  std::vector<std::string> out;
  for (const LayerInfo& l : m.layers()) out.push_back(l.name);
  return out;
}

TEST(WeightSharedLayers, EachCallOfTheSharedGroupIsALayerTracedOrScripted) {
  for (const char* file : {"albert_traced.pt", "albert_scripted.pt"}) {
    SCOPED_TRACE(file);
    const Model m = Model::Load(kFixtures + "/" + file);
    EXPECT_THAT(Names(m),
                ElementsAre("albert.encoder.albert_layer_groups.0@0", "albert.encoder.albert_layer_groups.0@1",
                            "albert.encoder.albert_layer_groups.0@2", "albert.encoder.albert_layer_groups.0@3"));
    for (const LayerInfo& l : m.layers()) {
      EXPECT_EQ(l.module, "albert.encoder.albert_layer_groups.0");
      EXPECT_EQ(l.call, l.index);
      EXPECT_EQ(l.type, "AlbertLayerGroup");
      EXPECT_EQ(l.hidden_size, 32);
      EXPECT_EQ(l.layout, "batch_first");
    }
    EXPECT_EQ(m.ResolveLayer(Site::Named("albert.encoder.albert_layer_groups.0@2")), 2);
  }
}

TEST(WeightSharedLayers, AGlobNamingTheGroupsGivesTheSameCallsAndStopsAtDots) {
  // `*` matches within one dotted component: the groups, not the ModuleList inside them
  // (albert_layer_groups.0.albert_layers), which has no forward to hook.
  for (const char* glob : {"albert.encoder.albert_layer_groups.*", "albert.encoder.albert_layer_groups.0"}) {
    for (const char* file : {"albert_traced.pt", "albert_scripted.pt"}) {
      SCOPED_TRACE(std::string(file) + " " + glob);
      const Model m = Model::Load(kFixtures + "/" + file, ModelOptions().layers_glob(glob));
      ASSERT_EQ(m.layers().size(), 4u);
      EXPECT_EQ(m.layers()[3].name, "albert.encoder.albert_layer_groups.0@3");
    }
  }
  // The inner layer module, called once per group call, is four layers as well.
  const Model inner = Model::Load(kFixtures + "/albert_traced.pt",
                                  ModelOptions().layers_glob("albert.encoder.albert_layer_groups.0.albert_layers.0"));
  EXPECT_THAT(Names(inner), ElementsAre("albert.encoder.albert_layer_groups.0.albert_layers.0@0",
                                        "albert.encoder.albert_layer_groups.0.albert_layers.0@1",
                                        "albert.encoder.albert_layer_groups.0.albert_layers.0@2",
                                        "albert.encoder.albert_layer_groups.0.albert_layers.0@3"));
}

TEST(WeightSharedLayers, InterventionsAtTwoCallsOfOneModuleAreApartAndComposed) {
  const json& entry = test::Oracle()["models"]["albert_traced"];
  const Model m = Model::Load(kFixtures + "/albert_traced.pt");
  const auto batch = test::OracleInputs(entry);
  const auto base = m.Run(batch);
  const auto first = m.Run(batch, {ParseIntervention("0:scale=3:all")});
  const auto last = m.Run(batch, {ParseIntervention("3:scale=3:all")});
  EXPECT_GT((first.logits - last.logits).cwiseAbs().maxCoeff(), 1e-3);
  EXPECT_GT((first.logits - base.logits).cwiseAbs().maxCoeff(), 1e-3);
  // Captures at every call are the hidden states after each pass through the group: all
  // different.
  std::vector<Intervention> captures;
  for (int l = 0; l < 4; ++l) captures.push_back(Intervention::Capture(Site::Layer(l)));
  const auto r = m.Run(batch, captures);
  ASSERT_EQ(r.captures.size(), 4u);
  EXPECT_GT((r.captures.at(0) - r.captures.at(1)).cwiseAbs().maxCoeff(), 1e-3);
  EXPECT_GT((r.captures.at(2) - r.captures.at(3)).cwiseAbs().maxCoeff(), 1e-3);
}

TEST(WeightSharedLayers, TracedCallsAreEachCutForSuffixExecution) {
  const Model m = Model::Load(kFixtures + "/albert_traced.pt");
  EXPECT_THAT(m.suffix_execution().layers, ElementsAre(0, 1, 2, 3)) << m.suffix_execution().fallback_reason;
}

TEST(DryRun, AModelMaskingPaddingFromItsIdsLoads) {
  // src_key_padding_mask = input_ids == 0: all-zero dry-run ids would be all padding.
  const Model m = Model::Load(kFixtures + "/ids_masked_encoder_scripted.pt");
  EXPECT_EQ(m.num_classes(), 3);
  ASSERT_EQ(m.layers().size(), 2u);
  EXPECT_EQ(m.layers()[0].layout, "nested");
  EXPECT_EQ(m.layers()[0].hidden_size, 32);
}

TEST(DryRun, AModelThatRefusesTheDryRunIdsLearnsFromTheFirstBatch) {
  // Its vocabulary has 5 ids; the load-time dry run's are 5..9.
  const json& entry = test::Oracle()["deferred"];
  const Model m = Model::Load(kFixtures + "/" + entry["file"].get<std::string>());
  EXPECT_EQ(m.num_classes(), -1);
  ASSERT_EQ(m.layers().size(), 2u);
  EXPECT_EQ(m.layers()[0].hidden_size, -1);
  std::vector<Example> batch;
  for (size_t i = 0; i < entry["inputs"]["input_ids"].size(); ++i) {
    auto ids = entry["inputs"]["input_ids"][i].get<std::vector<int64_t>>();
    const auto mask = entry["inputs"]["attention_mask"][i].get<std::vector<int64_t>>();
    ids.resize(static_cast<size_t>(std::count(mask.begin(), mask.end(), 1)));
    batch.push_back(Example::Tokens(ids));
  }
  const RunResult r = m.Run(batch, {Intervention::Capture(Site::Layer(1))});
  const auto expected = entry["logits"].get<std::vector<std::vector<float>>>();
  ASSERT_EQ(r.logits.rows(), 2);
  ASSERT_EQ(r.logits.cols(), 3);
  for (size_t i = 0; i < 2; ++i) {
    for (size_t j = 0; j < 3; ++j) EXPECT_NEAR(r.logits(i, j), expected[i][j], 1e-5) << i << "," << j;
  }
  EXPECT_EQ(r.captures.at(1).cols(), 32);
  EXPECT_EQ(m.num_classes(), 3);
  EXPECT_EQ(m.layers()[1].hidden_size, 32);
  EXPECT_EQ(m.layers()[1].layout, "batch_first");
}

TEST(DryRun, AWeightSharedModelCountsItsCallsOnIdsFromItsVocabulary) {
  // One block called 3 times in a loop, 5 token ids: the default dry-run ids (5..9) fail,
  // and without a dry run the calls, hence the layers, are unknown.
  const std::string path = kFixtures + "/small_vocab_shared_scripted.pt";
  test::ExpectError<ModelError>([&] { Model::Load(path); }, 106, "a dry run of forward failed");
  const Model m = Model::Load(path, ModelOptions().dry_run_ids({1, 2}));  // 2 tokens: 3 rows
  EXPECT_THAT(Names(m), ElementsAre("block@0", "block@1", "block@2"));
  EXPECT_EQ(m.num_classes(), 3);
  EXPECT_EQ(m.layers()[2].layout, "batch_first");
}

TEST(DryRun, TheCliDryRunsOnTheFirstRowOfItsData) {
  const std::string dir = test::TempDir("predict_small_vocab");
  const test::CommandResult r = test::RunCommand(std::string(SYNAPSE_CLI) + " predict --model " + kFixtures +
                                                     "/small_vocab_shared_scripted.pt --data " + kFixtures +
                                                     "/small_vocab_rows.jsonl -i 2:zero:all",
                                                 dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 6);
}

// Robustness tests and synapse gate load the model through ModelUnderTest: it dry-runs on
// the first eval row too, so the same model loads there (it failed on ids 5..9 before).
TEST(DryRun, TheRobustnessConfigDryRunsOnTheFirstEvalRow) {
  using robustness::Config;
  using robustness::ModelUnderTest;
  const std::shared_ptr<ModelUnderTest> m =
      ModelUnderTest::Shared(Config()
                                 .model(kFixtures + "/small_vocab_shared_scripted.pt")
                                 .data(kFixtures + "/small_vocab_rows.jsonl")
                                 .cache_dir("off"));
  EXPECT_EQ(m->num_layers(), 3);
  EXPECT_EQ(m->num_examples(), 6);
  EXPECT_EQ(m->Run(m->Baseline()).accuracy.n, 6);

  const std::string dir = test::TempDir("gate_small_vocab");
  const std::string spec = dir + "/gate.json";
  test::WriteFile(spec, json{{"model", kFixtures + "/small_vocab_shared_scripted.pt"},
                             {"data", kFixtures + "/small_vocab_rows.jsonl"},
                             {"assertions", {{{"metric", "accuracy"}, {"threshold", 0.0}}}}}
                            .dump());
  const test::CommandResult r =
      test::RunCommand(std::string(SYNAPSE_CLI) + " gate --spec " + spec + " --out " + dir + "/out --no-cache", dir);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(InspectCli, ListsEveryCallOfAWeightSharedModule) {
  const std::string dir = test::TempDir("inspect_albert");
  const test::CommandResult r =
      test::RunCommand(std::string(SYNAPSE_CLI) + " inspect --json " + kFixtures + "/albert_traced.pt", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  ASSERT_EQ(j["layers"].size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(j["layers"][i]["name"], "albert.encoder.albert_layer_groups.0@" + std::to_string(i));
    EXPECT_EQ(j["layers"][i]["module"], "albert.encoder.albert_layer_groups.0");
    EXPECT_EQ(j["layers"][i]["call"], i);
  }
  const test::CommandResult text =
      test::RunCommand(std::string(SYNAPSE_CLI) + " inspect " + kFixtures + "/albert_scripted.pt", dir);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("4 hook sites (type AlbertLayerGroup, the calls of one weight-shared module)"));
  EXPECT_THAT(text.out, HasSubstr("albert.encoder.albert_layer_groups.0@3"));
}

TEST(AnalyzeCli, LongLayerNamesKeepTheSummaryTableInColumns) {
  const std::string dir = test::TempDir("analyze_table_albert");
  const test::CommandResult r = test::RunCommand(
      std::string(SYNAPSE_CLI) + " analyze --model " + kFixtures + "/albert_traced.pt --data " + kFixtures +
          "/albert_rows.jsonl --k 1 --random-seeds 1 --noise none --weight-noise none --no-weight-space --no-cache"
          " --out " +
          dir + "/out",
      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The name's last 23 characters after the ellipsis, then the two spaces of its column.
  EXPECT_THAT(r.out, HasSubstr("\n0     …albert_layer_groups.0@0  "));
  EXPECT_THAT(r.out, HasSubstr("\n3     …albert_layer_groups.0@3  "));
}

TEST(InspectCli, NamesAnOperatorFromANewerPyTorchAndExitsTwo) {
  if (test::LibTorchMajor() >= 2) GTEST_SKIP() << "LibTorch " << test::LibTorchVersion() << " has the operator";
  const std::string dir = test::TempDir("inspect_sdpa");
  const test::CommandResult r =
      test::RunCommand(std::string(SYNAPSE_CLI) + " inspect " + kFixtures + "/sdpa_operator.pt", dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("[synapse.model.110]"));
  EXPECT_THAT(r.err, HasSubstr("aten::scaled_dot_product_attention"));
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("The original call is")));
}

// `synapse analyze` end to end on every family, from its pre-tokenized labelled rows.
class AnalyzeFamily : public ::testing::TestWithParam<std::string> {};

TEST_P(AnalyzeFamily, RunsEndToEnd) {
  const json& entry = test::Oracle()["models"][GetParam()];
  const std::string dir = test::TempDir("analyze_" + GetParam());
  const std::string command = std::string(SYNAPSE_CLI) + " analyze --model " + kFixtures + "/" +
                              entry["file"].get<std::string>() + " --data " + kFixtures + "/" +
                              entry["analyze_data"].get<std::string>() + " --pad-id " +
                              std::to_string(test::OraclePadId(entry)) + " --pool " + entry["pool"].get<std::string>() +
                              " --k 1,4 --random-seeds 2 --noise 0.5 --weight-noise 0.1 --weight-noise-seeds 1"
                              " --bisect-steps 3 --no-cache --quiet --out " +
                              dir + "/out";
  const test::CommandResult r = test::RunCommand(command, dir);
  ASSERT_EQ(r.exit_code, 0) << command << "\n" << r.err;
  const json report = json::parse(test::ReadFile(dir + "/out/report.json"));
  ASSERT_EQ(report["model"]["layers"].size(), entry["num_layers"].get<size_t>());
  EXPECT_EQ(report["model"]["classes"], 3);
  EXPECT_EQ(report["model"]["layers"][0]["hidden"], 32);
}

INSTANTIATE_TEST_SUITE_P(Families, AnalyzeFamily,
                         ::testing::Values("roberta_traced", "distilbert_traced", "gpt2_traced", "electra_traced",
                                           "deberta_v2_traced", "albert_traced", "albert_scripted",
                                           "ids_masked_encoder_scripted"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace synapse
