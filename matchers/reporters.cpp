#include "synapse/testing/reporters.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <vector>

#include "recorder.h"
#include "synapse/report_files.h"
#include "synapse/testing/config.h"
#include "synapse/testing/model_under_test.h"

namespace synapse::testing {
namespace {

using json = nlohmann::ordered_json;

std::mutex& TestsMutex() {
  static std::mutex* m = new std::mutex;
  return *m;
}
std::vector<json>& FinishedTests() {
  static std::vector<json>* tests = new std::vector<json>;
  return *tests;
}

json TestJson(const ::testing::TestInfo& info) {
  const ::testing::TestResult& result = *info.result();
  json t;
  t["suite"] = info.test_suite_name();
  t["name"] = info.name();
  if (info.value_param() != nullptr) t["value_param"] = info.value_param();
  t["file"] = info.file();
  t["line"] = info.line();
  t["time_s"] = static_cast<double>(result.elapsed_time()) / 1000.0;
  t["status"] = result.Skipped() ? "skipped" : result.Failed() ? "failed" : "passed";
  json failures = json::array();
  for (int i = 0; i < result.total_part_count(); ++i) {
    const ::testing::TestPartResult& part = result.GetTestPartResult(i);
    if (!part.failed()) continue;
    std::string where = part.file_name() != nullptr ? std::string(part.file_name()) : "";
    if (part.line_number() >= 0) where += ":" + std::to_string(part.line_number());
    failures.push_back((where.empty() ? "" : where + ": ") + part.message());
  }
  t["failures"] = failures;
  json properties = json::object();
  for (int i = 0; i < result.test_property_count(); ++i) {
    properties[result.GetTestProperty(i).key()] = result.GetTestProperty(i).value();
  }
  t["properties"] = properties;
  json assertions = json::array();
  for (const Verdict& v : internal::VerdictsOf(info.test_suite_name(), info.name())) {
    assertions.push_back(VerdictJson(v));
  }
  t["assertions"] = assertions;
  return t;
}

std::string ReportDirectory(const std::string& given) {
  std::string dir = given.empty() ? SettingFromFlagsOrEnvironment("report_dir") : given;
  if (dir.empty()) return dir;
  // Shards of one run must not overwrite each other's files.
  const char* total = std::getenv("GTEST_TOTAL_SHARDS");
  const char* index = std::getenv("GTEST_SHARD_INDEX");
  if (total != nullptr && index != nullptr && std::atoi(total) > 1) dir += "/shard-" + std::string(index);
  return dir;
}

class Reporter : public ::testing::EmptyTestEventListener {
 public:
  explicit Reporter(std::string dir) : dir_(std::move(dir)) {}

  void OnTestEnd(const ::testing::TestInfo& info) override {
    std::lock_guard<std::mutex> lock(TestsMutex());
    FinishedTests().push_back(TestJson(info));
  }

  void OnTestProgramEnd(const ::testing::UnitTest&) override {
    if (dir_.empty()) return;
    try {
      WriteReportFiles(RunReport(), dir_);
      std::cout << "[ synapse  ] reports in " << dir_ << "/ (junit.xml, report.json, report.html)\n";
    } catch (const std::exception& e) {
      // The tests' verdicts stand; the missing report is said, not hidden.
      std::cerr << "[ synapse  ] cannot write the reports: " << e.what() << "\n";
    }
  }

 private:
  std::string dir_;
};

}  // namespace

json RunReport() {
  json report;
  const std::vector<std::shared_ptr<ModelUnderTest>> models = ModelUnderTest::Loaded();
  if (!models.empty()) report = models.front()->Report();
  if (models.size() > 1) {
    report["more_models"] = json::array();
    for (size_t i = 1; i < models.size(); ++i) report["more_models"].push_back(models[i]->Report());
  }
  std::lock_guard<std::mutex> lock(TestsMutex());
  report["tests"] = FinishedTests();
  return report;
}

void InstallReporters(const std::string& dir) {
  ::testing::UnitTest::GetInstance()->listeners().Append(new Reporter(ReportDirectory(dir)));
}

}  // namespace synapse::testing
