// The evaluation session every client runs its experiments on: one RunPlans for a batch of
// experiments gives what each experiment gives alone, seeds are derived in one place,
// subsets see the whole run's rows, and bad experiments fail before anything runs.
#include "synapse/evaluation_session.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "synapse/dataset.h"
#include "synapse/error.h"
#include "synapse/model.h"

namespace synapse {
namespace {

using ::testing::HasSubstr;
using Selection = Experiment::Selection;

const std::string kDir = SYNAPSE_MODEL_DIR;

class SessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = new Model(Model::Load(kDir + "/model.pt"));
    set_ = new Dataset(LoadDataset(DatasetSpec()
                                       .data(kDir + "/eval.jsonl")
                                       .tokenizer(kDir + "/tokenizer.json")
                                       .labels(kDir + "/labels.json")
                                       .label_use(LabelUse::kRequired)
                                       .max_examples(160)
                                       .seed(1)));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete set_;
  }
  static std::unique_ptr<EvaluationSession> NewSession(uint64_t seed = 7) {
    return std::make_unique<EvaluationSession>(*model_, set_->examples(), set_->labels(), set_->class_names,
                                               SessionOptions().seed(seed).batching(BatchOptions().batch_size(16)));
  }
  static Model* model_;
  static Dataset* set_;
};
Model* SessionTest::model_ = nullptr;
Dataset* SessionTest::set_ = nullptr;

void ExpectSameResult(const ExperimentResult& a, const ExperimentResult& b) {
  EXPECT_EQ(a.pooled.correct, b.pooled.correct);
  EXPECT_EQ(a.pooled.flips, b.pooled.flips);
  EXPECT_EQ(a.pooled.correct_each, b.pooled.correct_each);
  EXPECT_EQ(a.neurons, b.neurons);
  EXPECT_EQ(a.seeds, b.seeds);
  // Logits agree to float rounding: a plan run alone takes the whole forward, in a batch it
  // runs from its layer's cut (suffix execution, within 1e-6 of the whole forward).
  ASSERT_EQ(a.flip_budget.size(), b.flip_budget.size());
  for (size_t i = 0; i < a.flip_budget.size(); ++i) EXPECT_NEAR(a.flip_budget[i], b.flip_budget[i], 1e-4) << i;
}

std::vector<Experiment> Mixed() {
  Experiment top = Experiment::Ablate(3, Selection::kTop, 20);
  Experiment random = Experiment::Ablate(3, Selection::kRandom, 20);
  random.draws = 3;
  Experiment cls = Experiment::Ablate(1, Selection::kClassTop, 8);
  cls.class_index = 2;
  cls.to_mean = true;
  Experiment noise = Experiment::Noise(2, 1.0);
  noise.draws = 2;
  Experiment pooled = Experiment::Ablate(0, Selection::kExplicit, 3);
  pooled.neurons = {1, 5, 9};
  pooled.positions = Positions::kPooled;
  return {Experiment::Baseline(),
          top,
          random,
          cls,
          noise,
          pooled,
          Experiment::LogitShift(0.5),
          Experiment::HeadWeightScale(1, Selection::kTop, 10, 3.0)};
}

TEST_F(SessionTest, ABatchGivesWhatEachExperimentGivesAlone) {
  const std::vector<Experiment> all = Mixed();
  const std::vector<ExperimentResult> together = NewSession()->Run(all);
  ASSERT_EQ(together.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    SCOPED_TRACE(i);
    ExpectSameResult(together[i], NewSession()->Run({all[i]}).front());
  }
  // The interventions did something, and the baseline did not.
  EXPECT_EQ(together[0].pooled.flips, 0);
  EXPECT_GT(together[1].pooled.flips + together[4].pooled.flips, 0);
  // Draws pool: n = draws × examples.
  EXPECT_EQ(together[2].draws.size(), 3u);
  EXPECT_EQ(together[2].pooled.n, 3 * together[0].pooled.n);
  EXPECT_EQ(together[4].draws.size(), 2u);
  EXPECT_EQ(together[7].parameter, FindClassificationHead(*model_).weight);
}

TEST_F(SessionTest, SeedsComeFromTheSessionSeedAlone) {
  Experiment random = Experiment::Ablate(2, Selection::kRandom, 16);
  random.draws = 2;
  const ExperimentResult a = NewSession(7)->Run({random}).front();
  const ExperimentResult b = NewSession(7)->Run({Experiment::Baseline(), random}).back();
  const ExperimentResult c = NewSession(8)->Run({random}).front();
  EXPECT_EQ(a.seeds, b.seeds);
  EXPECT_EQ(a.neurons, b.neurons);
  EXPECT_NE(a.seeds, c.seeds);
  EXPECT_NE(a.neurons[0], a.neurons[1]);
  // A noise draw's first draw is the single-draw experiment; later draws differ.
  Experiment noise = Experiment::Noise(1, 2.0);
  const ExperimentResult one = NewSession()->Run({noise}).front();
  noise.draws = 3;
  const ExperimentResult three = NewSession()->Run({noise}).front();
  EXPECT_EQ(one.draws[0].correct_each, three.draws[0].correct_each);
  EXPECT_EQ(one.draws[0].flips, three.draws[0].flips);
}

TEST_F(SessionTest, ASubsetSeesTheRowsTheWholeRunGivesIt) {
  const std::vector<Experiment> all = Mixed();
  std::unique_ptr<EvaluationSession> session = NewSession();
  const std::vector<ExperimentResult> whole = session->Run(all);
  const std::vector<int64_t> subset = {150, 3, 77, 4, 99};
  const std::vector<ExperimentResult> part = session->RunOn(all, subset);
  for (size_t i = 0; i < all.size(); ++i) {
    for (size_t k = 0; k < subset.size(); ++k) {
      EXPECT_DOUBLE_EQ(part[i].correct[k], whole[i].correct[static_cast<size_t>(subset[k])]) << i << " " << k;
      EXPECT_DOUBLE_EQ(part[i].flipped[k], whole[i].flipped[static_cast<size_t>(subset[k])]) << i << " " << k;
    }
  }
}

TEST_F(SessionTest, ABadExperimentFailsBeforeAnythingRuns) {
  std::unique_ptr<EvaluationSession> session = NewSession();
  session->Extract();
  const double before = session->passes_spent();
  Experiment wide = Experiment::Ablate(1, Selection::kTop, 100000);
  wide.name = "Ablate(TopK(100000)).AtLayer(1)";
  try {
    session->Run({Experiment::Ablate(0, Selection::kTop, 4), wide});
    FAIL() << "no error";
  } catch (const SpecError& e) {
    EXPECT_THAT(e.what(), HasSubstr("Ablate(TopK(100000)).AtLayer(1): k = 100000 is outside 1.."));
  }
  Experiment unnamed = Experiment::Noise(2, -1);
  try {
    session->Run({unnamed});
    FAIL() << "no error";
  } catch (const SpecError& e) {
    // Unnamed experiments are named by their description.
    EXPECT_THAT(e.what(), HasSubstr("adding Gaussian noise of -1 × each neuron's std of layer 2"));
  }
  EXPECT_EQ(session->passes_spent(), before);
}

TEST(Describe, SaysWhatAnExperimentDoes) {
  Experiment e = Experiment::Ablate(3, Selection::kClassTop, 10);
  e.class_index = 1;
  EXPECT_EQ(Describe(e, "encoder.layer.3", {"ham", "spam"}),
            "zeroing class spam's top-10 neurons of layer 3 (encoder.layer.3) at every token");
  e.selection = Selection::kRandom;
  e.draws = 5;
  e.to_mean = true;
  e.positions = Positions::kPooled;
  EXPECT_EQ(Describe(e, "l3", {}),
            "setting to their mean 10 random neurons (5 draws pooled) of layer 3 (l3) at the pooled token");
  EXPECT_EQ(Describe(Experiment::LogitShift(0.25), "", {}), "the worst change of at most 0.25 to each logit (L∞)");
  EXPECT_EQ(Describe(Experiment::HeadWeightScale(0, Selection::kBottom, 4, 1.5), "", {"ham", "spam"}, "head.weight"),
            "scaling class ham's 4 smallest head weights (head.weight) by 1.5");
  EXPECT_EQ(Describe(Experiment::Baseline(), "", {}), "");
}

}  // namespace
}  // namespace synapse
