#include "synapse/testing/fixture.h"

#include "recorder.h"
#include "synapse/error.h"

namespace synapse::testing {

void RobustnessTest::SetUp() {
  (void)internal::PluginLinked();
  try {
    model_ = ModelUnderTest::Shared(config_);
  } catch (const std::exception& e) {
    GTEST_FAIL() << "cannot load the model under test: " << e.what();
  }
}

ModelUnderTest& RobustnessTest::model() {
  if (!model_) model_ = ModelUnderTest::Shared(config_);
  return *model_;
}

}  // namespace synapse::testing
