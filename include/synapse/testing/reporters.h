// Reports of a robustness test run, for people and CI: junit.xml, report.json (what the
// models under test measured, in the analysis report's layout, plus every test's
// assertions and verdicts) and a self-contained report.html with charts.
//
//   int main(int argc, char** argv) {      // what synapse::gtest_main does
//     ::testing::InitGoogleMock(&argc, argv);
//     synapse::testing::InitSynapse(&argc, argv);
//     synapse::testing::InstallReporters();
//     return RUN_ALL_TESTS();
//   }
//
// The directory is --synapse_report_dir=DIR, else SYNAPSE_REPORT_DIR; with neither, nothing
// is written. Files are written when the run ends, each atomically (a temporary file
// renamed into place). Under sharding (GTEST_TOTAL_SHARDS), each shard writes its own
// files into DIR/shard-<GTEST_SHARD_INDEX>.
#ifndef SYNAPSE_TESTING_REPORTERS_H_
#define SYNAPSE_TESTING_REPORTERS_H_

#include <nlohmann/json.hpp>
#include <string>

namespace synapse::testing {

/// Appends the Synapse reporter to GoogleTest's listeners. `dir` overrides the flag and
/// the environment. Call after InitGoogleTest and InitSynapse, before RUN_ALL_TESTS.
void InstallReporters(const std::string& dir = "");

/// The report the reporter writes, from the tests finished so far and every model under
/// test loaded: the first model's report at the top level (schema of `synapse analyze`),
/// any further models under "more_models", and "tests": one entry per finished test with
/// suite, name, file, line, time_s, status (passed / failed / skipped), failures,
/// properties and assertions (requirement, query, what, metric, value, interval, confidence,
/// comparison, threshold, verdict, explanation).
nlohmann::ordered_json RunReport();

}  // namespace synapse::testing

#endif  // SYNAPSE_TESTING_REPORTERS_H_
