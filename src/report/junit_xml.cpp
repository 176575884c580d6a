// junit.xml from a report's "tests", as Jenkins, GitLab and GitHub read it.
#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "util/number_text.h"
#include "report/report_markup.h"
#include "synapse/report_files.h"

namespace synapse {

using report_markup::At;
using report_markup::Escape;
using report_markup::Items;
using report_markup::Num;
using report_markup::Str;
using json = nlohmann::ordered_json;

std::string RenderJUnitXml(const json& report) {
  const json& tests = At(report, "tests");
  // One <testsuite> per suite, in first-seen order.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const json*>> suites;
  for (const json& t : Items(tests)) {
    const std::string suite = Str(At(t, "suite"));
    if (!suites.count(suite)) order.push_back(suite);
    suites[suite].push_back(&t);
  }
  int total = 0, failures = 0, skipped = 0;
  double time = 0;
  std::ostringstream body;
  for (const std::string& suite : order) {
    int s_fail = 0, s_skip = 0;
    double s_time = 0;
    std::ostringstream cases;
    for (const json* t : suites[suite]) {
      const std::string status = Str(At(*t, "status"));
      const double seconds = Num(At(*t, "time_s"), 0);
      s_time += seconds;
      cases << "    <testcase classname=\"" << Escape(suite) << "\" name=\"" << Escape(Str(At(*t, "name")))
            << "\" time=\"" << Fixed(seconds) << "\"";
      if (At(*t, "file").is_string()) {
        cases << " file=\"" << Escape(Str(At(*t, "file"))) << "\" line=\"" << Num(At(*t, "line"), 0) << "\"";
      }
      cases << ">\n";
      const json& props = At(*t, "properties");
      if (props.is_object() && !props.empty()) {
        cases << "      <properties>\n";
        for (const auto& [k, v] : props.items()) {
          cases << "        <property name=\"" << Escape(k) << "\" value=\"" << Escape(Str(v)) << "\"/>\n";
        }
        cases << "      </properties>\n";
      }
      if (status == "failed") {
        ++s_fail;
        const json& f = At(*t, "failures");
        // The one line CI summaries show: the test's own message (the failed assertion's
        // explanation), else the first line of its first failure.
        std::string first = f.is_array() && !f.empty() ? Str(f[0]) : "failed";
        std::string line = At(*t, "message").is_string() && !Str(At(*t, "message")).empty()
                               ? Str(At(*t, "message"))
                               : first.substr(0, first.find('\n'));
        std::replace(line.begin(), line.end(), '\n', ' ');
        cases << "      <failure message=\"" << Escape(line) << "\" type=\"\">";
        for (const json& m : Items(f)) cases << Escape(Str(m)) << "\n";
        cases << "</failure>\n";
      } else if (status == "skipped") {
        ++s_skip;
        cases << "      <skipped/>\n";
      }
      cases << "    </testcase>\n";
    }
    body << "  <testsuite name=\"" << Escape(suite) << "\" tests=\"" << suites[suite].size() << "\" failures=\""
         << s_fail << "\" errors=\"0\" skipped=\"" << s_skip << "\" time=\"" << Fixed(s_time) << "\">\n"
         << cases.str() << "  </testsuite>\n";
    total += static_cast<int>(suites[suite].size());
    failures += s_fail;
    skipped += s_skip;
    time += s_time;
  }
  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"synapse\" tests=\"" << total << "\" failures=\""
    << failures << "\" errors=\"0\" skipped=\"" << skipped << "\" time=\"" << Fixed(time) << "\">\n"
    << body.str() << "</testsuites>\n";
  return x.str();
}

}  // namespace synapse
