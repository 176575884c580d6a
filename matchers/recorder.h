// What every assertion measured, kept per test for the reporters and recorded as test
// properties (private to synapse::gtest).
#ifndef SYNAPSE_MATCHERS_RECORDER_H_
#define SYNAPSE_MATCHERS_RECORDER_H_

#include <string>
#include <vector>

namespace synapse::testing::internal {

struct AssertionRecord {
  std::string matcher;  // the matcher's description: "has accuracy at least 0.900"
  std::string query;    // "Ablate(TopK(10)).AtLayer(-1)"; empty for outcomes read from reports
  std::string what;     // "zeroing the global top-10 neurons of layer 3 ..."
  std::string metric;   // accuracy, accuracy_drop, recall[ham], flip_rate, ...
  double value = 0;     // the point estimate
  double low = 0;       // its interval at `confidence` (NaN when it has none)
  double high = 0;
  double confidence = 0;
  double tested = 0;       // what was compared: the estimate or a bound
  std::string comparison;  // ">=", "<=" or "=="
  double threshold = 0;
  bool matched = false;
  bool known_weakness = false;  // evaluated inside KnownWeakness(): a miss is expected
  std::string explanation;      // as GoogleMock prints it after "Actual: ..., "
};

/// Records `r` for the running test (nothing outside a test): the same assertion evaluated
/// twice (GoogleMock matches, then explains) is kept once. Writes the test properties
/// synapse.N.{query,metric,value,interval,threshold,verdict}.
void RecordAssertion(const AssertionRecord& r);

/// The records of a finished or running test.
std::vector<AssertionRecord> AssertionsOf(const std::string& suite, const std::string& test);

}  // namespace synapse::testing::internal

#endif  // SYNAPSE_MATCHERS_RECORDER_H_
