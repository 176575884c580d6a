// Reading report JSON leniently (a missing or mistyped field reads as empty, so a partial
// report still renders), escaping text for HTML and XML, and the display name of a class:
// shared by report.html, junit.xml and the CLI's summary (private).
#ifndef SYNAPSE_SRC_REPORT_REPORT_MARKUP_H_
#define SYNAPSE_SRC_REPORT_REPORT_MARKUP_H_

#include <limits>
#include <nlohmann/json.hpp>
#include <string>

namespace synapse::report_markup {

using json = nlohmann::ordered_json;

inline std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // Control characters are not allowed in XML 1.0 (test messages may carry them).
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r')
          out += "?";
        else
          out += c;
    }
  }
  return out;
}

inline double Num(const json& j, double fallback = std::numeric_limits<double>::quiet_NaN()) {
  return j.is_number() ? j.get<double>() : fallback;
}

inline const json& At(const json& j, const char* key) {
  static const json null;
  return j.is_object() && j.contains(key) ? j[key] : null;
}

// `j` when it is an array, else an empty one (no copy: callers keep pointers into it).
inline const json& Items(const json& j) {
  static const json empty = json::array();
  return j.is_array() ? j : empty;
}

inline std::string Str(const json& j) { return j.is_string() ? j.get<std::string>() : j.is_null() ? "" : j.dump(); }

// A class as a reader sees it. Without a labels file a report names the classes by their
// indices ("0", "1", ...), which read as numbers in a table or a sentence: "class 0".
inline std::string ClassDisplayName(const std::string& name) {
  const bool index = !name.empty() && name.find_first_not_of("0123456789") == std::string::npos;
  return index ? "class " + name : name;
}

}  // namespace synapse::report_markup

#endif  // SYNAPSE_SRC_REPORT_REPORT_MARKUP_H_
