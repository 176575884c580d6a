#include "synapse/report_parts.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "util/atomic_file.h"
#include "synapse/error.h"
#include "synapse/report_files.h"

namespace synapse {
namespace {

using json = nlohmann::ordered_json;

double FinishedAt(const json& report) {
  if (!report.contains("part") || !report["part"].is_object()) return 0;
  const json& at = report["part"].value("finished_at", json());
  return at.is_number() ? at.get<double>() : 0;
}

// A shard's place among its siblings (`synapse gate` and `synapse analyze` shards), so that
// shards merge in shard order whatever order they are given in; 0 for anything else.
int ShardIndex(const json& report) {
  const json* shard = nullptr;
  if (report.contains("shard") && report["shard"].is_object()) shard = &report["shard"];
  if (report.contains("gate") && report["gate"].is_object() && report["gate"].contains("shard")) {
    shard = &report["gate"]["shard"];
  }
  return shard && (*shard).contains("index") && (*shard)["index"].is_number_integer() ? (*shard)["index"].get<int>()
                                                                                      : 0;
}

bool SkippedByShard(const json& section) {
  return section.is_object() && section.value("skipped", json()) == "another shard";
}

std::string TestKey(const json& t) {
  std::string key = t.value("suite", "") + "\n" + t.value("name", "");
  if (t.contains("value_param") && t["value_param"].is_string()) key += "\n" + t["value_param"].get<std::string>();
  return key;
}

// What identifies a model under test's measurements: the same model on the same examples
// with the same options measures the same numbers, whichever process measured them.
std::string ModelKey(const json& report) {
  json key;
  key["model"] = report.value("model", json());
  const json& data = report.value("data", json());
  key["examples_hash"] = data.is_object() ? data.value("examples_hash", json()) : json();
  key["options"] = report.value("options", json());
  return key.dump();
}

// Adds what `more` measured to `into` (the same model, data and options).
void UniteMeasurements(json& into, const json& more) {
  const bool into_ran = into.contains("baseline") && !into["baseline"].is_null();
  const bool more_ran = more.contains("baseline") && !more["baseline"].is_null();
  if (!more_ran) return;
  if (!into_ran) {
    for (const char* key : {"baseline", "layers", "logit_space", "other_queries"}) {
      if (more.contains(key)) into[key] = more[key];
    }
    return;
  }
  auto add_rows = [](json& rows, const json& extra) {
    if (!rows.is_array()) rows = json::array();
    std::set<std::string> seen;
    for (const json& r : rows) seen.insert(r.value("query", r.dump()));
    for (const json& r : extra) {
      if (seen.insert(r.value("query", r.dump())).second) rows.push_back(r);
    }
  };
  if (more.contains("layers") && more["layers"].is_array()) {
    json& layers = into["layers"];
    if (!layers.is_array()) layers = json::array();
    for (const json& ml : more["layers"]) {
      auto it = std::find_if(layers.begin(), layers.end(),
                             [&](const json& l) { return l.value("index", json()) == ml.value("index", json()); });
      if (it == layers.end()) {
        layers.push_back(ml);
        continue;
      }
      // A probe fitted by either process (same seed and split: the same probe).
      for (const auto& [key, value] : ml.items()) {
        if (key != "experiments" && !it->contains(key)) (*it)[key] = value;
      }
      if (ml.contains("experiments")) add_rows((*it)["experiments"], ml["experiments"]);
    }
  }
  if (more.contains("other_queries")) add_rows(into["other_queries"], more["other_queries"]);
  // Analysis shards: the weight space ran in one of them, and each found the most fragile
  // layer and class of its own layers (the first strict maximum in layer order wins, as in
  // one run).
  if (more.contains("weight_space") && (!into.contains("weight_space") || SkippedByShard(into["weight_space"]))) {
    into["weight_space"] = more["weight_space"];
  }
  if (into.contains("summary") && more.contains("summary") && into["summary"].is_object()) {
    json& summary = into["summary"];
    const json& extra = more["summary"];
    auto worse = [&](const char* key, const char* by) {
      const json& theirs = extra.value(key, json());
      if (!theirs.is_object() || !theirs.contains(by)) return;
      const json& ours = summary.value(key, json());
      if (!ours.is_object() || !ours.contains(by) || theirs[by].get<double>() > ours[by].get<double>()) {
        summary[key] = theirs;
      }
    };
    worse("most_fragile_layer", "excess");
    worse("most_fragile_class", "drop");
  }
  if (into.contains("timing") && more.contains("timing") && into["timing"].contains("sweep_configurations") &&
      more["timing"].contains("sweep_configurations")) {
    into["timing"]["sweep_configurations"] =
        into["timing"]["sweep_configurations"].get<int64_t>() + more["timing"]["sweep_configurations"].get<int64_t>();
  }
}

// The totals of `synapse gate` shards (or of any gate reports merged), as one run's.
json GateTotals(const std::vector<const json*>& gates) {
  json total = *gates.front();
  int64_t assertions = 0, failed = 0;
  double seconds = 0, passes = 0, full = 0;
  bool adaptive = false, have_full = false;
  for (const json* g : gates) {
    assertions += g->value("assertions", int64_t{0});
    failed += g->value("failed", int64_t{0});
    seconds += g->value("seconds", 0.0);
    passes += g->value("example_passes", 0.0);
    adaptive = adaptive || g->value("adaptive", false);
    if (g->contains("full_run_example_passes")) {
      have_full = true;
      full += g->value("full_run_example_passes", 0.0);
    }
  }
  total["assertions"] = assertions;
  total["failed"] = failed;
  total["passed"] = failed == 0;
  total["seconds"] = seconds;
  if (total.contains("adaptive")) total["adaptive"] = adaptive;
  if (total.contains("example_passes")) total["example_passes"] = passes;
  if (have_full) total["full_run_example_passes"] = full;
  total.erase("shard");
  return total;
}

}  // namespace

json MergeReports(const std::vector<json>& reports) {
  if (reports.empty()) return json::object();
  std::vector<size_t> order(reports.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const double at_a = FinishedAt(reports[a]), at_b = FinishedAt(reports[b]);
    if (at_a != at_b) return at_a < at_b;
    return ShardIndex(reports[a]) < ShardIndex(reports[b]);
  });
  // The latest part that ran a test owns it.
  std::map<std::string, size_t> owner;
  for (size_t i : order) {
    for (const json& t : reports[i].value("tests", json::array())) owner[TestKey(t)] = i;
  }
  std::set<size_t> live;
  for (const auto& [key, i] : owner) live.insert(i);

  json tests = json::array();
  std::vector<json> models;  // one per model key, in first-seen order
  std::map<std::string, size_t> model_index;
  size_t joined = 0;
  bool any_tests = false;  // analysis reports have no "tests", and their merge none either
  std::vector<const json*> gates;
  for (size_t i : order) {
    const json& r = reports[i];
    // A part whose every test a later one reran is an earlier run: its measurements may be
    // of another model version. A report with no tests at all still counts (a merge of
    // analysis-only reports).
    const bool has_tests = r.contains("tests") && r["tests"].is_array() && !r["tests"].empty();
    if (has_tests && !live.count(i)) continue;
    ++joined;
    any_tests = any_tests || r.contains("tests");
    if (r.contains("gate") && r["gate"].is_object()) gates.push_back(&r["gate"]);
    for (const json& t : r.value("tests", json::array())) {
      if (owner[TestKey(t)] == i) tests.push_back(t);
    }
    std::vector<json> measured;
    json top = r;
    for (const char* key : {"tests", "more_models", "part", "parts", "shard"}) top.erase(key);
    if (top.contains("model")) measured.push_back(top);
    for (const json& m : r.value("more_models", json::array())) measured.push_back(m);
    for (json& m : measured) {
      const std::string key = ModelKey(m);
      auto it = model_index.find(key);
      if (it == model_index.end()) {
        model_index[key] = models.size();
        models.push_back(std::move(m));
      } else {
        UniteMeasurements(models[it->second], m);
      }
    }
  }
  json out = models.empty() ? json::object() : models.front();
  if (models.size() > 1) {
    out["more_models"] = json::array();
    for (size_t i = 1; i < models.size(); ++i) out["more_models"].push_back(models[i]);
  }
  if (!gates.empty()) out["gate"] = GateTotals(gates);
  if (any_tests) out["tests"] = tests;
  out["parts"] = joined;
  return out;
}

std::vector<json> ReadReportParts(const std::string& dir) {
  const std::string parts_dir = dir + "/parts";
  std::vector<std::string> names;
  if (DIR* d = opendir(parts_dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name.size() > 5 && name[0] != '.' && name.compare(name.size() - 5, 5, ".json") == 0) names.push_back(name);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  std::vector<json> parts;
  for (const std::string& name : names) {
    const std::string path = parts_dir + "/" + name;
    std::ifstream in(path);
    try {
      json part = json::parse(in);
      part["part"]["file"] = path;
      parts.push_back(std::move(part));
    } catch (const std::exception& e) {
      std::cerr << "[ synapse  ] skipping the report part " << path << ": " << e.what() << "\n";
    }
  }
  return parts;
}

size_t WriteReportPart(json report, const std::string& dir, const std::string& binary) {
  const std::string parts_dir = dir + "/parts";
  MakeDirectories(parts_dir);
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (!report.contains("part")) report["part"] = json::object();
  report["part"]["format"] = kReportPartFormat;
  report["part"]["binary"] = binary;
  report["part"]["pid"] = static_cast<int64_t>(getpid());
  report["part"]["finished_at"] = now;
  std::string stem = binary.substr(binary.find_last_of('/') + 1);
  for (char& c : stem) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) c = '_';
  }
  const std::string name =
      stem + "-" + std::to_string(getpid()) + "-" + std::to_string(static_cast<int64_t>(now * 1000)) + ".json";
  WriteFileAtomically(parts_dir + "/" + name, report.dump(1, ' ', false, json::error_handler_t::replace) + "\n");

  // Only one process joins at a time; the last to take the lock sees every part.
  const std::string lock_path = parts_dir + "/.lock";
  const int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw DataError(208, lock_path + ": cannot open: " + std::strerror(errno));
  while (flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      const int err = errno;
      close(fd);
      throw DataError(208, lock_path + ": cannot lock: " + std::strerror(err));
    }
  }
  try {
    const std::vector<json> parts = ReadReportParts(dir);
    json joined = MergeReports(parts);
    // Parts a later run superseded entirely are gone from the join: remove their files.
    std::map<std::string, double> latest;  // test -> finished_at of its owner
    for (const json& p : parts) {
      for (const json& t : p.value("tests", json::array())) {
        double& at = latest[TestKey(t)];
        at = std::max(at, FinishedAt(p));
      }
    }
    for (const json& p : parts) {
      const json& tests = p.value("tests", json::array());
      const bool stale = !tests.empty() && std::none_of(tests.begin(), tests.end(), [&](const json& t) {
        return latest[TestKey(t)] == FinishedAt(p);
      });
      if (stale) unlink(p["part"].value("file", "").c_str());
    }
    WriteReportFiles(joined, dir);
    close(fd);  // releases the lock
    return joined["tests"].size();
  } catch (...) {
    close(fd);
    throw;
  }
}

}  // namespace synapse
