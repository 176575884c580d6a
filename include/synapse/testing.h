// Robustness tests in GoogleTest: a fixture that loads a model under test once, queries
// that intervene on it, GoogleMock matchers over what they measure, reporters for CI, and
// the standard suite from a JSON spec. The one include for test files; link
// synapse::gtest_main (or synapse::gtest with your own main).
//
//   #include <synapse/testing.h>
//   using namespace synapse::testing;
//
//   class SpamFilter : public RobustnessTest {
//    protected:
//     SpamFilter() : RobustnessTest(Config().model("models/spam-tiny")) {}
//   };
//
//   TEST_F(SpamFilter, KeepsCatchingSpamWithoutItsTopTenSpamNeurons) {
//     EXPECT_THAT(Ablate(TopK(10).OfClass("spam")).AtLayer(-1),
//                 ClassRecallAtLeast("spam", 0.9).WithConfidence(0.95));
//   }
//   TEST_F(SpamFilter, NoSmallLogitShiftFlipsALabel) {
//     EXPECT_THAT(Baseline(), NoLabelFlipsUnderLogitShift(0.05));
//   }
#ifndef SYNAPSE_TESTING_H_
#define SYNAPSE_TESTING_H_

#include "synapse/testing/adaptive.h"
#include "synapse/testing/assertion.h"
#include "synapse/testing/check.h"
#include "synapse/testing/config.h"
#include "synapse/testing/fixture.h"
#include "synapse/testing/matchers.h"
#include "synapse/testing/model_under_test.h"
#include "synapse/testing/outcome.h"
#include "synapse/testing/queries.h"
#include "synapse/testing/reporters.h"
#include "synapse/testing/spec.h"
#include "synapse/testing/suite.h"

#endif  // SYNAPSE_TESTING_H_
