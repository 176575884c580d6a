// Reports of a robustness test run, for people and CI: junit.xml, report.json (what the
// models under test measured, in the analysis report's layout, plus every test's
// assertions and verdicts) and a self-contained report.html with charts.
//
// Linking synapse::gtest is enough, whatever main() the program has (synapse::gtest_main,
// GoogleTest's gtest_main, or a team's own): a GoogleTest listener, registered when the
// program starts, reads the --synapse_* flags when RUN_ALL_TESTS starts (from the
// arguments the program gave InitGoogleTest; an unknown one exits 2 with one line) and
// writes the reports when it ends.
//
// The directory is --synapse_report_dir=DIR, else SYNAPSE_REPORT_DIR; with neither, nothing
// is written. Each process writes its part (DIR/parts/, synapse/report_parts.h) and joins
// every part there into DIR/junit.xml, report.json and report.html, so one process per
// test (gtest_discover_tests, ctest -j) keeps every test. Under sharding
// (GTEST_TOTAL_SHARDS), each shard writes into DIR/shard-<GTEST_SHARD_INDEX>.
#ifndef SYNAPSE_GTEST_REPORTERS_H_
#define SYNAPSE_GTEST_REPORTERS_H_

#include <nlohmann/json.hpp>
#include <string>

namespace synapse::robustness {

/// Writes the reports into `dir` instead of the flag's or the environment's directory
/// (empty: theirs). The reporter is installed already when synapse::gtest is linked; call
/// this before RUN_ALL_TESTS, only to choose the directory in code.
void InstallReporters(const std::string& dir = "");

/// The report the reporter writes, from the tests finished so far and every model under
/// test loaded: the first model's report at the top level (schema of `synapse analyze`),
/// any further models under "more_models", and "tests": one entry per finished test with
/// suite, name, file, line, time_s, status (passed / failed / skipped), failures,
/// properties and assertions (requirement, query, what, metric, value, interval, confidence,
/// comparison, threshold, verdict, explanation).
nlohmann::ordered_json RunReport();

}  // namespace synapse::robustness

#endif  // SYNAPSE_GTEST_REPORTERS_H_
