// One-line text of a nlohmann::json exception, for our own error messages (private).
#ifndef SYNAPSE_SRC_UTIL_JSON_ERROR_TEXT_H_
#define SYNAPSE_SRC_UTIL_JSON_ERROR_TEXT_H_

#include <string>

namespace synapse {

/// "parse error at line 1, column 5: ..." without the "[json.exception...] " prefix, cut
/// to 200 characters (the parser quotes what it read, which can be megabytes).
inline std::string JsonErrorText(const std::exception& e) {
  std::string what = e.what();
  size_t at = what.find("] ");
  if (at != std::string::npos) what = what.substr(at + 2);
  if (what.size() > 200) what = what.substr(0, 197) + "...";
  return what;
}

}  // namespace synapse

#endif  // SYNAPSE_SRC_UTIL_JSON_ERROR_TEXT_H_
