// synapse gate: run a robustness spec's assertions on a model and fail the release when
// one does not hold.
#include <chrono>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "args.h"
#include "commands.h"
#include "util/number_text.h"
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

// The command line of `synapse gate`.
struct GateParams {
  std::string spec_path, out_dir = "synapse-gate", model, data, tokenizer, labels, cache_dir, shard_flag;
  int64_t threads = 1, order_seed = -1;
  bool quiet = false, no_cache = false, adaptive = false;
};

// False for --help (printed).
bool ParseGateFlags(int argc, char** argv, GateParams* g) {
  ArgParser p("synapse gate", "Check a model against a robustness spec; exit 1 when an assertion fails.");
  p.Option("--spec", "FILE", "the robustness spec (JSON)", &g->spec_path);
  p.Option("--out", "DIR", "where junit.xml, report.json and report.html go (default synapse-gate)", &g->out_dir);
  p.Option("--model", "M", "override the spec's model (a directory or .pt file)", &g->model);
  p.Option("--data", "D", "override the spec's data", &g->data);
  p.Option("--tokenizer", "T", "override the spec's tokenizer", &g->tokenizer);
  p.Option("--labels", "L", "override the spec's labels", &g->labels);
  p.Option("--threads", "N", "intra-op threads (default 1: small models run fastest on one)", &g->threads);
  p.Option("--cache-dir", "DIR", "where extractions are cached (default $SYNAPSE_CACHE_DIR, else ~/.cache/synapse)",
           &g->cache_dir);
  p.Flag("--no-cache", "extract without reading or writing the cache", &g->no_cache);
  p.Flag("--quiet", "print nothing but errors", &g->quiet);
  p.Flag("--adaptive", "stop each assertion as soon as its confidence sequence decides it", &g->adaptive);
  p.Option("--adaptive-seed", "N", "seed of the order --adaptive reads examples in (default: the spec's seed)",
           &g->order_seed);
  p.Option("--shard", "I/N", "run shard I of N (0-based; default GTEST_SHARD_INDEX/GTEST_TOTAL_SHARDS)",
           &g->shard_flag);
  p.Epilog(kEpilog);
  if (!p.Parse(argc, argv)) {
    std::cout << p.Help();
    return false;
  }
  if (g->spec_path.empty()) throw UsageError(401, "--spec FILE is required (the robustness spec)");
  return true;
}

// Command-line overrides are the strongest, as --synapse_* flags are for test binaries.
void OverrideSettings(const GateParams& g) {
  for (const auto& [name, value] : {std::pair<const char*, std::string>{"model", g.model},
                                    {"data", g.data},
                                    {"tokenizer", g.tokenizer},
                                    {"labels", g.labels}}) {
    if (!value.empty()) robustness::OverrideSetting(name, value, std::string("--") + name);
  }
  if (g.no_cache) {
    robustness::OverrideSetting("cache_dir", "off", "--no-cache");
  } else if (!g.cache_dir.empty()) {
    robustness::OverrideSetting("cache_dir", g.cache_dir, "--cache-dir");
  }
}

// What the gate ran: this shard's assertions, their verdicts and test records.
struct GateRun {
  std::vector<const Assertion*> ran;
  std::vector<Verdict> verdicts;
  std::vector<robustness::AdaptiveVerdict> adaptive_verdicts;  // with --adaptive, per assertion
  robustness::AdaptiveRun adaptive_run;
  json tests = json::array();
  int failed = 0;
};

class Gate {
 public:
  Gate(const GateParams& g, const robustness::Spec& spec, robustness::ModelUnderTest* model, const Shard& shard)
      : g_(g), spec_(spec), model_(model) {
    for (size_t i = 0; i < spec.assertions.size(); ++i) {
      if (shard.Owns(i, spec.assertions.size())) mine_.push_back(i);
    }
    const std::string stem = g.spec_path.substr(g.spec_path.find_last_of('/') + 1);
    suite_ = "gate." + stem.substr(0, stem.rfind('.'));
  }

  const std::vector<size_t>& mine() const { return mine_; }

  GateRun Run() {
    GateRun run;
    if (g_.adaptive) RunAdaptively(&run);
    for (size_t k = 0; k < mine_.size(); ++k) {
      const size_t i = mine_[k];
      const Assertion& a = spec_.assertions[i];
      const auto t0 = std::chrono::steady_clock::now();
      Verdict v;
      if (g_.adaptive) {
        v = run.adaptive_verdicts[k].verdict;
      } else {
        try {
          v = robustness::RunAssertion(*model_, a);
        } catch (const Error& e) {
          throw BadQuery(i, e);
        }
      }
      run.failed += !robustness::Holds(v);
      json t = TestJson(i, a, v, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      if (g_.adaptive) AddAdaptive(run.adaptive_verdicts[k], run.adaptive_run, &t);
      run.tests.push_back(t);
      run.verdicts.push_back(v);
      run.ran.push_back(&a);
    }
    return run;
  }

 private:
  // A query that does not fit the model is a mistake in the spec: no verdict, no report.
  UsageError BadQuery(size_t i, const Error& e) const {
    return UsageError(
        404, g_.spec_path + ": assertions[" + std::to_string(i) + "] (" + spec_.assertions[i].name + "): " + e.what());
  }

  void RunAdaptively(GateRun* run) const {
    std::vector<robustness::AdaptiveItem> items;
    for (size_t i : mine_) {
      const Assertion& a = spec_.assertions[i];
      robustness::AdaptiveItem item;
      item.check = a.check;
      item.known_weakness = a.known_weakness;
      try {
        if (a.query.intervention == "probe") {
          item.probe = model_->Probe(a.query.layer);
        } else {
          item.query = robustness::QueryOf(*model_, a.query);
        }
      } catch (const Error& e) {
        throw BadQuery(i, e);
      }
      items.push_back(std::move(item));
    }
    try {
      const uint64_t seed = g_.order_seed >= 0 ? static_cast<uint64_t>(g_.order_seed) : model_->config().seed();
      run->adaptive_run = robustness::RunAdaptive(*model_, items, robustness::AdaptiveOptions().seed(seed));
    } catch (const Error& e) {
      throw UsageError(404, g_.spec_path + ": " + e.what());
    }
    run->adaptive_verdicts = run->adaptive_run.verdicts;
  }

  json TestJson(size_t i, const Assertion& a, const Verdict& v, double seconds) const {
    const bool holds = robustness::Holds(v);
    json t;
    t["suite"] = suite_;
    t["name"] = a.name;
    t["file"] = g_.spec_path;
    t["spec_index"] = i;
    t["time_s"] = seconds;
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
    return t;
  }

  static void AddAdaptive(const robustness::AdaptiveVerdict& av, const robustness::AdaptiveRun& run, json* t) {
    (*t)["adaptive"] = robustness::AdaptiveJson(av, run.examples);
    std::ostringstream read;
    read << av.examples << " of " << run.examples << " examples; stopped: " << av.stopped << "; " << av.guarantee
         << " guarantee";
    if (std::isfinite(av.bound)) read << "; bound " << Fixed(av.bound, 4) << " at " << Fixed(av.level, 2);
    (*t)["properties"]["synapse.1.adaptive"] = read.str();
  }

  const GateParams& g_;
  const robustness::Spec& spec_;
  robustness::ModelUnderTest* model_;
  std::vector<size_t> mine_;  // the spec indices this shard runs
  std::string suite_;
};

// The table stdout shows, the totals, and each failure's explanation.
std::string GateTable(const GateParams& g, const GateRun& run, const Shard& shard) {
  const std::vector<Verdict>& verdicts = run.verdicts;
  const size_t n = verdicts.size();
  size_t name_w = 9, query_w = 5;
  for (size_t i = 0; i < n; ++i) {
    name_w = std::max(name_w, run.ran[i]->name.size());
    query_w = std::max(query_w, verdicts[i].query.size());
  }
  std::ostringstream out;
  out << std::left << std::setw(static_cast<int>(name_w) + 2) << "assertion" << std::setw(static_cast<int>(query_w) + 2)
      << "query" << std::setw(26) << "metric" << std::setw(9) << "value" << std::setw(18) << "interval" << std::setw(12)
      << "threshold";
  if (g.adaptive) out << std::setw(13) << "examples" << std::setw(21) << "stopped";
  out << "verdict\n";
  for (size_t i = 0; i < n; ++i) {
    const Verdict& v = verdicts[i];
    const std::string threshold =
        std::isfinite(v.threshold) ? v.comparison + " " + Fixed(v.threshold, 3) : std::string("-");
    out << std::setw(static_cast<int>(name_w) + 2) << run.ran[i]->name << std::setw(static_cast<int>(query_w) + 2)
        << v.query << std::setw(26) << v.metric << std::setw(9) << (std::isfinite(v.value) ? Fixed(v.value, 3) : "n/a")
        << std::setw(18) << Interval(v) << std::setw(12) << threshold;
    if (g.adaptive) {
      const robustness::AdaptiveVerdict& av = run.adaptive_verdicts[i];
      out << std::setw(13) << (std::to_string(av.examples) + "/" + std::to_string(run.adaptive_run.examples))
          << std::setw(21) << av.stopped;
    }
    out << VerdictText(v) << "\n";
  }
  out << "\n"
      << (run.failed == 0 ? "gate passed" : "gate FAILED") << ": " << n - run.failed << " of " << n
      << " assertions hold";
  if (shard.total > 1) out << " (shard " << shard.index << " of " << shard.total << ")";
  out << "; reports in " << g.out_dir << "/ (junit.xml, report.json, report.html)\n";
  if (g.adaptive) {
    const robustness::AdaptiveRun& a = run.adaptive_run;
    out << "example-passes: " << Fixed(a.passes, 0) << " (the full run: " << Fixed(a.full_passes, 0) << ", "
        << Fixed(a.full_passes / a.passes, 2) << "x as many)\n";
  }
  for (size_t i = 0; i < n; ++i) {
    if (!robustness::Holds(verdicts[i])) {
      out << "  " << run.ran[i]->name << ": " << verdicts[i].requirement << ", " << verdicts[i].explanation << "\n";
    }
  }
  return out.str();
}

}  // namespace

int GateCommand(int argc, char** argv) {
  GateParams g;
  if (!ParseGateFlags(argc, argv, &g)) return 0;
  const Shard shard = ResolveShard(g.shard_flag);
  const auto start = std::chrono::steady_clock::now();
  const robustness::Spec spec = robustness::LoadGateSpec(g.spec_path);
  OverrideSettings(g);
  SetUpRuntime(g.threads);

  std::shared_ptr<robustness::ModelUnderTest> model_under_test = robustness::ModelUnderTest::Shared(spec.config);
  Gate gate(g, spec, model_under_test.get(), shard);
  const GateRun run = gate.Run();

  json report = model_under_test->Report();
  report["gate"] = {{"spec", g.spec_path},
                    {"assertions", gate.mine().size()},
                    {"failed", run.failed},
                    {"passed", run.failed == 0},
                    {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()},
                    {"adaptive", g.adaptive},
                    {"example_passes", model_under_test->passes_spent()}};
  if (g.adaptive) report["gate"]["full_run_example_passes"] = run.adaptive_run.full_passes;
  if (shard.total > 1) report["gate"]["shard"] = shard.Json();
  report["tests"] = run.tests;
  WriteReportFiles(report, g.out_dir);
  if (!g.quiet) std::cout << GateTable(g, run, shard);
  return run.failed == 0 ? 0 : 1;
}

}  // namespace synapse::cli
