#include "synapse/robustness/config.h"

#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "synapse/model_directory.h"
#include "synapse/activation_cache.h"
#include "synapse/error.h"

namespace synapse::robustness {
namespace {

const std::set<std::string>& KnownFlags() {
  static const std::set<std::string> names = {"model",      "data",    "tokenizer", "labels", "seed",    "max_examples",
                                              "report_dir", "threads", "cache_dir", "pad_id", "adaptive"};
  return names;
}

// A setting's value and where it came from, for error messages.
struct Setting {
  std::string value;
  std::string origin;
};

// Settings given on a command line: --synapse_* flags, or a program's own options.
std::map<std::string, Setting>& Flags() {
  static std::map<std::string, Setting> flags;
  return flags;
}

[[noreturn]] void BadSetting(const std::string& message) { throw UsageError(403, message); }

bool Exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

// The absolute path without "..", so that two spellings of one file share a model under test.
std::string Canonical(const std::string& path) {
  if (path.empty()) return path;
  char* real = realpath(path.c_str(), nullptr);
  if (real == nullptr) return path;
  std::string out(real);
  std::free(real);
  return out;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return s;
}

Setting Pick(const std::string& name, const std::string& configured) {
  auto flag = Flags().find(name);
  if (flag != Flags().end()) return flag->second;
  const std::string env = "SYNAPSE_" + Upper(name);
  const char* value = std::getenv(env.c_str());
  if (value != nullptr && *value != '\0') return {value, env};
  return {configured, "Config()." + name + "()"};
}

int64_t ParseInteger(const Setting& s) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.value.c_str(), &end, 10);
  if (s.value.empty() || *end != '\0' || errno != 0 || v < 0) {
    BadSetting(s.origin + ": expected a non-negative integer, got \"" + s.value + "\"");
  }
  return v;
}

// Reads one --synapse_ argument; false when `arg` is not one.
bool ReadFlag(const std::string& arg, bool keep_existing) {
  if (arg.compare(0, 10, "--synapse_") != 0) return false;
  const size_t eq = arg.find('=');
  const std::string name = arg.substr(10, eq == std::string::npos ? std::string::npos : eq - 10);
  if (KnownFlags().count(name) == 0) {
    std::string known;
    for (const std::string& k : KnownFlags()) known += (known.empty() ? "--synapse_" : ", --synapse_") + k;
    BadSetting(arg + ": unknown flag (known: " + known + ")");
  }
  if (name == "adaptive" && eq == std::string::npos) {  // a switch: --synapse_adaptive alone turns it on
    if (!(keep_existing && Flags().count(name))) OverrideSetting(name, "1", "--synapse_adaptive");
    return true;
  }
  if (eq == std::string::npos || eq + 1 == arg.size()) BadSetting(arg + ": expected --synapse_" + name + "=VALUE");
  if (!(keep_existing && Flags().count(name))) OverrideSetting(name, arg.substr(eq + 1), "--synapse_" + name);
  return true;
}

bool& FlagsRead() {
  static bool read = false;
  return read;
}

}  // namespace

void InitSynapse(int* argc, char** argv) {
  int out = 1;
  for (int i = 1; i < *argc; ++i) {
    if (!ReadFlag(argv[i], /*keep_existing=*/false)) argv[out++] = argv[i];
  }
  argv[out] = nullptr;
  *argc = out;
  FlagsRead() = true;
}

void InitSynapseFromCommandLine(const std::vector<std::string>& args) {
  for (size_t i = 1; i < args.size(); ++i) ReadFlag(args[i], /*keep_existing=*/true);
  FlagsRead() = true;
}

bool SynapseFlagsRead() { return FlagsRead(); }

void OverrideSetting(const std::string& name, const std::string& value, const std::string& origin) {
  if (KnownFlags().count(name) == 0) BadSetting(origin + ": no setting \"" + name + "\"");
  Flags()[name] = {value, origin};
}

std::string SettingFromFlagsOrEnvironment(const std::string& name) { return Pick(name, "").value; }

Config ResolveConfig(const Config& in) {
  Config c = in;
  const Setting model = Pick("model", in.model());
  Setting data = Pick("data", in.data());
  Setting tokenizer = Pick("tokenizer", in.tokenizer());
  Setting labels = Pick("labels", in.labels());
  const Setting seed = Pick("seed", "");
  const Setting max_examples = Pick("max_examples", "");
  if (!seed.value.empty()) c.seed(static_cast<uint64_t>(ParseInteger(seed)));
  if (!max_examples.value.empty()) c.max_examples(ParseInteger(max_examples));
  const Setting adaptive = Pick("adaptive", "");
  if (adaptive.value == "1" || adaptive.value == "true" || adaptive.value == "yes") {
    c.adaptive(true);
  } else if (adaptive.value == "0" || adaptive.value == "false" || adaptive.value == "no") {
    c.adaptive(false);
  } else if (!adaptive.value.empty()) {
    BadSetting(adaptive.origin + ": expected 1, 0, true, false, yes or no, got \"" + adaptive.value + "\"");
  }
  const Setting pad_id = Pick("pad_id", "");
  if (!pad_id.value.empty()) c.pad_id(ParseInteger(pad_id));
  const Setting cache_dir = Pick("cache_dir", in.cache_dir());
  c.cache_dir(CacheDirFromSetting(cache_dir.value));

  if (model.value.empty()) {
    BadSetting(
        "no model: name a model directory, .pt or .pt2 file with Config().model(PATH), SYNAPSE_MODEL or "
        "--synapse_model");
  }
  ModelFiles files;
  const std::string why = FindModelFiles(model.value, &files);
  if (!why.empty()) BadSetting(model.origin + ": " + why);
  const bool directory = !files.directory.empty();
  const std::string& model_file = files.model;
  // What the model's directory holds fills what no setting named, for a directory or a
  // model file alike; the evaluation set only when a directory was named.
  auto fill = [&](Setting* s, const std::string& found, const char* file) {
    if (s->value.empty() && !found.empty()) *s = {found, model.origin + (directory ? " (its " : " (the ") + file + ")"};
  };
  fill(&tokenizer, files.tokenizer, "tokenizer.json");
  fill(&labels, files.labels, "labels.json");
  fill(&data, files.data, "eval.jsonl");
  if (data.value.empty()) {
    BadSetting(
        "no evaluation data: name a labelled JSONL or CSV file with Config().data(PATH), SYNAPSE_DATA or "
        "--synapse_data");
  }
  for (const Setting* s : {&data, &tokenizer, &labels}) {
    if (!s->value.empty() && !Exists(s->value)) BadSetting(s->origin + ": " + s->value + " does not exist");
  }
  c.model(Canonical(model_file))
      .data(Canonical(data.value))
      .tokenizer(Canonical(tokenizer.value))
      .labels(Canonical(labels.value));
  if (!(c.confidence() > 0 && c.confidence() < 1)) BadSetting("Config().confidence() must be in (0, 1)");
  if (c.random_seeds() < 1) BadSetting("Config().random_seeds() must be at least 1");
  return c;
}

}  // namespace synapse::robustness
