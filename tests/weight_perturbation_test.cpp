// Weight-space changes are real while in scope and undone bit-exactly after, even on throw.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "synapse/synapse.h"

namespace synapse {
namespace {

using ::testing::HasSubstr;

class WeightPerturbationTest : public ::testing::Test {
 protected:
  Model model_ = Model::Load(std::string(SYNAPSE_FIXTURE_DIR) + "/bert_traced.pt");
  std::vector<Example> batch_ = {Example::Tokens({2, 5, 9, 11}), Example::Tokens({2, 7, 3})};
};

TEST_F(WeightPerturbationTest, ChangesLogitsInScopeAndRestoresExactly) {
  const uint64_t before = ParameterHash(model_);
  const Eigen::MatrixXf base = model_.Run(batch_).logits;
  {
    WeightPerturbation w(model_);
    w.ScaleRows("classifier.weight", {1}, 3.0);
    w.Add("classifier.bias", 0.25);
    w.AddNoise("bert.encoder.layer.0.output.dense.weight", 0.5, 7, /*relative=*/true);
    w.ScaleColumns("bert.encoder.layer.1.intermediate.dense.weight", {0, 3}, -1.0);
    w.Scale("bert.pooler.weight", 0.5);
    EXPECT_NE(ParameterHash(model_), before);
    EXPECT_GT((model_.Run(batch_).logits - base).cwiseAbs().maxCoeff(), 1e-3);
  }
  EXPECT_EQ(ParameterHash(model_), before);
  EXPECT_EQ(model_.Run(batch_).logits, base);
}

TEST_F(WeightPerturbationTest, HeadRowScaleMovesOnlyThatClassLogit) {
  const Eigen::MatrixXf base = model_.Run(batch_).logits;
  WeightPerturbation w(model_);
  w.Zero("classifier.weight");
  Eigen::MatrixXf zeroed = model_.Run(batch_).logits;
  // With a zero head the logits are the bias, the same for every example.
  EXPECT_TRUE(zeroed.row(0).isApprox(zeroed.row(1)));
  w.Restore();
  EXPECT_EQ(model_.Run(batch_).logits, base);
}

TEST_F(WeightPerturbationTest, BiasRowShiftEqualsALogitShiftOfThatClass) {
  const Eigen::MatrixXf expected = model_.Run(batch_, {Intervention::Shift({0, 0, 0.75f})}).logits;
  WeightPerturbation w(model_);
  w.AddRows("classifier.bias", {2}, 0.75);
  const Eigen::MatrixXf shifted = model_.Run(batch_).logits;
  EXPECT_TRUE(shifted.isApprox(expected, 1e-6)) << shifted << "\nvs\n" << expected;
}

TEST_F(WeightPerturbationTest, ScaleEntriesTouchesOnlyThoseEntriesOfOneRow) {
  WeightPerturbation w(model_);
  const uint64_t before = ParameterHash(model_);
  w.ScaleEntries("classifier.weight", 1, {0, 4}, 1.0);  // × 1 changes nothing
  EXPECT_EQ(ParameterHash(model_), before);
  const Eigen::MatrixXf base = model_.Run(batch_).logits;
  w.ScaleEntries("classifier.weight", 1, {0, 4}, 5.0);
  const Eigen::MatrixXf scaled = model_.Run(batch_).logits;
  // Only class 1's logit moves.
  EXPECT_EQ(scaled.col(0), base.col(0));
  EXPECT_EQ(scaled.col(2), base.col(2));
  EXPECT_GT((scaled.col(1) - base.col(1)).cwiseAbs().maxCoeff(), 1e-4);
  EXPECT_THROW(w.ScaleEntries("classifier.bias", 0, {0}, 2.0), SpecError);
  EXPECT_THROW(w.ScaleEntries("classifier.weight", 0, {9999}, 2.0), SpecError);
}

TEST_F(WeightPerturbationTest, RestoresWhenAnOperationThrowsMidway) {
  const uint64_t before = ParameterHash(model_);
  try {
    WeightPerturbation w(model_);
    w.Scale("classifier.weight", 2.0);
    w.ScaleRows("classifier.weight", {99}, 2.0);  // out of range: throws
    FAIL();
  } catch (const SpecError& e) {
    EXPECT_EQ(e.id(), 305);
    EXPECT_THAT(e.what(), HasSubstr("row 99 is out of range (size 3)"));
  }
  EXPECT_EQ(ParameterHash(model_), before);
}

TEST_F(WeightPerturbationTest, UnknownParameterSuggestsAName) {
  WeightPerturbation w(model_);
  try {
    w.Scale("classifier", 2.0);
    FAIL();
  } catch (const ModelError& e) {
    EXPECT_EQ(e.id(), 107);
    EXPECT_THAT(e.what(), HasSubstr("no parameter named \"classifier\" (did you mean \"classifier.weight\"?)"));
  }
}

TEST_F(WeightPerturbationTest, NoiseIsSeeded) {
  Eigen::MatrixXf a, b, c;
  {
    WeightPerturbation w(model_);
    w.AddNoise("classifier.weight", 0.1, 11);
    a = model_.Run(batch_).logits;
  }
  {
    WeightPerturbation w(model_);
    w.AddNoise("classifier.weight", 0.1, 11);
    b = model_.Run(batch_).logits;
  }
  {
    WeightPerturbation w(model_);
    w.AddNoise("classifier.weight", 0.1, 12);
    c = model_.Run(batch_).logits;
  }
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

}  // namespace
}  // namespace synapse
