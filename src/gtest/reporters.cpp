#include "synapse/gtest/reporters.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <vector>

#include "recorder.h"
#include "synapse/report_parts.h"
#include "synapse/robustness/config.h"
#include "synapse/robustness/model_under_test.h"
#include "synapse/runtime.h"

namespace synapse::robustness {
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

// The one line CI shows for a failure (JUnit's message attribute): the explanation of the
// assertion that failed (its query and why, "Baseline(): whose recall ...; the lower bound
// 0.221 misses 0.600"), found by its explanation in GoogleMock's text; for any other
// failure, its first line.
std::string FailureMessage(const std::string& text, const std::vector<Verdict>& verdicts) {
  std::string line;
  for (const Verdict& v : verdicts) {
    if (!Holds(v) && !v.explanation.empty() && text.find(v.explanation) != std::string::npos) {
      line = FailureLine(v);
      break;
    }
  }
  if (line.empty()) line = text.substr(0, text.find('\n'));
  return line;
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
  const std::vector<Verdict> verdicts = internal::VerdictsOf(info.test_suite_name(), info.name());
  json failures = json::array();
  std::string message;
  for (int i = 0; i < result.total_part_count(); ++i) {
    const ::testing::TestPartResult& part = result.GetTestPartResult(i);
    if (!part.failed()) continue;
    std::string where = part.file_name() != nullptr ? std::string(part.file_name()) : "";
    if (part.line_number() >= 0) where += ":" + std::to_string(part.line_number());
    failures.push_back((where.empty() ? "" : where + ": ") + part.message());
    if (message.empty()) message = FailureMessage(part.message(), verdicts);
  }
  t["failures"] = failures;
  if (!message.empty()) t["message"] = message;
  json properties = json::object();
  for (int i = 0; i < result.test_property_count(); ++i) {
    properties[result.GetTestProperty(i).key()] = result.GetTestProperty(i).value();
  }
  t["properties"] = properties;
  json assertions = json::array();
  for (const Verdict& v : verdicts) assertions.push_back(VerdictJson(v));
  t["assertions"] = assertions;
  return t;
}

// Whether this process is the child GoogleTest starts for a threadsafe death test: it
// reruns one test, and its parent reports it.
bool InDeathTestChild() {
#if GTEST_HAS_DEATH_TEST
  return !GTEST_FLAG_GET(internal_run_death_test).empty();
#else
  return false;
#endif
}

// The command line the program gave InitGoogleTest, before GoogleTest removed its own flags
// from argv; where InitGoogleTest was not called, the process's own (/proc/self/cmdline).
std::vector<std::string> CommandLine() {
  std::vector<std::string> args = ::testing::internal::GetArgvs();
  if (!args.empty()) return args;
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string arg;
  while (std::getline(in, arg, '\0')) args.push_back(arg);
  return args;
}

// What InstallReporters() asked for, before the run starts.
std::string& InstalledDirectory() {
  static std::string* dir = new std::string;
  return *dir;
}

std::string ReportDirectory() {
  std::string dir = InstalledDirectory().empty() ? SettingFromFlagsOrEnvironment("report_dir") : InstalledDirectory();
  if (dir.empty()) return dir;
  // Shards of one run must not overwrite each other's files.
  const char* total = std::getenv("GTEST_TOTAL_SHARDS");
  const char* index = std::getenv("GTEST_SHARD_INDEX");
  if (total != nullptr && index != nullptr && std::atoi(total) > 1) dir += "/shard-" + std::string(index);
  return dir;
}

[[noreturn]] void UsageExit(const std::string& program, const std::string& message) {
  std::cout.flush();
  std::cerr << program << ": " << message << std::endl;
  std::exit(2);
}

// Synapse's part of every test program that links synapse::gtest, whatever its main():
// registered with GoogleTest's listeners when the program starts (below), it reads the
// --synapse_* flags when RUN_ALL_TESTS starts, and writes the reports when it ends.
class Plugin : public ::testing::EmptyTestEventListener {
 public:
  void OnTestProgramStart(const ::testing::UnitTest&) override {
    const std::vector<std::string> args = CommandLine();
    program_ = args.empty() ? "test" : args.front();
    try {
      if (!SynapseFlagsRead()) InitSynapseFromCommandLine(args);
    } catch (const std::exception& e) {
      UsageExit(program_, e.what());
    }
    const std::string threads = SettingFromFlagsOrEnvironment("threads");
    if (!threads.empty()) {
      char* end = nullptr;
      const long n = std::strtol(threads.c_str(), &end, 10);
      if (*end != '\0' || n < 1) {
        UsageExit(program_,
                  "[synapse.usage.403] --synapse_threads / SYNAPSE_THREADS: expected an integer >= 1, got \"" +
                      threads + "\"");
      }
      SetThreads(static_cast<int>(n));
    }
    dir_ = InDeathTestChild() ? "" : ReportDirectory();
  }

  void OnTestEnd(const ::testing::TestInfo& info) override {
    std::lock_guard<std::mutex> lock(TestsMutex());
    FinishedTests().push_back(TestJson(info));
  }

  void OnTestProgramEnd(const ::testing::UnitTest&) override {
    if (dir_.empty()) return;
    {
      std::lock_guard<std::mutex> lock(TestsMutex());
      if (FinishedTests().empty()) return;  // a filter that matched nothing adds nothing
    }
    try {
      const size_t tests = WriteReportPart(RunReport(), dir_, program_);
      std::cout << "[ synapse  ] reports in " << dir_ << "/ (junit.xml, report.json, report.html): " << tests
                << (tests == 1 ? " test" : " tests") << ", this run's joined with the other parts in " << dir_
                << "/parts\n";
    } catch (const std::exception& e) {
      // The tests' verdicts stand; the missing report is said, not hidden.
      std::cerr << "[ synapse  ] cannot write the reports: " << e.what() << "\n";
    }
  }

 private:
  std::string program_;
  std::string dir_;
};

// Static libraries link only the objects a program references: the fixture, the matchers
// and the recorder reference PluginLinked() (recorder.h), so a program using any of them
// links this object, and this initializer runs before main().
const bool kPluginRegistered = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new Plugin);
  return true;
}();

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

void InstallReporters(const std::string& dir) { InstalledDirectory() = dir; }

namespace internal {
bool PluginLinked() { return kPluginRegistered; }
}  // namespace internal

}  // namespace synapse::robustness
