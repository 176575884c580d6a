// Robustness tests in GoogleTest: a fixture that loads a model under test once, queries
// that intervene on it, GoogleMock matchers over what they measure, reporters for CI, and
// the standard suite from a JSON spec. The one include for test files; link
// synapse::gtest_main (or synapse::gtest with your own main).
//
//   #include <synapse/testing.h>
//   using namespace synapse::robustness;
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
//
// Everything is in namespace synapse::robustness. It is not called synapse::robustness on
// purpose: inside namespace synapse, and in any file that says `using namespace synapse;`,
// a nested `testing` would shadow GoogleTest's ::testing, so `testing::Ge(0.9)` would stop
// compiling or mean something else (Abseil names its test namespace absl_testing for the
// same reason).
//
// The engine side (model under test, queries, checks, specs: synapse/robustness/) does not
// depend on GoogleTest; the GoogleTest side (fixture, matchers, reporters, the JSON-spec
// suite: synapse/gtest/) does.
#ifndef SYNAPSE_TESTING_H_
#define SYNAPSE_TESTING_H_

#include "synapse/gtest/fixture.h"
#include "synapse/gtest/matchers.h"
#include "synapse/gtest/reporters.h"
#include "synapse/gtest/suite.h"
#include "synapse/robustness/adaptive.h"
#include "synapse/robustness/assertion.h"
#include "synapse/robustness/check.h"
#include "synapse/robustness/config.h"
#include "synapse/robustness/model_under_test.h"
#include "synapse/robustness/outcome.h"
#include "synapse/robustness/queries.h"
#include "synapse/robustness/spec.h"

#endif  // SYNAPSE_TESTING_H_
