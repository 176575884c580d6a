// synapse analyze: the SYNAPSE analysis of a model on labelled rows → DIR/report.json and
// DIR/report.html.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "args.h"
#include "commands.h"
#include "default_model.h"
#include "util/number_text.h"
#include "report/report_markup.h"
#include "rows.h"
#include "shard.h"
#include "synapse/activation_cache.h"
#include "synapse/analysis.h"
#include "util/atomic_file.h"
#include "synapse/error.h"
#include "synapse/memory_budget.h"
#include "util/byte_size.h"
#include "synapse/model.h"
#include "synapse/report_files.h"

namespace synapse::cli {
namespace {

using json = nlohmann::ordered_json;

constexpr const char* kEpilog =
    "Rows need a label (a class index, or a name listed in --labels / labels.json beside the model).\n"
    "Every layer gets a probe and neuron rankings; experiments run on --layers (default: all):\n"
    "for each k, ablate the global top-k, k random neurons (--random-seeds draws), the bottom-k and\n"
    "each class's top-k; and add Gaussian noise of each --noise level × the neuron's std. Then the\n"
    "logit flip budgets and, with a linear head, the weight-space searches.\n"
    "\n"
    "Writes DIR/report.json (schema: docs/report-schema.md) and DIR/report.html (charts, no\n"
    "network), and prints a summary. Exit 0 on success, 2 on bad input, 3 on an internal error.\n";

// A one-line progress bar on stderr, redrawn at most ten times a second.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  ~ProgressBar() { Finish(); }
  void Update(const std::string& stage, int64_t done, int64_t total) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (stage == stage_ && done < total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    stage_ = stage;
    const int width = 30;
    const double fraction = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    const int filled = static_cast<int>(fraction * width);
    std::fprintf(stderr, "\r%-13s [%s%s] %3d%%", stage.c_str(), std::string(static_cast<size_t>(filled), '#').c_str(),
                 std::string(static_cast<size_t>(width - filled), ' ').c_str(), static_cast<int>(fraction * 100));
    std::fflush(stderr);
    drawn_ = true;
  }
  void Finish() {
    if (drawn_) std::fprintf(stderr, "\r%60s\r", "");
    drawn_ = false;
  }

 private:
  bool enabled_;
  bool drawn_ = false;
  std::string stage_;
  std::chrono::steady_clock::time_point last_;
};

std::string Ci(const Interval& interval) { return "[" + Fixed(interval.low) + ", " + Fixed(interval.high) + "]"; }

// The layer's ablation of `selection` at k, or null.
const LayerExperiment* FindRow(const LayerResult& layer, Experiment::Selection selection, int64_t k) {
  for (const LayerExperiment& row : layer.experiments) {
    const Experiment& e = row.experiment;
    if (e.kind == Experiment::Kind::kAblate && e.selection == selection && e.k == k) return &row;
  }
  return nullptr;
}

// Whether any layer ran an ablation of `selection`.
bool HasRows(const AnalysisResult& r, Experiment::Selection selection) {
  for (const LayerResult& layer : r.layers) {
    for (const LayerExperiment& row : layer.experiments) {
      if (row.experiment.kind == Experiment::Kind::kAblate && row.experiment.selection == selection) return true;
    }
  }
  return false;
}

// A class as a reader sees it: "class 0" without a labels file (as report.html shows it).
using report_markup::ClassDisplayName;

// The baseline and a row per layer: probe accuracy, and the k nearest 10% of the width
// ablated as top-k, random and bottom-k.
void PrintLayers(const AnalysisResult& r, std::ostream& out) {
  using Selection = Experiment::Selection;
  const Metrics& base = r.baseline.metrics;
  out << "baseline     accuracy " << Fixed(base.accuracy) << " " << Ci(base.accuracy_ci) << " on " << base.n
      << " examples; recall";
  for (size_t c = 0; c < r.class_names.size() && c < base.recall.size(); ++c) {
    out << " " << ClassDisplayName(r.class_names[c]) << " " << Fixed(base.recall[c]);
  }
  out << "\n\n";

  out << std::left << std::setw(6) << "layer" << std::setw(26) << "name" << std::setw(12) << "probe test"
      << std::setw(5) << "k" << std::setw(14) << "top-k acc" << std::setw(14) << "random acc" << std::setw(14)
      << "bottom-k acc"
      << "p (top vs base)\n";
  for (const LayerResult& layer : r.layers) {
    std::string name = layer.name;
    // setw counts bytes: the ellipsis is one column but three bytes in UTF-8.
    int name_width = 26;
    if (name.size() > 24) {
      name = "…" + name.substr(name.size() - 23);
      name_width += 2;
    }
    out << std::left << std::setw(6) << layer.index << std::setw(name_width) << name << std::setw(12)
        << Fixed(layer.probe.fit.test_accuracy);
    // The k nearest 10% of the width: large enough to matter, small enough to be targeted.
    int64_t k = -1;
    const double want = 0.1 * static_cast<double>(layer.hidden);
    for (const LayerExperiment& row : layer.experiments) {
      if (row.experiment.kind != Experiment::Kind::kAblate || row.experiment.selection != Selection::kTop) continue;
      const int64_t rk = row.experiment.k;
      if (k < 0 || std::abs(static_cast<double>(rk) - want) < std::abs(static_cast<double>(k) - want)) k = rk;
    }
    if (k < 0) {
      out << "(no experiments)\n";
      continue;
    }
    auto acc = [&](Selection selection) {
      const LayerExperiment* row = FindRow(layer, selection, k);
      return row == nullptr ? std::string("-") : Fixed(row->result.pooled.accuracy);
    };
    const LayerExperiment* top = FindRow(layer, Selection::kTop, k);
    char p[32];
    std::snprintf(p, sizeof p, "%.2g", top->result.pooled.mcnemar_p);
    out << std::setw(5) << k << std::setw(14) << acc(Selection::kTop) << std::setw(14) << acc(Selection::kRandom)
        << std::setw(14) << acc(Selection::kBottom) << p << "\n";
  }
  out << "\n";
}

// The weight-space line: per class, the head scaling (and bias shift) that moves the target
// share, or why the stage was skipped. The stage's section is JSON in the result
// (AnalysisResult::weight_space), so this reads its keys.
void PrintWeightSpace(const json& w, std::ostream& out) {
  if (w.contains("classes")) {
    out << "weight space        to move " << Fixed(w["target_rate"].get<double>() * 100, 0)
        << "% of the other classes' examples:";
    for (const json& c : w["classes"]) {
      out << " " << ClassDisplayName(c["class"].get<std::string>()) << " ";
      const json& hs = c["head_scale"];
      out << (hs["reached"].get<bool>() ? "x" + Fixed(hs["factor"].get<double>(), 2) : std::string("not reached"));
      if (c.contains("bias_shift")) {
        const json& bs = c["bias_shift"];
        out << (bs["reached"].get<bool>() ? " / bias +" + Fixed(bs["shift"].get<double>(), 2) : std::string(""));
      }
      out << ";";
    }
    out << "\n";
  } else if (w.contains("skipped")) {
    out << "weight space        skipped: " << w["skipped"].get<std::string>() << "\n";
  }
}

// What stands out: the most fragile layer and class (or none), the logit budget, the
// weight-space searches.
void PrintFindings(const AnalysisResult& r, std::ostream& out) {
  const AnalysisSummary& s = r.summary;
  // Empty: nothing to single out (no layer's top-k ablation cost more than its random
  // control; no class lost recall to its own top-k), or no such experiment ran.
  if (!s.most_fragile_layer && HasRows(r, Experiment::Selection::kTop)) {
    out << "most fragile layer  none: no top-k ablation cost more accuracy than as many random neurons\n";
  } else if (s.most_fragile_layer) {
    const FragileLayer& f = *s.most_fragile_layer;
    out << "most fragile layer  " << f.layer << " (" << f.name << "): top-" << f.fragility.k << " ablation costs "
        << Fixed(f.fragility.top_drop) << " accuracy, random " << f.fragility.k << " cost "
        << Fixed(f.fragility.random_drop) << "\n";
  }
  if (!s.most_fragile_class && HasRows(r, Experiment::Selection::kClassTop)) {
    out << "most fragile class  none: no class lost recall when its top-k neurons were ablated\n";
  } else if (s.most_fragile_class) {
    const FragileClass& c = *s.most_fragile_class;
    out << "most fragile class  " << ClassDisplayName(c.class_name) << ": recall " << Fixed(c.baseline_recall) << " -> "
        << Fixed(c.recall) << " " << Ci(c.recall_ci) << " with its top-" << c.k << " neurons of layer " << c.layer
        << " ablated\n";
  }
  out << "logit budget        a shift of " << Fixed(s.flip_budget_1pct, 4)
      << " (L-inf) flips 1% of predictions; median example needs " << Fixed(s.median_min_flip, 4) << "\n";
  PrintWeightSpace(r.weight_space, out);
}

// What it cost and where the reports are.
void PrintCost(const AnalysisResult& r, const std::string& report_path, std::ostream& out) {
  const AnalysisTiming& t = r.timing;
  out << "time                " << Fixed(t.total_s, 1) << " s = " << Fixed(t.ForwardPasses(t.total_s), 1)
      << " forward passes (" << t.sweep_configurations << " sweep configurations)\n";
  const CacheLookup& cache = t.activation_cache;
  const SuffixExecution& cut = t.suffix_execution;
  out << "execution           extraction cache " << cache.status;
  if (!cache.reason.empty()) out << " (" << cache.reason << ")";
  out << "; suffix execution "
      << (t.suffix_execution_enabled
              ? "at " + std::to_string(cut.layers.size()) + " of " + std::to_string(r.model.layers.size()) + " layers"
              : std::string("off"));
  if (!cut.fallback_reason.empty()) out << " (" << cut.fallback_reason << ")";
  out << "\n";
  out << "report              " << report_path << "\n";
  const std::string html =
      report_path.substr(0, report_path.size() - std::string("report.json").size()) + "report.html";
  out << "charts              " << html << "\n";
}

void PrintSummary(const AnalysisResult& r, const std::string& report_path, std::ostream& out) {
  PrintLayers(r, out);
  PrintFindings(r, out);
  PrintCost(r, report_path, out);
}

// The command line of `synapse analyze`.
struct AnalyzeParams {
  std::string out_dir = "synapse-report", pool = "first";
  std::string layers, k = "1,2,5,10,20,50,10%,25%,50%", ablate_value = "zero", noise = "0.1,0.25,0.5,1.0";
  std::string mass = "0.5,0.9", probe_l1 = "0.001", probe_l2 = "0.01", test_fraction = "0.2", confidence = "0.95";
  std::string head, target_rate = "0.5", head_max_factor = "100", weight_noise = "0.01,0.05,0.1,0.25,0.5";
  std::string weight_noise_param, save_activations, layers_glob, input_shape, memory_budget, cache_dir, shard_flag;
  int64_t seed = 0, batch_size = 32, threads = 0, pad_id = -1, random_seeds = 5, probe_max_iter = 1000;
  int64_t head_k = 10, bisect_steps = 10, weight_noise_seeds = 3;
  bool cased = false, pooled_only = false, no_weight_space = false, no_suffix_execution = false, no_linear_head = false,
       no_head_input = false, quiet = false, no_cache = false;
  RowSource source;  // --model, --data, --tokenizer, --labels, --max-length and the data options
};

// False for --help (printed).
bool ParseAnalyzeFlags(int argc, char** argv, AnalyzeParams* a) {
  ArgParser p("synapse analyze", "Probe every layer, rank neurons, and measure what ablating them does.");
  p.Option("--model", "M", "model file (.pt TorchScript or .pt2 package) or model directory (default: the embedded spam-tiny model)",
           &a->source.model);
  p.Option("--data", "D",
           "labelled rows: JSONL (text, pre-tokenized or float features), CSV or TSV (default: a model "
           "directory's eval.jsonl)",
           &a->source.data);
  p.Option("--tokenizer", "T", "tokenizer.json or vocab.txt, for text rows (default: tokenizer.json beside M)",
           &a->source.tokenizer);
  p.Option("--labels", "L", "class names: [\"ham\", ...] or a config with id2label (default: labels.json beside M)",
           &a->source.labels);
  p.Option("--out", "DIR", "where report.json goes (default synapse-report)", &a->out_dir);
  p.Option("--max-length", "N", "truncate text to N tokens (default: the tokenizer's, else 512)",
           &a->source.max_length);
  p.Flag("--no-lowercase", "vocab.txt only: keep case and accents", &a->cased);
  p.Option("--pool", "first|last|mean", "the pooled vector: [CLS] (default), last real token, or token mean", &a->pool);
  p.Option("--layers", "LIST", "layers to run experiments on, e.g. 0,2,-1 (default: all)", &a->layers);
  p.Option("--k", "LIST", "neuron counts, integers or % of the width (default 1,2,5,10,20,50,10%,25%,50%)", &a->k);
  p.Option("--ablate-value", "zero|mean", "what ablated neurons are set to (default zero)", &a->ablate_value);
  p.Flag("--pooled-only", "ablate and add noise at the pooled position only (default: every real token)",
         &a->pooled_only);
  p.Option("--random-seeds", "N", "random neuron sets per k, the control (default 5)", &a->random_seeds);
  p.Option("--noise", "LIST", "noise levels relative to each neuron's std (default 0.1,0.25,0.5,1.0; none)", &a->noise);
  p.Option("--mass", "LIST", "weight-mass fractions to report the neuron count of (default 0.5,0.9)", &a->mass);
  p.Option("--probe-l1", "X", "probe L1 penalty (default 0.001)", &a->probe_l1);
  p.Option("--probe-l2", "X", "probe L2 penalty (default 0.01)", &a->probe_l2);
  p.Option("--probe-max-iter", "N", "probe solver iterations (default 1000)", &a->probe_max_iter);
  p.Option("--test-fraction", "X", "share of each class held out to score probes (default 0.2)", &a->test_fraction);
  p.Option("--confidence", "X", "confidence level of every interval (default 0.95)", &a->confidence);
  p.Option("--head", "NAME", "the classification head's weight parameter (default: found)", &a->head);
  p.Option("--head-k", "N", "head weights scaled per class (default 10)", &a->head_k);
  p.Option("--head-max-factor", "X", "largest head-weight factor tried (default 100)", &a->head_max_factor);
  p.Option("--target-rate", "X", "share of other classes' examples to move (default 0.5)", &a->target_rate);
  p.Option("--bisect-steps", "N", "bisection steps per search (default 10)", &a->bisect_steps);
  p.Option("--weight-noise", "LIST", "relative noise levels on a parameter (default 0.01,0.05,0.1,0.25,0.5; none)",
           &a->weight_noise);
  p.Option("--weight-noise-seeds", "N", "draws per weight-noise level (default 3)", &a->weight_noise_seeds);
  p.Option("--weight-noise-param", "NAME", "parameter that gets weight noise (default: the head's weight)",
           &a->weight_noise_param);
  p.Flag("--no-weight-space", "skip the weight-space experiments", &a->no_weight_space);
  p.Option("--cache-dir", "DIR", "where extractions are cached (default $SYNAPSE_CACHE_DIR, else ~/.cache/synapse)",
           &a->cache_dir);
  p.Flag("--no-cache", "extract without reading or writing the cache", &a->no_cache);
  p.Flag("--no-suffix-execution", "run the whole forward pass for every sweep configuration (same results, slower)",
         &a->no_suffix_execution);
  p.Flag("--no-linear-head", "weight-space searches: a forward pass per step, not predicted logits",
         &a->no_linear_head);
  p.Flag("--no-head-input", "weight space: forward passes, not the head's captured input, for head changes",
         &a->no_head_input);
  p.Option("--save-activations", "DIR", "also write the pooled vectors as NumPy files", &a->save_activations);
  p.Option("--seed", "N", "seed of the split, random sets and noise (default 0)", &a->seed);
  p.Option("--batch-size", "N", "examples per forward pass (default 32)", &a->batch_size);
  p.Option("--pad-id", "N", "token id used for padding (default: the tokenizer's, else 0)", &a->pad_id);
  p.Option("--layer-modules", "GLOB", "module paths of the layers (default: discovered)", &a->layers_glob);
  p.Option("--input-shape", "D,D,..", "float-input models: the shape every row's features must have", &a->input_shape);
  p.Option("--threads", "N", "intra-op threads (default: all cores)", &a->threads);
  p.Option("--memory-budget", "SIZE",
           "refuse to start when extraction would need more, e.g. 4G (default: 80% of physical memory)",
           &a->memory_budget);
  p.Flag("--quiet", "no progress bar and no summary", &a->quiet);
  p.Option("--shard", "I/N",
           "sweep shard I of N's block of layers (0-based; default GTEST_SHARD_INDEX/GTEST_TOTAL_SHARDS); "
           "`synapse merge` joins the shards",
           &a->shard_flag);
  AddDataOptions(&p, &a->source);
  p.Epilog(kEpilog);
  if (!p.Parse(argc, argv)) {
    std::cout << p.Help();
    return false;
  }
  ResolveModelDirectory(&a->source.model, &a->source.tokenizer, &a->source.data);
  if (a->source.data.empty()) {
    throw UsageError(401, "--data is required: " + a->source.model + " has no eval.jsonl beside it");
  }
  a->source.seed = static_cast<uint64_t>(a->seed);
  a->source.lowercase = !a->cased;
  return true;
}

// The analysis options the flags ask for (pad_id is the data's, set once it is loaded).
AnalysisOptions OptionsFrom(const AnalyzeParams& a, const Shard& shard) {
  AnalysisOptions options;
  BatchOptions batching;
  options.shard_index(shard.index).shard_count(shard.total);
  batching.pool(ParsePooling(a.pool, /*allow_mean=*/true)).batch_size(a.batch_size);
  options.seed(static_cast<uint64_t>(a.seed)).k(a.k);
  if (!a.memory_budget.empty()) batching.memory_budget(ParseByteSize(a.memory_budget));
  if (!a.layers.empty()) {
    std::vector<int> selected;
    for (int64_t l : ParseIntList(a.layers, "--layers")) selected.push_back(static_cast<int>(l));
    options.layers(selected);
  }
  options.ablate_value(a.ablate_value).positions(a.pooled_only ? Positions::kPooled : Positions::kAll);
  if (a.random_seeds < 0) throw UsageError(401, "--random-seeds must be ≥ 0");
  options.random_seeds(static_cast<int>(a.random_seeds));
  options.noise(ParseNumberList(a.noise, "--noise")).mass(ParseNumberList(a.mass, "--mass"));
  if (a.probe_max_iter < 1) throw UsageError(401, "--probe-max-iter must be at least 1");
  options.probe(ProbeOptions()
                    .l1(ParseNumber(a.probe_l1, "--probe-l1"))
                    .l2(ParseNumber(a.probe_l2, "--probe-l2"))
                    .max_iter(static_cast<int>(a.probe_max_iter)));
  options.test_fraction(ParseNumber(a.test_fraction, "--test-fraction"))
      .confidence(ParseNumber(a.confidence, "--confidence"));
  batching.suffix_execution(!a.no_suffix_execution);
  options.batching(batching);
  options.cache_dir(a.no_cache ? "" : CacheDirFromSetting(a.cache_dir));
  WeightSpaceOptions weight_space;
  options.weight_space(!a.no_weight_space);
  weight_space.linear_head(!a.no_linear_head).head_input(!a.no_head_input).head(a.head).head_k(a.head_k);
  weight_space.head_max_factor(ParseNumber(a.head_max_factor, "--head-max-factor"))
      .target_rate(ParseNumber(a.target_rate, "--target-rate"));
  if (a.bisect_steps < 1 || a.bisect_steps > 60) throw UsageError(401, "--bisect-steps must be in 1..60");
  weight_space.bisect_steps(static_cast<int>(a.bisect_steps));
  weight_space.weight_noise(ParseNumberList(a.weight_noise, "--weight-noise"));
  if (a.weight_noise_seeds < 1) throw UsageError(401, "--weight-noise-seeds must be at least 1");
  weight_space.weight_noise_seeds(static_cast<int>(a.weight_noise_seeds)).weight_noise_parameter(a.weight_noise_param);
  options.weight_space_options(weight_space);
  options.save_activations(a.save_activations);
  return options;
}

// The report's "data" section: where the rows came from and how many were usable, then
// what the analysis adds.
json DataJson(const AnalyzeParams& a, const Dataset& loaded, const json& analysis_data) {
  json data;
  data["path"] = a.source.data;
  if (!a.source.tokenizer.empty()) data["tokenizer"] = a.source.tokenizer;
  if (!loaded.labels_path.empty()) data["labels"] = loaded.labels_path;
  data["rows_read"] = loaded.total + loaded.skipped;
  data["rows_skipped"] = loaded.skipped;
  data["rows_usable"] = loaded.total;
  if (a.source.max_examples > 0) data["max_examples"] = a.source.max_examples;
  data.update(analysis_data);
  return data;
}

}  // namespace

int AnalyzeCommand(int argc, char** argv) {
  AnalyzeParams a;
  if (!ParseAnalyzeFlags(argc, argv, &a)) return 0;
  const Shard shard = ResolveShard(a.shard_flag);
  AnalysisOptions options = OptionsFrom(a, shard);
  const RuntimeInfo runtime = SetUpRuntime(a.threads);
  ModelOptions model_options;
  model_options.layers_glob(a.layers_glob);
  if (!a.input_shape.empty()) model_options.input_shape(ParseShape(a.input_shape, "--input-shape"));
  OpenedModel opened = OpenModelAndRows(a.source, model_options, a.pad_id);
  const Dataset& loaded = opened.data;
  Model& model = opened.model;
  options.batching(BatchOptions(options.batching()).pad_id(opened.pad_id));

  for (const DataRow& row : loaded.rows) {
    if (row.label_index < 0) {
      throw UsageError(401, a.source.data + ":" + std::to_string(row.line) +
                                ": no label; synapse analyze needs a label on every row");
    }
  }
  const std::vector<std::string>& names = opened.class_names;

  ProgressBar bar(!a.quiet && isatty(2));
  AnalysisResult result;
  try {
    result = Analyze(model, loaded.examples(), loaded.labels(), names, options,
                     [&bar](const std::string& stage, int64_t done, int64_t total) { bar.Update(stage, done, total); });
  } catch (const DataError& e) {
    bar.Finish();
    RethrowWithLine(e, a.source.data, loaded.rows);
  }
  bar.Finish();
  result.environment.threads = runtime.threads;

  // The report's edge: the result as JSON, with where the rows came from.
  json report = ReportJson(result);
  report["data"] = DataJson(a, loaded, report["data"]);
  const std::string report_path = a.out_dir + "/report.json";
  WriteReportFiles(report, a.out_dir);
  if (!a.quiet) PrintSummary(result, report_path, std::cout);
  return 0;
}

}  // namespace synapse::cli
