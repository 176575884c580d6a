// The files a run leaves for people and CI: report.json, a self-contained report.html with
// SVG charts, and junit.xml for the test results a report carries.
//
//   nlohmann::ordered_json report = synapse::ReportJson(synapse::Analyze(...));
//   synapse::WriteReportFiles(report, "reports/run-7");   // report.json, report.html
//
// A report with a "tests" array (written by the GoogleTest reporters, synapse/testing) also
// gets junit.xml. Every file is written to a temporary name and renamed into place, so a
// reader sees the previous complete file or the new complete one.
#ifndef SYNAPSE_REPORT_FILES_H_
#define SYNAPSE_REPORT_FILES_H_

#include <nlohmann/json.hpp>
#include <string>

namespace synapse {

/// One HTML page, no network: the verdicts of the tests (when there are any), the
/// baseline's per-class recall, probe accuracy per layer, ablation curves (top-k, random
/// band, bottom-k), the per-class ablation heatmap, noise, the logit flip-budget curve and
/// the weight-space searches, each drawn from whatever the report holds.
std::string RenderHtmlReport(const nlohmann::ordered_json& report);

/// JUnit XML (testsuites / testsuite / testcase with classname, name, time; <failure
/// message="..."> with the test's "message" (one line: the failed assertion's explanation),
/// else the first line of its first failure, and every failure in its body; <skipped/>;
/// <properties> per test case) from report["tests"], as Jenkins, GitLab and GitHub read it.
std::string RenderJUnitXml(const nlohmann::ordered_json& report);

/// Writes report.json and report.html into `dir` (created if missing), and junit.xml when
/// the report has "tests". Throws DataError 208 naming the file that cannot be written.
void WriteReportFiles(const nlohmann::ordered_json& report, const std::string& dir);

}  // namespace synapse

#endif  // SYNAPSE_REPORT_FILES_H_
