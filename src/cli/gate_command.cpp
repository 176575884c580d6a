// synapse gate: run a robustness spec's assertions on a model and fail the release when
// one does not hold.
#include <chrono>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "args.h"
#include "commands.h"
#include "number_text.h"
#include "shard.h"
#include "synapse/error.h"
#include "synapse/report_files.h"
#include "synapse/robustness/adaptive.h"
#include "synapse/robustness/assertion.h"
#include "synapse/robustness/model_under_test.h"
#include "synapse/robustness/spec.h"

namespace synapse::cli {
namespace {

using json = nlohmann::ordered_json;
using robustness::Assertion;
using robustness::Verdict;

constexpr const char* kEpilog =
    "The spec (docs/gate.md, JSON Schema docs/gate-spec.schema.json) names the model, data,\n"
    "tokenizer and labels (paths relative to the spec; SYNAPSE_MODEL, SYNAPSE_DATA, ... and the\n"
    "options above override them) and a list of assertions:\n"
    "  {\"name\": \"spam_survives_top10\", \"intervention\": \"ablate\", \"selection\": \"top\",\n"
    "   \"of_class\": \"spam\", \"k\": 10, \"layer\": -1,\n"
    "   \"metric\": \"recall\", \"class\": \"spam\", \"threshold\": 0.95, \"confidence\": 0.95}\n"
    "Prints one row per assertion and writes DIR/junit.xml, DIR/report.json and DIR/report.html.\n"
    "--adaptive reads examples in a seeded random order and stops each assertion once a\n"
    "confidence sequence decides it (docs/gate.md). --shard I/N (or GTEST_SHARD_INDEX and\n"
    "GTEST_TOTAL_SHARDS) runs shard I's block of assertions; `synapse merge` joins the shards.\n"
    "Exit 0 when every assertion holds, 1 when one does not, 2 on bad input, 3 on an internal error.\n";

std::string Interval(const Verdict& v) {
  const bool lo = std::isfinite(v.low), hi = std::isfinite(v.high);
  if (lo && hi) return "[" + Fixed(v.low, 3) + ", " + Fixed(v.high, 3) + "]";
  if (lo) return ">= " + Fixed(v.low, 3);
  if (hi) return "<= " + Fixed(v.high, 3);
  return "";
}

std::string VerdictText(const robustness::Verdict& v) {
  if (v.known_weakness) return robustness::Holds(v) ? "known weakness" : "FIXED (was a known weakness)";
  return v.passed ? "pass" : "FAIL";
}

}  // namespace

int GateCommand(int argc, char** argv) {
  std::string spec_path, out_dir = "synapse-gate", model, data, tokenizer, labels;
  int64_t threads = 1;
  bool quiet = false;
  ArgParser p("synapse gate", "Check a model against a robustness spec; exit 1 when an assertion fails.");
  p.Option("--spec", "FILE", "the robustness spec (JSON)", &spec_path);
  p.Option("--out", "DIR", "where junit.xml, report.json and report.html go (default synapse-gate)", &out_dir);
  p.Option("--model", "M", "override the spec's model (a directory or .pt file)", &model);
  p.Option("--data", "D", "override the spec's data", &data);
  p.Option("--tokenizer", "T", "override the spec's tokenizer", &tokenizer);
  p.Option("--labels", "L", "override the spec's labels", &labels);
  p.Option("--threads", "N", "intra-op threads (default 1: small models run fastest on one)", &threads);
  std::string cache_dir;
  bool no_cache = false;
  p.Option("--cache-dir", "DIR", "where extractions are cached (default $SYNAPSE_CACHE_DIR, else ~/.cache/synapse)",
           &cache_dir);
  p.Flag("--no-cache", "extract without reading or writing the cache", &no_cache);
  p.Flag("--quiet", "print nothing but errors", &quiet);
  bool adaptive = false;
  std::string shard_flag;
  p.Flag("--adaptive", "stop each assertion as soon as its confidence sequence decides it", &adaptive);
  int64_t order_seed = -1;
  p.Option("--adaptive-seed", "N", "seed of the order --adaptive reads examples in (default: the spec's seed)",
           &order_seed);
  p.Option("--shard", "I/N", "run shard I of N (0-based; default GTEST_SHARD_INDEX/GTEST_TOTAL_SHARDS)", &shard_flag);
  p.Epilog(kEpilog);
  if (!p.Parse(argc, argv)) {
    std::cout << p.Help();
    return 0;
  }
  if (spec_path.empty()) throw UsageError(401, "--spec FILE is required (the robustness spec)");
  const Shard shard = ResolveShard(shard_flag);
  const auto start = std::chrono::steady_clock::now();
  robustness::Spec spec = robustness::LoadGateSpec(spec_path);
  std::vector<size_t> mine;  // the spec indices this shard runs
  for (size_t i = 0; i < spec.assertions.size(); ++i) {
    if (shard.Owns(i, spec.assertions.size())) mine.push_back(i);
  }
  // Command-line overrides are the strongest, as --synapse_* flags are for test binaries.
  for (const auto& [name, value] : {std::pair<const char*, std::string>{"model", model},
                                    {"data", data},
                                    {"tokenizer", tokenizer},
                                    {"labels", labels}}) {
    if (!value.empty()) robustness::OverrideSetting(name, value, std::string("--") + name);
  }
  if (no_cache) robustness::OverrideSetting("cache_dir", "off", "--no-cache");
  else if (!cache_dir.empty()) robustness::OverrideSetting("cache_dir", cache_dir, "--cache-dir");
  SetUpRuntime(threads);

  std::shared_ptr<robustness::ModelUnderTest> model_under_test = robustness::ModelUnderTest::Shared(spec.config);
  json tests = json::array();
  std::vector<Verdict> verdicts;
  std::vector<const Assertion*> ran;
  std::vector<robustness::AdaptiveVerdict> adaptive_verdicts;
  robustness::AdaptiveRun adaptive_run;
  int failed = 0;
  const std::string suite = [&] {
    std::string stem = spec_path.substr(spec_path.find_last_of('/') + 1);
    return "gate." + stem.substr(0, stem.rfind('.'));
  }();
  auto bad_query = [&](size_t i, const Error& e) {
    // A query that does not fit the model is a mistake in the spec: no verdict, no report.
    return UsageError(404, spec_path + ": assertions[" + std::to_string(i) + "] (" + spec.assertions[i].name +
                               "): " + e.what());
  };
  if (adaptive) {
    std::vector<robustness::AdaptiveItem> items;
    for (size_t i : mine) {
      const Assertion& a = spec.assertions[i];
      robustness::AdaptiveItem item;
      item.check = a.check;
      item.known_weakness = a.known_weakness;
      try {
        if (a.query.intervention == "probe") item.probe = model_under_test->Probe(a.query.layer);
        else item.query = robustness::QueryOf(*model_under_test, a.query);
      } catch (const Error& e) {
        throw bad_query(i, e);
      }
      items.push_back(std::move(item));
    }
    try {
      const uint64_t seed = order_seed >= 0 ? static_cast<uint64_t>(order_seed) : model_under_test->config().seed();
      adaptive_run = robustness::RunAdaptive(*model_under_test, items, robustness::AdaptiveOptions().seed(seed));
    } catch (const Error& e) {
      throw UsageError(404, spec_path + ": " + e.what());
    }
    adaptive_verdicts = adaptive_run.verdicts;
  }
  for (size_t k = 0; k < mine.size(); ++k) {
    const size_t i = mine[k];
    const Assertion& a = spec.assertions[i];
    const auto t0 = std::chrono::steady_clock::now();
    Verdict v;
    if (adaptive) {
      v = adaptive_verdicts[k].verdict;
    } else {
      try {
        v = robustness::RunAssertion(*model_under_test, a);
      } catch (const Error& e) {
        throw bad_query(i, e);
      }
    }
    const bool holds = robustness::Holds(v);
    failed += !holds;
    json t;
    t["suite"] = suite;
    t["name"] = a.name;
    t["file"] = spec_path;
    t["spec_index"] = i;
    t["time_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    t["status"] = holds ? "passed" : "failed";
    t["failures"] = json::array();
    if (!holds) {
      t["failures"].push_back("Value of: " + v.query + "\nExpected: " +
                              (a.known_weakness ? "misses, as a known weakness, the requirement that it " : "") +
                              v.requirement + "\n  Actual: " + v.explanation);
      t["message"] = robustness::FailureLine(v);
    }
    t["properties"] = json::object();
    for (const auto& [key, value] : robustness::VerdictProperties(v, 1)) t["properties"][key] = value;
    t["assertions"] = json::array({robustness::VerdictJson(v)});
    if (adaptive) {
      const robustness::AdaptiveVerdict& av = adaptive_verdicts[k];
      t["adaptive"] = robustness::AdaptiveJson(av, adaptive_run.examples);
      std::ostringstream read;
      read << av.examples << " of " << adaptive_run.examples << " examples; stopped: " << av.stopped << "; "
           << av.guarantee << " guarantee";
      if (std::isfinite(av.bound)) read << "; bound " << Fixed(av.bound, 4) << " at " << Fixed(av.level, 2);
      t["properties"]["synapse.1.adaptive"] = read.str();
    }
    tests.push_back(t);
    verdicts.push_back(v);
    ran.push_back(&a);
  }

  json report = model_under_test->Report();
  report["gate"] = {{"spec", spec_path},
                    {"assertions", mine.size()},
                    {"failed", failed},
                    {"passed", failed == 0},
                    {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()},
                    {"adaptive", adaptive},
                    {"example_passes", model_under_test->passes_spent()}};
  if (adaptive) report["gate"]["full_run_example_passes"] = adaptive_run.full_passes;
  if (shard.total > 1) report["gate"]["shard"] = shard.Json();
  report["tests"] = tests;
  WriteReportFiles(report, out_dir);

  if (!quiet) {
    size_t name_w = 9, query_w = 5;
    for (size_t i = 0; i < verdicts.size(); ++i) {
      name_w = std::max(name_w, ran[i]->name.size());
      query_w = std::max(query_w, verdicts[i].query.size());
    }
    std::ostringstream out;
    out << std::left << std::setw(static_cast<int>(name_w) + 2) << "assertion"
        << std::setw(static_cast<int>(query_w) + 2) << "query" << std::setw(26) << "metric" << std::setw(9) << "value"
        << std::setw(18) << "interval" << std::setw(12) << "threshold";
    if (adaptive) out << std::setw(13) << "examples" << std::setw(21) << "stopped";
    out << "verdict\n";
    for (size_t i = 0; i < verdicts.size(); ++i) {
      const Verdict& v = verdicts[i];
      const std::string threshold =
          std::isfinite(v.threshold) ? v.comparison + " " + Fixed(v.threshold, 3) : std::string("-");
      out << std::setw(static_cast<int>(name_w) + 2) << ran[i]->name
          << std::setw(static_cast<int>(query_w) + 2) << v.query << std::setw(26) << v.metric << std::setw(9)
          << (std::isfinite(v.value) ? Fixed(v.value, 3) : "n/a") << std::setw(18) << Interval(v) << std::setw(12)
          << threshold;
      if (adaptive) {
        const robustness::AdaptiveVerdict& av = adaptive_verdicts[i];
        out << std::setw(13) << (std::to_string(av.examples) + "/" + std::to_string(adaptive_run.examples))
            << std::setw(21) << av.stopped;
      }
      out << VerdictText(v) << "\n";
    }
    out << "\n"
        << (failed == 0 ? "gate passed" : "gate FAILED") << ": " << mine.size() - failed << " of " << mine.size()
        << " assertions hold";
    if (shard.total > 1) out << " (shard " << shard.index << " of " << shard.total << ")";
    out << "; reports in " << out_dir << "/ (junit.xml, report.json, report.html)\n";
    if (adaptive) {
      out << "example-passes: " << Fixed(adaptive_run.passes, 0) << " (the full run: "
          << Fixed(adaptive_run.full_passes, 0) << ", " << Fixed(adaptive_run.full_passes / adaptive_run.passes, 2)
          << "x as many)\n";
    }
    for (size_t i = 0; i < verdicts.size(); ++i) {
      if (!robustness::Holds(verdicts[i])) {
        out << "  " << ran[i]->name << ": " << verdicts[i].requirement << ", " << verdicts[i].explanation
            << "\n";
      }
    }
    std::cout << out.str();
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace synapse::cli
