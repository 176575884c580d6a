#include "report_file.h"

#include <fstream>

#include "util/json_error_text.h"
#include "synapse/error.h"

namespace synapse::cli {

nlohmann::ordered_json ReadReportFile(const std::string& path) {
  using json = nlohmann::ordered_json;
  std::ifstream in(path);
  if (!in) throw DataError(201, path + ": cannot open the report");
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    throw DataError(202, path + ": not valid JSON (byte " + std::to_string(e.byte) + ")");
  } catch (const json::exception& e) {
    throw DataError(202, path + ": not valid JSON: " + JsonErrorText(e));
  }
}

}  // namespace synapse::cli
