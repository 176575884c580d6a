// synapse compare: robustness regressions between two reports (model versions).
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "args.h"
#include "commands.h"
#include "util/number_text.h"
#include "report_file.h"
#include "util/atomic_file.h"
#include "synapse/compare.h"
#include "synapse/error.h"
#include "synapse/report_files.h"

namespace synapse::cli {
namespace {

using json = nlohmann::ordered_json;

constexpr const char* kEpilog =
    "Aligns the metrics both reports measured (baseline accuracy and recall, every sweep row's\n"
    "accuracy, probe accuracy per layer, logit budgets) and flags a regression when one falls by\n"
    "more than --tolerance and the change is significant at --alpha: McNemar's exact test when\n"
    "both reports scored the same examples (same data.examples_hash), a two-proportion test\n"
    "otherwise. A warning on stderr names what differs when the class names, the examples or\n"
    "the layers differ, or some metric has no match; it is a mismatch, exit 2 unless\n"
    "--allow-mismatch, when the class names differ (one run with --labels, one without) or\n"
    "more than half of the baseline's metrics have no match. Other weights alone (a new version\n"
    "of the model on the same data) are the normal case: no warning.\n"
    "Exit 0 with no regression, 1 with one, 2 on bad input.\n";

// The table stdout shows: regressions and improvements (every metric with `all`), the
// totals, and with `all` the metrics only one report has.
std::string ComparisonTable(const Comparison& c, bool all) {
  size_t key_w = 6;
  for (const MetricComparison& m : c.metrics) key_w = std::max(key_w, m.key.size());
  std::ostringstream out;
  out << std::left << std::setw(static_cast<int>(key_w) + 2) << "metric" << std::setw(10) << "baseline" << std::setw(10)
      << "current" << std::setw(9) << "delta" << std::setw(16) << "test" << std::setw(10) << "p"
      << "verdict\n";
  int hidden = 0;
  for (const MetricComparison& m : c.metrics) {
    if (!all && !m.regression && !m.improvement) {
      ++hidden;
      continue;
    }
    out << std::setw(static_cast<int>(key_w) + 2) << m.key << std::setw(10) << Fixed(m.baseline, 3) << std::setw(10)
        << Fixed(m.current, 3) << std::setw(9) << ((m.delta >= 0 ? "+" : "") + Fixed(m.delta, 3)) << std::setw(16)
        << m.test << std::setw(10) << (std::isfinite(m.p) ? Fixed(m.p, 4) : "-")
        << (m.regression    ? "REGRESSION"
            : m.improvement ? "improved"
                            : "")
        << "\n";
  }
  if (hidden > 0) out << "(" << hidden << " metrics within tolerance or not significant; --all lists them)\n";
  out << "\n"
      << c.metrics.size() << " metrics compared"
      << (c.same_examples ? " on the same examples (McNemar's exact test)" : " (two-proportion tests)") << ": "
      << c.regressions << " regression(s), " << c.improvements << " improvement(s)";
  if (!c.only_in_baseline.empty() || !c.only_in_current.empty()) {
    out << "; " << c.only_in_baseline.size() << " only in the baseline, " << c.only_in_current.size()
        << " only in the current report" << (all ? "" : " (--all lists them)");
  }
  out << "\n";
  if (all) {
    for (const std::string& key : c.only_in_baseline) out << "  only in the baseline: " << key << "\n";
    for (const std::string& key : c.only_in_current) out << "  only in the current report: " << key << "\n";
  }
  return out.str();
}

}  // namespace

int CompareCommand(int argc, char** argv) {
  std::string markdown, junit, baseline_path, current_path, tolerance_text = "0.01", alpha_text = "0.05";
  bool all = false, quiet = false, allow_mismatch = false;
  ArgParser p("synapse compare", "Compare two reports: BASELINE.json CURRENT.json; exit 1 on a regression.");
  p.Option("--tolerance", "T", "a fall of at most T (absolute, rate units) is not a regression (default 0.01)",
           &tolerance_text);
  p.Option("--alpha", "A", "significance level of the tests (default 0.05)", &alpha_text);
  p.Option("--markdown", "FILE", "write a Markdown summary (for a CI step summary)", &markdown);
  p.Option("--junit", "FILE", "write JUnit XML, one test case per compared metric", &junit);
  p.Flag("--all", "list every compared metric, not only the regressions and improvements, and the unmatched ones",
         &all);
  p.Flag("--allow-mismatch",
         "compare reports whose class names differ or most of whose metrics have no match (else exit 2)",
         &allow_mismatch);
  p.Flag("--quiet", "print nothing but errors", &quiet);
  p.Positional("BASELINE.json", "the report of the model version to compare against", &baseline_path);
  p.Positional("CURRENT.json", "the report of the new version", &current_path);
  p.Epilog(kEpilog);
  if (!p.Parse(argc, argv)) {
    std::cout << p.Help();
    return 0;
  }
  const std::vector<std::string> files = {baseline_path, current_path};
  const double tolerance = ParseNumber(tolerance_text, "--tolerance");
  const double alpha = ParseNumber(alpha_text, "--alpha");
  if (!(tolerance >= 0)) throw UsageError(401, "--tolerance: expected a number ≥ 0");
  if (!(alpha > 0 && alpha < 1)) throw UsageError(401, "--alpha: expected a number in (0, 1)");
  const CompareOptions options = CompareOptions().tolerance(tolerance).alpha(alpha);
  Comparison c;
  try {
    c = CompareReports(ReadReportFile(files[0]), ReadReportFile(files[1]), options);
  } catch (const DataError& e) {
    if (e.id() != 210) throw;
    throw DataError(210, files[0] + " / " + files[1] + ": " + e.detail());
  }
  // One warning line whenever the reports differ in classes, examples or layers, or some
  // metric is unmatched; exit 2 on a mismatch (Comparison::mismatch) unless allowed.
  if (!c.differences.empty()) {
    std::string why;
    for (const std::string& d : c.differences) why += (why.empty() ? "" : "; ") + d;
    std::cerr << "synapse compare: warning: " << why;
    if (!c.only_in_baseline.empty() || !c.only_in_current.empty()) {
      std::cerr << "; " << c.only_in_baseline.size() << " of the baseline's "
                << c.metrics.size() + c.only_in_baseline.size() << " metrics have no match in the current report";
      if (!c.only_in_current.empty()) {
        std::cerr << ", " << c.only_in_current.size() << " of the current report's none in the baseline";
      }
      std::cerr << " (" << c.metrics.size() << " matched" << (all ? "" : "; --all lists them") << ")";
    }
    std::cerr << "."
              << (c.mismatch && !allow_mismatch ? " Compare reports of the same classes, examples and experiments, "
                                                  "or pass --allow-mismatch.\n"
                                                : "\n");
    if (c.mismatch && !allow_mismatch) return 2;
  }
  auto make_parent = [](const std::string& file) {
    const size_t slash = file.rfind('/');
    if (slash != std::string::npos && slash > 0) MakeDirectories(file.substr(0, slash));
  };
  if (!markdown.empty()) {
    make_parent(markdown);
    WriteFileAtomically(markdown, ComparisonMarkdown(c, options, all));
  }
  if (!junit.empty()) {
    make_parent(junit);
    json report;
    report["tests"] = ComparisonTests(c, options);
    WriteFileAtomically(junit, RenderJUnitXml(report));
  }
  if (!quiet) std::cout << ComparisonTable(c, all);
  return c.regressions > 0 ? 1 : 0;
}

}  // namespace synapse::cli
