// Reading a report.json (or a report part) named on the command line, for the commands
// that take reports as input (`synapse compare`, `synapse merge`).
//
//   nlohmann::ordered_json report = synapse::cli::ReadReportFile("baseline/report.json");
#ifndef SYNAPSE_SRC_CLI_REPORT_FILE_H_
#define SYNAPSE_SRC_CLI_REPORT_FILE_H_

#include <nlohmann/json.hpp>
#include <string>

namespace synapse::cli {

/// The JSON in `path`. Throws DataError 201 when it cannot be opened, 202 when it is not
/// valid JSON (with the byte where parsing stopped).
nlohmann::ordered_json ReadReportFile(const std::string& path);

}  // namespace synapse::cli

#endif  // SYNAPSE_SRC_CLI_REPORT_FILE_H_
