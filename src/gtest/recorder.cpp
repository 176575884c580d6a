#include "recorder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iomanip>
#include <map>
#include <mutex>
#include <sstream>

#include "synapse/gtest/matchers.h"

namespace synapse::robustness::internal {
namespace {

struct Store {
  std::mutex mutex;
  std::map<std::string, std::vector<Verdict>> by_test;
};
Store& TheStore() {
  static Store* store = new Store;
  return *store;
}

std::string Key(const std::string& suite, const std::string& test) { return suite + "\n" + test; }

thread_local bool expecting_weakness = false;

}  // namespace

void SetExpectingWeakness(bool expecting) { expecting_weakness = expecting; }

void RecordVerdict(const Verdict& given) {
  (void)PluginLinked();
  Verdict r = given;
  r.known_weakness = given.known_weakness || expecting_weakness;
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info == nullptr) return;
  Store& store = TheStore();
  size_t index = 0;
  {
    std::lock_guard<std::mutex> lock(store.mutex);
    std::vector<Verdict>& records = store.by_test[Key(info->test_suite_name(), info->name())];
    index = records.size();
    for (size_t i = 0; i < records.size(); ++i) {
      if (records[i].requirement == r.requirement && records[i].query == r.query && records[i].what == r.what)
        index = i;
    }
    if (index == records.size())
      records.push_back(r);
    else
      records[index] = r;
  }
  for (const auto& [key, value] : VerdictProperties(r, static_cast<int>(index) + 1)) {
    ::testing::Test::RecordProperty(key, value);
  }
}

std::vector<Verdict> VerdictsOf(const std::string& suite, const std::string& test) {
  Store& store = TheStore();
  std::lock_guard<std::mutex> lock(store.mutex);
  auto it = store.by_test.find(Key(suite, test));
  return it == store.by_test.end() ? std::vector<Verdict>{} : it->second;
}

}  // namespace synapse::robustness::internal
