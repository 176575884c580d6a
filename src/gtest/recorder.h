// What every assertion found, kept per test for the reporters and recorded as test
// properties (private to synapse::gtest).
#ifndef SYNAPSE_SRC_GTEST_RECORDER_H_
#define SYNAPSE_SRC_GTEST_RECORDER_H_

#include <string>
#include <vector>

#include "synapse/robustness/check.h"

namespace synapse::robustness::internal {

/// Records `v` for the running test (nothing outside a test): the same assertion evaluated
/// twice (GoogleMock matches, then explains) is kept once. Marks it a known weakness inside
/// KnownWeakness(). Writes the test properties
/// synapse.N.{query,metric,value,interval,threshold,verdict}.
void RecordVerdict(const Verdict& v);

/// True; defined beside the listener that reads the flags and writes the reports
/// (reporters.cpp). Every entry point of synapse::gtest calls it, so that a program
/// linking the static library links that listener's registration too.
bool PluginLinked();

/// The verdicts of a finished or running test.
std::vector<Verdict> VerdictsOf(const std::string& suite, const std::string& test);

}  // namespace synapse::robustness::internal

#endif  // SYNAPSE_SRC_GTEST_RECORDER_H_
