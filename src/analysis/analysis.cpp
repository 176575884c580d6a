#include "synapse/analysis.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "analysis/weight_space.h"
#include "report/report_json.h"
#include "synapse/activation_cache.h"
#include "synapse/error.h"
#include "synapse/evaluation_session.h"
#include "synapse/experiment.h"
#include "synapse/experiments.h"
#include "synapse/extraction.h"
#include "synapse/flip_budgets.h"
#include "synapse/model.h"
#include "synapse/runtime.h"
#include "synapse/stats.h"
#include "synapse/weight_perturbation.h"
#include "util/number_text.h"
#include "util/seeds.h"

namespace synapse {
namespace {

using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

[[noreturn]] void BadOption(const std::string& message) { throw SpecError(310, "analysis: " + message); }

struct Validated {
  std::vector<int> layers;  // experiment layers, resolved
};

Validated Validate(const Model& model, const std::vector<Example>& examples, const std::vector<int64_t>& labels,
                   const std::vector<std::string>& names, const AnalysisOptions& o) {
  if (examples.empty()) throw DataError(207, "analysis: no examples");
  if (labels.size() != examples.size()) {
    throw DataError(209, "analysis: " + std::to_string(labels.size()) + " labels for " +
                             std::to_string(examples.size()) + " examples");
  }
  if (names.size() < 2) BadOption("needs at least two class names, got " + std::to_string(names.size()));
  if (model.num_classes() >= 0 && model.num_classes() != static_cast<int64_t>(names.size())) {
    throw DataError(209, "analysis: the model has " + std::to_string(model.num_classes()) + " classes but " +
                             std::to_string(names.size()) + " class names were given");
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= static_cast<int64_t>(names.size())) {
      throw DataError(209,
                      "example " + std::to_string(i) + ": " +
                          (labels[i] < 0 ? std::string("no label (the analysis needs a label on every row)")
                                         : "label " + std::to_string(labels[i]) + " is not below the class count " +
                                               std::to_string(names.size())),
                      static_cast<int64_t>(i));
    }
  }
  if (o.ablate_value() != "zero" && o.ablate_value() != "mean") {
    BadOption("ablate_value must be zero or mean, got \"" + o.ablate_value() + "\"");
  }
  const BatchOptions& b = o.batching();
  const WeightSpaceOptions& w = o.weight_space_options();
  if (o.positions() == Positions::kPooled && b.pool() == Pooling::kMean) {
    BadOption("pooled-only ablation needs pooling first or last, not mean");
  }
  if (b.batch_size() < 1) BadOption("batch_size must be at least 1");
  if (o.random_seeds() < 0) BadOption("random_seeds must be ≥ 0");
  for (double s : o.noise()) {
    if (!(s >= 0) || !std::isfinite(s)) BadOption("noise levels must be finite and ≥ 0, got " + Shortest(s));
  }
  for (double f : o.mass()) {
    if (!(f > 0 && f <= 1)) BadOption("mass fractions must be in (0, 1], got " + Shortest(f));
  }
  if (!(o.test_fraction() > 0 && o.test_fraction() < 1)) {
    BadOption("test_fraction must be in (0, 1), got " + Shortest(o.test_fraction()));
  }
  if (!(o.confidence() > 0 && o.confidence() < 1)) {
    BadOption("confidence must be in (0, 1), got " + Shortest(o.confidence()));
  }
  if (w.head_k() < 1) BadOption("head_k must be at least 1");
  if (!(w.head_max_factor() > 1) || !std::isfinite(w.head_max_factor())) {
    BadOption("head_max_factor must be a finite number above 1");
  }
  if (!(w.target_rate() > 0 && w.target_rate() <= 1)) {
    BadOption("target_rate must be in (0, 1], got " + Shortest(w.target_rate()));
  }
  if (w.bisect_steps() < 1) BadOption("bisect_steps must be at least 1");
  for (double e : w.weight_noise()) {
    if (!(e >= 0) || !std::isfinite(e)) BadOption("weight noise levels must be finite and ≥ 0, got " + Shortest(e));
  }
  if (w.weight_noise_seeds() < 1 && !w.weight_noise().empty()) BadOption("weight_noise_seeds must be at least 1");
  // Named parameters are checked now, not after the sweep has run for minutes.
  if (o.weight_space() && !w.head().empty()) FindClassificationHead(model, w.head());
  if (o.weight_space() && !w.weight_noise_parameter().empty()) {
    bool found = false;
    for (const auto& p : model.parameters()) found = found || p.first == w.weight_noise_parameter();
    if (!found) {
      throw ModelError(
          107, model.path() + ": no parameter named \"" + w.weight_noise_parameter() + "\" (weight_noise_parameter)");
    }
  }
  Validated v;
  std::set<int> seen;
  if (o.layers().empty()) {
    for (const LayerInfo& l : model.layers()) v.layers.push_back(l.index);
  } else {
    for (int layer : o.layers()) {
      const int resolved = model.ResolveLayer(Site::Layer(layer));
      if (seen.insert(resolved).second) v.layers.push_back(resolved);
    }
    std::sort(v.layers.begin(), v.layers.end());
  }
  for (const LayerInfo& l : model.layers()) ResolveK(o.k(), std::max<int64_t>(l.hidden_size, 1));
  return v;
}

// The sweep's grid at `layers`: per k, the global top-k, its random control (random_seeds
// draws, pooled), the bottom-k and each class's top-k; then each noise level.
std::vector<Experiment> SweepGrid(EvaluationSession& session, const std::vector<int>& layers,
                                  const AnalysisOptions& o) {
  using Selection = Experiment::Selection;
  const int64_t num_classes = static_cast<int64_t>(session.class_names().size());
  std::vector<Experiment> grid;
  for (int layer : layers) {
    const int64_t width = static_cast<int64_t>(session.Probe(layer).ranking.global.size());
    for (const KValue& kv : ResolveK(o.k(), width)) {
      auto add = [&](Selection selection, int64_t cls, int draws) {
        Experiment e = Experiment::Ablate(layer, selection, kv.k);
        e.k_spec = kv.spec;
        e.class_index = cls;
        e.draws = draws;
        e.to_mean = o.ablate_value() == "mean";
        e.positions = o.positions();
        grid.push_back(e);
      };
      add(Selection::kTop, -1, 1);
      if (o.random_seeds() > 0) add(Selection::kRandom, -1, o.random_seeds());
      add(Selection::kBottom, -1, 1);
      for (int64_t c = 0; c < num_classes; ++c) add(Selection::kClassTop, c, 1);
    }
    for (double sigma : o.noise()) {
      Experiment e = Experiment::Noise(layer, sigma);
      e.positions = o.positions();
      grid.push_back(e);
    }
  }
  return grid;
}

// The summary's candidates: the layer whose top-k hurts most beyond its random control,
// and the class whose own top-k costs it the most recall.
struct Fragile {
  FragileLayer layer;
  FragileClass cls;
  double layer_excess = -std::numeric_limits<double>::infinity();
  double class_drop = -std::numeric_limits<double>::infinity();
};

// Layer `info`'s class asymmetry: per k, row i = ablate class i's top-k, column j = recall
// of class j; and the summary's most fragile class so far.
std::vector<ClassAsymmetry> ClassAsymmetryOf(const LayerInfo& info, const std::vector<Experiment>& grid,
                                             const std::vector<ExperimentResult>& results,
                                             const std::map<int64_t, std::vector<size_t>>& class_rows,
                                             const std::vector<std::string>& names, const Metrics& baseline,
                                             Fragile* fragile) {
  std::vector<ClassAsymmetry> asym;
  for (const auto& [k, idx] : class_rows) {
    ClassAsymmetry a;
    a.k = k;
    double worst = -std::numeric_limits<double>::infinity();
    for (size_t i : idx) {
      const Metrics& m = results[i].pooled;
      const size_t own = static_cast<size_t>(grid[i].class_index);
      std::vector<double> recall_row, drop_row;
      double others = 0;
      for (size_t c = 0; c < names.size(); ++c) {
        recall_row.push_back(m.recall[c]);
        const double drop = baseline.recall[c] - m.recall[c];
        drop_row.push_back(drop);
        if (c != own) others += drop;
      }
      a.recall.push_back(recall_row);
      a.recall_drop.push_back(drop_row);
      const double own_drop = baseline.recall[own] - m.recall[own];
      const double index = own_drop - others / static_cast<double>(names.size() - 1);
      if (index > worst) {
        worst = index;
        a.most_affected_class = names[own];
      }
      if (own_drop > fragile->class_drop) {
        fragile->class_drop = own_drop;
        fragile->cls = FragileClass{names[own],       info.index,           info.name, k, m.recall[own],
                                    m.recall_ci[own], baseline.recall[own], own_drop};
      }
    }
    a.asymmetry = worst;
    asym.push_back(std::move(a));
  }
  return asym;
}

// Layer `info`'s experiments (in a readable order: per selection, by k), its fragility and
// its class asymmetry, from the grid's results.
void LayerSweep(const LayerInfo& info, const std::vector<Experiment>& grid,
                const std::vector<ExperimentResult>& results, const std::vector<std::string>& names,
                const Metrics& baseline, LayerResult* layer, Fragile* fragile) {
  using Selection = Experiment::Selection;
  std::map<int64_t, const ExperimentResult*> top, random;
  std::map<int64_t, std::vector<size_t>> class_rows;
  std::vector<LayerExperiment> rows;
  for (size_t i = 0; i < grid.size(); ++i) {
    const Experiment& e = grid[i];
    if (e.layer != info.index) continue;
    rows.push_back({e, results[i]});
    if (e.kind != Experiment::Kind::kAblate) continue;
    if (e.selection == Selection::kTop) top[e.k] = &results[i];
    if (e.selection == Selection::kRandom) random[e.k] = &results[i];
    if (e.selection == Selection::kClassTop) class_rows[e.k].push_back(i);
  }
  // The report's order: top, random, bottom, class_top, noise; by k (a noise row's k is the
  // layer's width).
  auto rank = [](const LayerExperiment& row) {
    if (row.experiment.kind == Experiment::Kind::kNoise) return 4;
    static const std::map<Selection, int> order = {
        {Selection::kTop, 0}, {Selection::kRandom, 1}, {Selection::kBottom, 2}, {Selection::kClassTop, 3}};
    return order.at(row.experiment.selection);
  };
  auto k_of = [](const LayerExperiment& row) {
    return row.experiment.kind == Experiment::Kind::kNoise ? row.result.width : row.experiment.k;
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const LayerExperiment& a, const LayerExperiment& b) {
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    return k_of(a) < k_of(b);
  });
  layer->experiments = std::move(rows);

  // Fragility: where ablating the top-k hurts most beyond the random control.
  std::optional<LayerFragility> fragility;
  double best_excess = -std::numeric_limits<double>::infinity();
  for (const auto& [k, r] : top) {
    const double top_drop = baseline.accuracy - r->pooled.accuracy;
    const double random_drop = random.count(k) ? baseline.accuracy - random[k]->pooled.accuracy : 0.0;
    const double excess = top_drop - random_drop;
    if (excess > best_excess) {
      best_excess = excess;
      fragility = LayerFragility{k, top_drop, random_drop, excess, r->pooled.mcnemar_p};
    }
  }
  layer->fragility = fragility;
  if (fragility && best_excess > fragile->layer_excess) {
    fragile->layer_excess = best_excess;
    fragile->layer = FragileLayer{info.index, info.name, *fragility};
  }

  layer->class_asymmetry = ClassAsymmetryOf(info, grid, results, class_rows, names, baseline, fragile);
}

// The summary: what a person reads first.
AnalysisSummary SummaryOf(const std::vector<LayerResult>& layers, const FlipBudgets& budgets, const Fragile& fragile) {
  AnalysisSummary summary;
  // Only what moved is singled out: empty when no top-k cost more than its random control,
  // or no class lost recall to its own top-k (each layer's `fragility` still has its best).
  if (fragile.layer_excess > 0) summary.most_fragile_layer = fragile.layer;
  if (fragile.class_drop > 0) summary.most_fragile_class = fragile.cls;
  const std::vector<double> all(budgets.min_flip.data(), budgets.min_flip.data() + budgets.min_flip.size());
  summary.flip_budget_1pct = BudgetFlipping(all, 0.01);
  summary.median_min_flip = Quantile(all, 0.5);
  for (const LayerResult& l : layers) {
    if (!summary.best_probe || l.probe.fit.test_accuracy > summary.best_probe->test_accuracy) {
      summary.best_probe = BestProbe{l.index, l.name, l.probe.fit.test_accuracy};
    }
  }
  return summary;
}

}  // namespace

std::vector<KValue> ResolveK(const std::string& spec, int64_t width) {
  std::map<int64_t, std::string> ks;
  std::stringstream in(spec);
  std::string part;
  while (std::getline(in, part, ',')) {
    part.erase(0, part.find_first_not_of(" \t"));
    part.erase(part.find_last_not_of(" \t") + 1);
    if (part.empty()) BadOption("k: empty entry in \"" + spec + "\"");
    const bool percent = part.back() == '%';
    const std::string number = percent ? part.substr(0, part.size() - 1) : part;
    size_t used = 0;
    double value = 0;
    try {
      value = std::stod(number, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != number.size() || number.empty() || !(value > 0) || !std::isfinite(value) ||
        (!percent && value != std::floor(value)) || (percent && value > 100)) {
      BadOption("k: \"" + part + "\" is not a positive integer or a percentage in (0, 100]");
    }
    const int64_t k = percent ? std::max<int64_t>(1, std::llround(value / 100 * static_cast<double>(width)))
                              : static_cast<int64_t>(value);
    if (k > width) continue;
    std::string& label = ks[k];
    label += (label.empty() ? "" : ",") + part;
  }
  if (ks.empty() && spec.find_first_not_of(", \t") == std::string::npos) BadOption("k: no values");
  std::vector<KValue> out;
  for (const auto& [k, label] : ks) out.push_back({k, label});
  return out;
}

namespace {

// This shard's contiguous block of the experiment layers (every layer when unsharded).
std::vector<int> ShardBlock(const std::vector<int>& layers, const AnalysisOptions& o) {
  if (o.shard_count() < 1 || o.shard_index() < 0 || o.shard_index() >= o.shard_count()) {
    BadOption("shard " + std::to_string(o.shard_index()) + " of " + std::to_string(o.shard_count()));
  }
  std::vector<int> block;
  const size_t n = layers.size(), count = static_cast<size_t>(o.shard_count());
  const size_t index = static_cast<size_t>(o.shard_index());
  for (size_t i = 0; i < n; ++i) {
    if (i >= n * index / count && i < n * (index + 1) / count) block.push_back(layers[i]);
  }
  return block;
}

// Every layer's probe and ranking, and for the swept ones their experiments, fragility
// and class asymmetry (noted in *fragile for the summary).
std::vector<LayerResult> Layers(const Model& model, EvaluationSession& session, const std::vector<int>& sweep_layers,
                                const std::vector<Experiment>& grid, const std::vector<ExperimentResult>& results,
                                Fragile* fragile) {
  const Extraction& x = session.Extract();
  std::vector<LayerResult> layers;
  for (const LayerInfo& info : model.layers()) {
    LayerResult layer;
    layer.index = info.index;
    layer.name = info.name;
    layer.hidden = x.activations.at(info.index).cols();
    layer.probe = session.Probe(info.index);
    layer.swept = std::find(sweep_layers.begin(), sweep_layers.end(), info.index) != sweep_layers.end();
    if (layer.swept) LayerSweep(info, grid, results, session.class_names(), session.baseline(), &layer, fragile);
    layers.push_back(std::move(layer));
  }
  return layers;
}

}  // namespace

// The five stages in order, each a call, filling the result in the order of the report's
// top-level keys (docs/report-schema.md; about 90 lines: splitting it further would hide
// that order, which is the point of reading it).
AnalysisResult Analyze(Model& model, const std::vector<Example>& examples, const std::vector<int64_t>& labels,
                       const std::vector<std::string>& names, const AnalysisOptions& o,
                       const AnalysisProgress& progress) {
  const auto analysis_start = Clock::now();
  const Validated valid = Validate(model, examples, labels, names, o);
  const int64_t num_classes = static_cast<int64_t>(names.size());
  auto report_progress = [&](const char* stage) -> ProgressCallback {
    if (!progress) return {};
    return [&progress, stage](int64_t done, int64_t total) { progress(stage, done, total); };
  };
  BatchOptions batching = o.batching();
  batching.seed(o.seed());
  EvaluationSession session(model, examples, labels, names,
                            SessionOptions()
                                .batching(batching)
                                .seed(o.seed())
                                .probe(o.probe())
                                .test_fraction(o.test_fraction())
                                .confidence(o.confidence())
                                .cache_dir(o.cache_dir()));

  // 1. Extraction.
  const Extraction& x = session.Extract(report_progress("extraction"));
  if (x.logits.cols() != num_classes) {
    throw DataError(209, "analysis: the model has " + std::to_string(x.logits.cols()) + " classes but " +
                             std::to_string(num_classes) + " class names were given");
  }
  const Metrics& baseline = session.baseline();
  if (!o.save_activations().empty()) SaveActivations(x, model, labels, o.save_activations(), &session.split());

  AnalysisResult result;
  result.options = o;
  result.experiment_layers = valid.layers;
  result.model = AnalyzedModelOf(model);
  result.class_names = names;
  result.data.examples = static_cast<int64_t>(examples.size());
  result.data.examples_hash = ExamplesHash(examples, labels);
  result.data.labels = labels;
  result.baseline.metrics = baseline;
  result.baseline.predictions = session.base_predictions();
  result.baseline.seconds = x.seconds;

  // 2. Probes and rankings, every layer.
  const auto probes_start = Clock::now();
  const int64_t layer_count = static_cast<int64_t>(model.layers().size());
  for (const LayerInfo& info : model.layers()) {
    session.Probe(info.index);
    session.Stats(info.index);
    if (progress) progress("probes", info.index + 1, layer_count);
  }
  result.timing.probes_s = Since(probes_start);

  // 3. The sweep: every configuration of every selected layer (of this shard's block of
  // them), in one pass over batches.
  const std::vector<int> sweep_layers = ShardBlock(valid.layers, o);
  const std::vector<Experiment> grid = SweepGrid(session, sweep_layers, o);
  const auto sweep_start = Clock::now();
  const std::vector<ExperimentResult> results = session.Run(grid, report_progress("sweep"));
  result.timing.sweep_s = Since(sweep_start);
  for (const Experiment& e : grid) result.timing.sweep_configurations += e.draws;

  Fragile fragile;
  result.layers = Layers(model, session, sweep_layers, grid, results, &fragile);

  // 4. Logit space.
  const auto logit_start = Clock::now();
  result.logit_space = LogitSpaceJson(x.logits, labels, names, o.confidence());
  result.timing.logit_space_s = Since(logit_start);

  // 5. Weight space.
  const auto weight_start = Clock::now();
  result.weight_space =
      o.shard_index() != 0 ? json{{"skipped", "another shard"}}
      : !o.weight_space()
          ? json{{"skipped", "disabled"}}
          : WeightSpaceJson(model, examples, labels, names, x.logits, baseline, batching, o.weight_space_options(),
                            o.seed(), o.confidence(), progress, &result.timing.weight_space_passes);
  result.timing.weight_space_s = Since(weight_start);

  result.environment = DescribeRuntime();
  result.timing.total_s = Since(analysis_start);
  result.timing.extraction_s = session.cache().seconds;
  result.timing.forward_pass_s = x.seconds;
  result.timing.activation_cache = session.cache();
  result.timing.suffix_execution = model.suffix_execution();
  result.timing.suffix_execution_enabled = batching.suffix_execution() && !model.suffix_execution().layers.empty();
  if (!batching.suffix_execution()) result.timing.suffix_execution.fallback_reason = "turned off";
  result.summary = SummaryOf(result.layers, ComputeFlipBudgets(x.logits), fragile);
  return result;
}

}  // namespace synapse
