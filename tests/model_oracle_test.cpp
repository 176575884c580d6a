// Synapse's hooks against PyTorch's own: for every fixture model (traced BERT, GPT-style
// pre-LN, nn.TransformerEncoder on its nested fast path and masked from its ids, a
// scripted model whose layers share one type, a float-input model, and Hugging Face's
// RoBERTa, DistilBERT, GPT-2 and ALBERT, traced and scripted, whose layers are the calls
// of one shared module) and every intervention, the logits must equal what eager PyTorch
// with register_forward_hook produced (tests/fixtures/make_fixtures.py).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "oracle_util.h"
#include "synapse/synapse.h"
#include "test_util.h"

namespace synapse {
namespace {

using nlohmann::json;

constexpr double kTolerance = 1e-5;

using test::Oracle;

std::vector<Example> Inputs(const json& entry) { return test::OracleInputs(entry); }

Pooling PoolingOf(const json& entry) { return test::OraclePooling(entry); }

// "1:mean:2,3" takes its means from the oracle; everything else is the SPEC grammar.
Intervention ToIntervention(const std::string& spec, const json& entry) {
  if (spec.find(":mean:") != std::string::npos) {
    int layer = std::stoi(spec.substr(0, spec.find(':')));
    Intervention base =
        ParseIntervention(spec.substr(0, spec.find(":mean:")) + ":zero:" + spec.substr(spec.find(":mean:") + 6));
    return Intervention::Mean(base.site(), entry["means"][std::to_string(layer)].get<std::vector<float>>(),
                              base.neurons());
  }
  return ParseIntervention(spec);
}

struct Case {
  std::string model;
  size_t index;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.model << "/" << c.index; }

class OracleTest : public ::testing::TestWithParam<Case> {
 protected:
  static const Model& Get(const std::string& name) {
    static std::map<std::string, Model> models;
    auto it = models.find(name);
    if (it == models.end()) {
      const json& entry = Oracle()["models"][name];
      ModelOptions options;
      if (entry.contains("input_shape")) options.input_shape(entry["input_shape"].get<std::vector<int64_t>>());
      it = models
               .emplace(name,
                        Model::Load(std::string(SYNAPSE_FIXTURE_DIR) + "/" + entry["file"].get<std::string>(), options))
               .first;
    }
    return it->second;
  }
};

TEST_P(OracleTest, LogitsMatchEagerPyTorchHooks) {
  const json& entry = Oracle()["models"][GetParam().model];
  const json& c = entry["cases"][GetParam().index];
  SCOPED_TRACE(c["name"].get<std::string>());
  std::vector<Intervention> plan;
  for (const auto& spec : c["specs"]) plan.push_back(ToIntervention(spec.get<std::string>(), entry));
  RunResult r =
      Get(GetParam().model)
          .Run(
              Inputs(entry), plan,
              RunOptions().pool(PoolingOf(entry)).seed(entry["seed"].get<uint64_t>()).pad_id(test::OraclePadId(entry)));
  const auto expected = c["logits"].get<std::vector<std::vector<float>>>();
  ASSERT_EQ(r.logits.rows(), static_cast<Eigen::Index>(expected.size()));
  double max_diff = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(r.logits.cols(), static_cast<Eigen::Index>(expected[i].size()));
    for (size_t j = 0; j < expected[i].size(); ++j) {
      EXPECT_NEAR(r.logits(i, j), expected[i][j], kTolerance) << "example " << i << " class " << j;
      max_diff = std::max(max_diff, std::abs(static_cast<double>(r.logits(i, j)) - expected[i][j]));
    }
  }
  RecordProperty("max_abs_diff", ::testing::PrintToString(max_diff));
}

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  for (const auto& [name, entry] : Oracle()["models"].items()) {
    for (size_t i = 0; i < entry["cases"].size(); ++i) cases.push_back({name, i});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(
    AllModels, OracleTest, ::testing::ValuesIn(AllCases()), [](const ::testing::TestParamInfo<Case>& info) {
      return info.param.model + "_" +
             Oracle()["models"][info.param.model]["cases"][info.param.index]["name"].get<std::string>();
    });

class CaptureTest : public OracleTest {};

TEST_P(CaptureTest, PooledVectorsMatchEagerPyTorch) {
  const json& entry = Oracle()["models"][GetParam().model];
  const Model& model = Get(GetParam().model);
  std::vector<Intervention> plan;
  for (size_t l = 0; l < model.layers().size(); ++l) plan.push_back(Intervention::Capture(Site::Layer(l)));
  RunResult r = model.Run(Inputs(entry), plan, RunOptions().pool(PoolingOf(entry)).pad_id(test::OraclePadId(entry)));
  ASSERT_EQ(r.captures.size(), model.layers().size());
  double max_diff = 0;
  for (size_t l = 0; l < model.layers().size(); ++l) {
    auto expected = entry["captures"][std::to_string(l)].get<std::vector<std::vector<float>>>();
    const Eigen::MatrixXf& got = r.captures.at(static_cast<int>(l));
    ASSERT_EQ(got.rows(), static_cast<Eigen::Index>(expected.size()));
    for (size_t i = 0; i < expected.size(); ++i) {
      for (size_t j = 0; j < expected[i].size(); ++j) {
        ASSERT_NEAR(got(i, j), expected[i][j], kTolerance) << "layer " << l << " example " << i << " neuron " << j;
        max_diff = std::max(max_diff, std::abs(static_cast<double>(got(i, j)) - expected[i][j]));
      }
    }
  }
  RecordProperty("max_abs_diff", ::testing::PrintToString(max_diff));
}

std::vector<Case> OnePerModel() {
  std::vector<Case> cases;
  for (const auto& [name, entry] : Oracle()["models"].items()) cases.push_back({name, 0});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(AllModels, CaptureTest, ::testing::ValuesIn(OnePerModel()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.model; });

TEST(ModelIntrospection, FindsLayersInputsAndClassesOfEveryFixture) {
  for (const auto& [name, entry] : Oracle()["models"].items()) {
    SCOPED_TRACE(name);
    ModelOptions options;
    if (entry.contains("input_shape")) options.input_shape(entry["input_shape"].get<std::vector<int64_t>>());
    Model m = Model::Load(std::string(SYNAPSE_FIXTURE_DIR) + "/" + entry["file"].get<std::string>(), options);
    ASSERT_EQ(m.layers().size(), entry["num_layers"].get<size_t>());
    EXPECT_EQ(m.num_classes(), entry["num_classes"].get<int64_t>());
    EXPECT_EQ(m.parameter_count(), entry["parameters"].get<int64_t>());
    const std::string prefix = entry["layer_prefix"];
    for (const LayerInfo& l : m.layers()) {
      if (entry.value("layer_calls", false)) {  // the calls of one weight-shared module
        EXPECT_EQ(l.name, prefix + "@" + std::to_string(l.index));
        EXPECT_EQ(l.module, prefix);
        EXPECT_EQ(l.call, l.index);
      } else {
        EXPECT_EQ(l.name, prefix + "." + std::to_string(l.index));
        EXPECT_EQ(l.module, l.name);
        EXPECT_EQ(l.call, -1);
      }
      EXPECT_EQ(l.hidden_size, entry["hidden"].get<int64_t>());
    }
  }
}

TEST(ModelIntrospection, NestedFastPathIsSeenAndHookedOnPyTorchEncoder) {
  const json& entry = Oracle()["models"]["torch_encoder_scripted"];
  ASSERT_TRUE(entry["nested_seen_in_eager"].get<bool>()) << "the fixture no longer exercises nested tensors";
  Model m = Model::Load(std::string(SYNAPSE_FIXTURE_DIR) + "/torch_encoder_scripted.pt");
  EXPECT_EQ(m.layers()[0].layout, "nested");
}

TEST(ModelIntrospection, LayersThatShareOneClassTypeAreToldApart) {
  // Zeroing layer 0 must differ from zeroing layer 2, although both run the same graph.
  Model m = Model::Load(std::string(SYNAPSE_FIXTURE_DIR) + "/shared_type_scripted.pt");
  const json& entry = Oracle()["models"]["shared_type_scripted"];
  auto batch = Inputs(entry);
  auto r0 = m.Run(batch, {ParseIntervention("0:scale=3:all")}, RunOptions().pool(Pooling::kMean));
  auto r2 = m.Run(batch, {ParseIntervention("2:scale=3:all")}, RunOptions().pool(Pooling::kMean));
  auto base = m.Run(batch, {}, RunOptions().pool(Pooling::kMean));
  EXPECT_GT((r0.logits - r2.logits).cwiseAbs().maxCoeff(), 1e-3);
  EXPECT_GT((r0.logits - base.logits).cwiseAbs().maxCoeff(), 1e-3);
}

TEST(ModelIntrospection, GlobOverridesDiscovery) {
  Model m = Model::Load(std::string(SYNAPSE_FIXTURE_DIR) + "/bert_traced.pt",
                        ModelOptions().layers_glob("bert.encoder.layer.*.attention"));
  ASSERT_EQ(m.layers().size(), 3u);
  EXPECT_EQ(m.layers()[2].name, "bert.encoder.layer.2.attention");
  EXPECT_EQ(m.layers()[2].type, "BertAttention");
}

TEST(ModelIntrospection, NoiseDoesNotDependOnBatching) {
  Model m = Model::Load(std::string(SYNAPSE_FIXTURE_DIR) + "/bert_traced.pt");
  auto batch = Inputs(Oracle()["models"]["bert_traced"]);
  std::vector<Intervention> plan = {ParseIntervention("1:noise=0.5:all")};
  auto whole = m.Run(batch, plan, RunOptions().seed(3));
  for (size_t i = 0; i < batch.size(); ++i) {
    auto one = m.Run({batch[i]}, plan, RunOptions().seed(3).first_example_index(static_cast<int64_t>(i)));
    EXPECT_TRUE(one.logits.row(0).isApprox(whole.logits.row(i), 1e-5f)) << "example " << i;
  }
  auto other_seed = m.Run(batch, plan, RunOptions().seed(4));
  EXPECT_GT((other_seed.logits - whole.logits).cwiseAbs().maxCoeff(), 1e-4);
}

TEST(ModelInterventions, PerNeuronNoiseScalesTheSameDrawsPerNeuron) {
  // Noise(sigmas) adds sigmas[j] × the draw that Noise(1.0) adds: captured after the noise,
  // the pooled change of neuron j is sigma_j times the unit-noise change.
  Model m = Model::Load(std::string(SYNAPSE_FIXTURE_DIR) + "/bert_traced.pt");
  auto batch = Inputs(Oracle()["models"]["bert_traced"]);
  const Site site = Site::Layer(1);
  std::vector<float> sigmas(32);
  for (size_t j = 0; j < sigmas.size(); ++j) sigmas[j] = j % 4 == 0 ? 0.0f : 0.1f * static_cast<float>(j);
  auto clean = m.Run(batch, {Intervention::Capture(site)}).captures.at(1);
  auto unit =
      m.Run(batch, {Intervention::Noise(site, 1.0), Intervention::Capture(site)}, RunOptions().seed(5)).captures.at(1);
  auto scaled = m.Run(batch, {Intervention::Noise(site, sigmas), Intervention::Capture(site)}, RunOptions().seed(5))
                    .captures.at(1);
  for (Eigen::Index j = 0; j < 32; ++j) {
    Eigen::VectorXf want = (unit.col(j) - clean.col(j)) * sigmas[static_cast<size_t>(j)];
    EXPECT_TRUE((scaled.col(j) - clean.col(j)).isApprox(want, 1e-4) || want.norm() < 1e-6) << "neuron " << j;
    if (sigmas[static_cast<size_t>(j)] == 0.0f) EXPECT_EQ(scaled.col(j), clean.col(j));
  }
  test::ExpectError<SpecError>([&] { m.Run(batch, {Intervention::Noise(site, std::vector<float>(5, 1.0f))}); }, 308,
                               "needs one sigma per neuron");
  EXPECT_EQ(Intervention::Noise(site, sigmas).ToString(), "1:noise=per-neuron:all");
}

TEST(ModelIntrospection, IdleHooksLeaveLogitsBitIdentical) {
  Model hooked = Model::Load(std::string(SYNAPSE_FIXTURE_DIR) + "/bert_traced.pt");
  Model plain = Model::Load(std::string(SYNAPSE_FIXTURE_DIR) + "/bert_traced.pt", ModelOptions().install_hooks(false));
  auto batch = Inputs(Oracle()["models"]["bert_traced"]);
  EXPECT_EQ(hooked.Run(batch).logits, plain.Run(batch).logits);
}

}  // namespace
}  // namespace synapse
