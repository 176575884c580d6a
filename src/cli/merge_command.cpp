// synapse merge: one report from the parts and reports of several processes, shards or CI
// jobs (synapse/report_parts.h).
#include <sys/stat.h>

#include <fstream>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "report_file.h"
#include "synapse/error.h"
#include "synapse/report_files.h"
#include "synapse/report_parts.h"

namespace synapse::cli {
namespace {

using json = nlohmann::ordered_json;

constexpr const char* kEpilog =
    "Each PATH is a report directory (its parts/*.json, else its report.json: what a robustness\n"
    "test run, a shard or `synapse gate` leaves) or a report.json / part file. Every test is\n"
    "kept once (the latest run of it wins) and the measurements of each model under test are\n"
    "united. Writes report.json, report.html and junit.xml into --out.\n"
    "Exit 0 when every merged test passed, 1 when one failed, 2 on bad input.\n";

bool IsDirectory(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

int MergeCommand(int argc, char** argv) {
  std::string out_dir;
  std::vector<std::string> inputs;
  bool quiet = false;
  ArgParser p("synapse merge", "Join the reports of several processes, shards or jobs into one.");
  p.Option("--out", "DIR", "where the joined junit.xml, report.json and report.html go", &out_dir, true);
  p.Flag("--quiet", "print nothing but errors", &quiet);
  p.Positionals("PATH", "report directories, report.json or part files", &inputs);
  p.Epilog(kEpilog);
  if (!p.Parse(argc, argv)) {
    std::cout << p.Help();
    return 0;
  }
  std::vector<json> reports;
  for (const std::string& path : inputs) {
    if (!IsDirectory(path)) {
      reports.push_back(ReadReportFile(path));
      continue;
    }
    std::vector<json> parts = ReadReportParts(path);
    if (parts.empty()) {
      std::ifstream probe(path + "/report.json");
      if (!probe) throw DataError(201, path + ": no parts/*.json and no report.json to merge");
      parts.push_back(ReadReportFile(path + "/report.json"));
    }
    for (json& part : parts) reports.push_back(std::move(part));
  }
  const json merged = MergeReports(reports);
  WriteReportFiles(merged, out_dir);
  int failed = 0;
  const json tests = merged.value("tests", json::array());
  for (const json& t : tests) failed += t.value("status", "") == "failed";
  if (!quiet) {
    std::cout << "merged " << merged.value("parts", 0) << " of " << reports.size() << " reports: " << tests.size()
              << " tests, " << failed << " failed; reports in " << out_dir
              << "/ (junit.xml, report.json, report.html)\n";
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace synapse::cli
