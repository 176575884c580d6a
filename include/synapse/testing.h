// Robustness tests in GoogleTest: outcomes of queries on a model, and GoogleMock matchers
// over them. The one include for test files; link synapse::gtest.
//
//   #include <synapse/testing.h>
//   using namespace synapse::testing;
//   TEST(SpamFilter, TopTenNeuronsOfTheLastLayerDoNotBreakIt) {
//     Outcome o = ExperimentOutcome(report, -1, "top", 10);
//     EXPECT_THAT(o, AccuracyAtLeast(0.9).WithConfidence(0.95));
//   }
#ifndef SYNAPSE_TESTING_H_
#define SYNAPSE_TESTING_H_

#include "synapse/testing/matchers.h"
#include "synapse/testing/outcome.h"

#endif  // SYNAPSE_TESTING_H_
