// The fixture of robustness tests: a model under test, loaded once per binary, and the
// queries as members so that a TEST_F reads like the requirement it checks.
//
//   class SpamFilter : public synapse::robustness::RobustnessTest {
//    protected:
//     SpamFilter() : RobustnessTest(Config().model("models/spam-tiny")) {}
//   };
//
//   TEST_F(SpamFilter, SurvivesLosingItsTopTenSpamNeurons) {
//     EXPECT_THAT(Ablate(TopK(10).OfClass("spam")).AtLayer(-1),
//                 ClassRecallAtLeast("spam", 0.9).WithConfidence(0.95));
//   }
//
// The model loads in SetUp(); a model or data file that cannot be read fails the test with
// its one-line error instead of crashing the binary. A subclass overriding SetUp() calls
// RobustnessTest::SetUp() first.
#ifndef SYNAPSE_GTEST_FIXTURE_H_
#define SYNAPSE_GTEST_FIXTURE_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "synapse/robustness/config.h"
#include "synapse/robustness/model_under_test.h"
#include "synapse/robustness/queries.h"

namespace synapse::robustness {

class RobustnessTest : public ::testing::Test {
 protected:
  /// `config` before the environment's and the flags' overrides (config.h).
  explicit RobustnessTest(Config config = Config()) : config_(std::move(config)) {}

  void SetUp() override;

  /// The shared model under test (loaded by SetUp()).
  ModelUnderTest& model();

  Query Baseline() { return model().Baseline(); }
  Query Ablate(const Selection& selection) { return model().Ablate(selection); }
  Query Noise(double sigma) { return model().Noise(sigma); }
  Query LogitShift(double budget) { return model().LogitShift(budget); }
  Query HeadWeightScale(const std::string& class_name, const Selection& columns, double factor) {
    return model().HeadWeightScale(class_name, columns, factor);
  }
  ProbeQuery Probe(int layer) { return model().Probe(layer); }

 private:
  Config config_;
  std::shared_ptr<ModelUnderTest> model_;
};

}  // namespace synapse::robustness

#endif  // SYNAPSE_GTEST_FIXTURE_H_
