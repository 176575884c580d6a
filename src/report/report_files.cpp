#include "synapse/report_files.h"

#include "util/atomic_file.h"

namespace synapse {

using json = nlohmann::ordered_json;

void WriteReportFiles(const json& report, const std::string& dir) {
  MakeDirectories(dir);
  WriteFileAtomically(dir + "/report.json", report.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
  WriteFileAtomically(dir + "/report.html", RenderHtmlReport(report));
  if (report.contains("tests")) WriteFileAtomically(dir + "/junit.xml", RenderJUnitXml(report));
}

}  // namespace synapse
