#include "args.h"

#include <cmath>
#include <sstream>

#include "synapse/error.h"

namespace synapse::cli {
namespace {

int64_t ParseInt64(const std::string& text, const std::string& option) {
  try {
    size_t used = 0;
    long long v = std::stoll(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  throw UsageError(401, option + ": expected an integer, got \"" + text + "\"");
}

}  // namespace

ArgParser::ArgParser(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

void ArgParser::Flag(const std::string& name, const std::string& help, bool* out) {
  specs_.push_back({name, "", "", help, Spec::Kind::kFlag, out});
}
void ArgParser::Option(const std::string& name, const std::string& metavar, const std::string& help, std::string* out,
                       bool required) {
  specs_.push_back({name, "", metavar, help, Spec::Kind::kString, out, required});
}
void ArgParser::Option(const std::string& name, const std::string& metavar, const std::string& help, int64_t* out) {
  specs_.push_back({name, "", metavar, help, Spec::Kind::kInt, out});
}
void ArgParser::Repeated(const std::string& name, const std::string& alias, const std::string& metavar,
                         const std::string& help, std::vector<std::string>* out) {
  specs_.push_back({name, alias, metavar, help, Spec::Kind::kRepeated, out});
}
void ArgParser::Positional(const std::string& metavar, const std::string& help, std::string* out) {
  specs_.push_back({"", "", metavar, help, Spec::Kind::kPositional, out, true});
}

void ArgParser::Positionals(const std::string& metavar, const std::string& help, std::vector<std::string>* out) {
  specs_.push_back({"", "", metavar, help, Spec::Kind::kPositionals, out, true});
}

ArgParser::Spec* ArgParser::Find(const std::string& name) {
  for (Spec& s : specs_) {
    const bool positional = s.kind == Spec::Kind::kPositional || s.kind == Spec::Kind::kPositionals;
    if (!positional && (s.name == name || (!s.alias.empty() && s.alias == name))) return &s;
  }
  return nullptr;
}

bool ArgParser::Parse(int argc, char** argv, int first) {
  size_t next_positional = 0;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return false;
    if (arg.size() > 1 && arg[0] == '-' && !(arg.size() > 1 && std::isdigit(static_cast<unsigned char>(arg[1])))) {
      std::string value;
      bool has_value = false;
      size_t eq = arg.find('=');
      if (arg.rfind("--", 0) == 0 && eq != std::string::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        has_value = true;
      }
      Spec* s = Find(arg);
      if (!s) throw UsageError(401, command_ + ": unknown option " + arg + " (see " + command_ + " --help)");
      s->seen = true;
      if (s->kind == Spec::Kind::kFlag) {
        if (has_value) throw UsageError(401, arg + " takes no value");
        *static_cast<bool*>(s->out) = true;
        continue;
      }
      if (!has_value) {
        if (i + 1 >= argc) throw UsageError(401, arg + " needs a value " + s->metavar);
        value = argv[++i];
      }
      if (s->kind == Spec::Kind::kString)
        *static_cast<std::string*>(s->out) = value;
      else if (s->kind == Spec::Kind::kInt)
        *static_cast<int64_t*>(s->out) = ParseInt64(value, arg);
      else
        static_cast<std::vector<std::string>*>(s->out)->push_back(value);
      continue;
    }
    size_t seen = 0;
    Spec* target = nullptr;
    for (Spec& s : specs_) {
      if (s.kind == Spec::Kind::kPositionals && seen <= next_positional) target = &s;
      if (s.kind == Spec::Kind::kPositional && seen++ == next_positional) target = &s;
    }
    if (!target) throw UsageError(401, command_ + ": unexpected argument \"" + arg + "\"");
    target->seen = true;
    if (target->kind == Spec::Kind::kPositionals) {
      static_cast<std::vector<std::string>*>(target->out)->push_back(arg);
      continue;
    }
    *static_cast<std::string*>(target->out) = arg;
    ++next_positional;
  }
  for (const Spec& s : specs_) {
    if (s.required && !s.seen) {
      const bool positional = s.kind == Spec::Kind::kPositional || s.kind == Spec::Kind::kPositionals;
      throw UsageError(401,
                       command_ + ": missing " + (positional ? s.metavar : s.name) + " (see " + command_ + " --help)");
    }
  }
  return true;
}

std::string ArgParser::Help() const {
  std::ostringstream os;
  os << "usage: " << command_;
  for (const Spec& s : specs_) {
    if (s.kind == Spec::Kind::kPositional) os << " " << s.metavar;
    if (s.kind == Spec::Kind::kPositionals) os << " " << s.metavar << "...";
  }
  os << " [options]\n\n" << summary_ << "\n\noptions:\n";
  for (const Spec& s : specs_) {
    const bool positional = s.kind == Spec::Kind::kPositional || s.kind == Spec::Kind::kPositionals;
    std::string left = positional ? s.metavar : s.name;
    if (!s.alias.empty()) left = s.alias + ", " + left;
    if (!s.metavar.empty() && !positional) left += " " + s.metavar;
    os << "  " << left;
    os << std::string(left.size() < 26 ? 26 - left.size() : 1, ' ') << s.help;
    if (s.required && !positional) os << " (required)";
    if (s.kind == Spec::Kind::kRepeated) os << " (repeatable)";
    os << "\n";
  }
  os << "  -h, --help                show this help\n";
  if (!epilog_.empty()) os << "\n" << epilog_;
  return os.str();
}

std::vector<int64_t> ParseShape(const std::string& text, const std::string& option) {
  std::vector<int64_t> shape;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    int64_t d = ParseInt64(item, option);
    if (d <= 0) throw UsageError(401, option + ": dimensions must be positive, got " + item);
    shape.push_back(d);
  }
  if (shape.empty()) throw UsageError(401, option + ": expected a shape like 3,32,32");
  return shape;
}

std::vector<int64_t> ParseIntList(const std::string& text, const std::string& option) {
  std::vector<int64_t> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(ParseInt64(item, option));
  if (out.empty()) throw UsageError(401, option + ": expected a list like 0,2,-1");
  return out;
}

double ParseNumber(const std::string& text, const std::string& option) {
  try {
    size_t used = 0;
    double v = std::stod(text, &used);
    if (used == text.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  throw UsageError(401, option + ": expected a number, got \"" + text + "\"");
}

std::vector<double> ParseNumberList(const std::string& text, const std::string& option) {
  std::vector<double> out;
  if (text.empty() || text == "none") return out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(ParseNumber(item, option));
  return out;
}

Pooling ParsePooling(const std::string& text, bool allow_mean) {
  if (text == "first") return Pooling::kFirst;
  if (text == "last") return Pooling::kLast;
  if (text == "mean" && allow_mean) return Pooling::kMean;
  throw UsageError(401, std::string("--pool: expected ") + (allow_mean ? "first, last or mean" : "first or last") +
                            ", got \"" + text + "\"");
}

}  // namespace synapse::cli
