#include "synapse/gtest/fixture.h"

#include "gtest/recorder.h"
#include "synapse/error.h"

namespace synapse::robustness {

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

}  // namespace synapse::robustness
