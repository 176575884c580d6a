#include "synapse/evaluation_session.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>

#include "util/seeds.h"
#include "synapse/error.h"
#include "synapse/model.h"
#include "synapse/stats.h"
#include "synapse/weight_perturbation.h"

namespace synapse {
namespace {

using Kind = Experiment::Kind;
using Selection = Experiment::Selection;

bool AtLayer(const Experiment& e) { return e.kind == Kind::kAblate || e.kind == Kind::kNoise; }

// Where one draw of one experiment's logits come from in a Run.
struct DrawSource {
  size_t experiment = 0;
  int draw = 0;
};

}  // namespace

class EvaluationSession::Impl {
 public:
  Impl(Model& m, std::vector<Example> x, std::vector<int64_t> y, std::vector<std::string> n, SessionOptions o)
      : model(m), examples(std::move(x)), labels(std::move(y)), names(std::move(n)), options(std::move(o)) {
    batching = options.batching();
    batching.seed(options.seed());
    const int count = static_cast<int>(model.layers().size());
    for (int l : options.layers()) {
      if (std::find(layers.begin(), layers.end(), l) == layers.end()) layers.push_back(l);
    }
    if (options.layers().empty()) {
      for (int i = 0; i < count; ++i) layers.push_back(i);
    }
    std::sort(layers.begin(), layers.end());
  }

  Model& model;
  std::vector<Example> examples;
  std::vector<int64_t> labels;
  std::vector<std::string> names;
  SessionOptions options;
  BatchOptions batching;
  std::vector<int> layers;

  std::optional<Extraction> extraction;
  CacheLookup cache;
  std::vector<int64_t> base;
  Metrics baseline;
  std::optional<Split> split;
  std::map<int, LayerProbe> probes;
  std::map<int, NeuronStats> stats;
  std::optional<FlipBudgets> budgets;
  std::optional<ClassificationHead> head;
  std::unique_ptr<HeadReplay> replay;
  std::map<int64_t, int64_t> base_part;  // predictions of examples run before the extraction
  double passes = 0;

  int64_t num_classes() const { return static_cast<int64_t>(names.size()); }

  const Extraction& Extract(const ProgressCallback& progress) {
    if (extraction) return *extraction;
    extraction = ExtractCached(model, examples, batching, options.layers().empty() ? std::vector<int>{} : layers,
                               options.cache_dir(), &cache, progress);
    passes += static_cast<double>(examples.size());
    base = extraction->Predictions();
    baseline = Score(base, labels, base, num_classes(), options.confidence());
    return *extraction;
  }

  const LayerProbe& Probe(int layer) {
    auto it = probes.find(layer);
    if (it != probes.end()) return it->second;
    const Extraction& x = Extract({});
    if (!split) split = StratifiedSplit(labels, options.test_fraction(), DeriveSeed(options.seed(), {kSeedSplit}));
    LayerProbe p;
    const auto start = std::chrono::steady_clock::now();
    p.fit = FitProbe(x.activations.at(layer), labels, num_classes(), *split, options.probe());
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    p.ranking = RankNeurons(p.fit);
    return probes[layer] = std::move(p);
  }

  const NeuronStats& Stats(int layer) {
    auto it = stats.find(layer);
    if (it != stats.end()) return it->second;
    return stats[layer] = ComputeNeuronStats(Extract({}).activations.at(layer));
  }

  int64_t Width(int layer) { return Extract({}).activations.at(layer).cols(); }

  const ClassificationHead& Head() {
    if (!head) head = FindClassificationHead(model);
    return *head;
  }

  const HeadReplay& Replay() {
    if (!replay) replay = std::make_unique<HeadReplay>(model, examples, batching, Head());
    return *replay;
  }

  // Noise draw d's batching: the first draw is the session's own seed.
  BatchOptions NoiseBatching(int d) const {
    BatchOptions b = batching;
    if (d > 0) b.seed(DeriveSeed(options.seed(), {kSeedNoiseDraw, static_cast<uint64_t>(d)}));
    return b;
  }

  [[noreturn]] void Bad(const Experiment& e, const std::string& what) {
    const std::string layer_name =
        e.layer >= 0 && e.layer < static_cast<int>(model.layers().size()) ? model.layers()[e.layer].name : "?";
    throw SpecError(311, (e.name.empty() ? Describe(e, layer_name, names) : e.name) + ": " + what);
  }

  void CheckColumns(const Experiment& e, int64_t width) {
    if (e.selection == Selection::kExplicit) {
      if (e.neurons.empty()) Bad(e, "NeuronSet() is empty");
      for (int64_t j : e.neurons) {
        if (j < 0 || j >= width) {
          Bad(e, "neuron " + std::to_string(j) + " is out of range (the width is " + std::to_string(width) + ")");
        }
      }
    } else if (e.k < 1 || e.k > width) {
      Bad(e,
          "k = " + std::to_string(e.k) + " is outside 1.." + std::to_string(width) + " (the number of neurons there)");
    }
    if (e.draws < 1) Bad(e, "at least 1 draw");
  }

  void CheckClass(const Experiment& e) {
    if (e.class_index < 0 || e.class_index >= num_classes()) {
      Bad(e, "no class " + std::to_string(e.class_index) + " (" + std::to_string(num_classes()) + " classes)");
    }
  }

  void Check(const Experiment& e) {
    if (AtLayer(e) && std::find(layers.begin(), layers.end(), e.layer) == layers.end()) {
      Bad(e, "layer " + std::to_string(e.layer) + " is not a captured layer");
    }
    switch (e.kind) {
      case Kind::kBaseline:
        return;
      case Kind::kAblate:
        CheckColumns(e, Width(e.layer));
        if (e.selection == Selection::kClassTop) CheckClass(e);
        return;
      case Kind::kNoise:
        if (!(e.sigma >= 0) || !std::isfinite(e.sigma)) Bad(e, "σ must be a non-negative number");
        if (e.draws < 1) Bad(e, "at least 1 draw");
        return;
      case Kind::kLogitShift:
        if (!(e.budget >= 0) || !std::isfinite(e.budget)) Bad(e, "the budget must be a non-negative number");
        return;
      case Kind::kHeadWeightScale:
        Extract({});
        if (!std::isfinite(e.factor)) Bad(e, "the factor must be a finite number");
        CheckClass(e);
        if (e.selection == Selection::kClassTop) Bad(e, "the head's class is the experiment's own class");
        CheckColumns(e, Head().inputs);
        return;
    }
  }

  // Each draw's neurons (Ablate) or head columns (HeadWeightScale), and the random draws' seeds.
  std::vector<std::vector<int64_t>> Sets(const Experiment& e, std::vector<uint64_t>* seeds) {
    if (e.kind == Kind::kHeadWeightScale) return HeadColumns(e, seeds);
    const int64_t width = Width(e.layer);
    switch (e.selection) {
      case Selection::kTop:
        return {Probe(e.layer).ranking.Top(e.k)};
      case Selection::kBottom:
        return {Probe(e.layer).ranking.Bottom(e.k)};
      case Selection::kClassTop:
        return {Probe(e.layer).ranking.TopOfClass(e.class_index, e.k)};
      case Selection::kExplicit:
        return {e.neurons};
      case Selection::kRandom: {
        std::vector<std::vector<int64_t>> sets;
        for (int d = 0; d < e.draws; ++d) {
          const uint64_t seed = DeriveSeed(options.seed(), {kSeedRandomNeurons, static_cast<uint64_t>(e.layer),
                                                            static_cast<uint64_t>(e.k), static_cast<uint64_t>(d)});
          seeds->push_back(seed);
          sets.push_back(RandomNeurons(width, e.k, seed));
        }
        return sets;
      }
    }
    return {};
  }

  // Class c's head columns by its weight, largest first (ties: lower index first).
  std::vector<std::vector<int64_t>> HeadColumns(const Experiment& e, std::vector<uint64_t>* seeds) {
    const ClassificationHead& h = Head();
    const int64_t c = e.class_index;
    if (e.selection == Selection::kExplicit) return {e.neurons};
    if (e.selection == Selection::kRandom) {
      std::vector<std::vector<int64_t>> sets;
      for (int d = 0; d < e.draws; ++d) {
        const uint64_t seed = DeriveSeed(options.seed(), {kSeedHeadColumns, static_cast<uint64_t>(c),
                                                          static_cast<uint64_t>(e.k), static_cast<uint64_t>(d)});
        seeds->push_back(seed);
        sets.push_back(RandomNeurons(h.inputs, e.k, seed));
      }
      return sets;
    }
    const Eigen::MatrixXf w = model.ParameterValues(h.weight);
    std::vector<int64_t> order(static_cast<size_t>(h.inputs));
    for (int64_t j = 0; j < h.inputs; ++j) order[static_cast<size_t>(j)] = j;
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return w(c, a) > w(c, b); });
    if (e.selection == Selection::kTop) return {std::vector<int64_t>(order.begin(), order.begin() + e.k)};
    return {std::vector<int64_t>(order.rbegin(), order.rbegin() + e.k)};
  }

  Plan LayerPlan(const Experiment& e, const std::vector<int64_t>* set) {
    const NeuronStats& st = Stats(e.layer);
    Intervention iv = Intervention::Zero(Site::Layer(e.layer), Neurons::All());
    if (e.kind == Kind::kNoise) {
      std::vector<float> sigmas(st.stddev.size());
      for (size_t j = 0; j < sigmas.size(); ++j) sigmas[j] = static_cast<float>(e.sigma) * st.stddev[j];
      iv = Intervention::Noise(Site::Layer(e.layer), sigmas);
    } else {
      iv = e.to_mean ? Intervention::Mean(Site::Layer(e.layer), st.mean, Neurons::Of(*set))
                     : Intervention::Zero(Site::Layer(e.layer), Neurons::Of(*set));
    }
    iv.positions(e.positions);
    return {iv};
  }

  std::vector<Eigen::MatrixXf> RunPlansOver(const std::vector<Plan>& plans, const BatchOptions& b,
                                            const std::vector<int64_t>* subset, const ProgressCallback& progress) {
    if (plans.empty()) return {};
    return subset ? RunPlansOn(model, examples, *subset, plans, b) : RunPlans(model, examples, plans, b, progress);
  }

  // The logits of each head-column set: from the head's captured input where it covers the
  // change (no pass, the model untouched), else a forward pass under the change.
  std::vector<Eigen::MatrixXf> HeadLogits(const Experiment& e, const std::vector<std::vector<int64_t>>& sets,
                                          const std::vector<int64_t>* subset) {
    const ClassificationHead& h = Head();
    const HeadReplay& r = Replay();
    std::vector<Eigen::MatrixXf> logits;
    for (const std::vector<int64_t>& cols : sets) {
      if (r.available()) {
        WeightPerturbation perturb = WeightPerturbation::Copies(model);
        perturb.ScaleEntries(h.weight, e.class_index, cols, e.factor);
        Eigen::MatrixXf all = r.Logits(perturb);
        if (subset) {
          Eigen::MatrixXf rows(static_cast<Eigen::Index>(subset->size()), all.cols());
          for (size_t i = 0; i < subset->size(); ++i) rows.row(static_cast<Eigen::Index>(i)) = all.row((*subset)[i]);
          all = std::move(rows);
        }
        logits.push_back(std::move(all));
        continue;
      }
      WeightPerturbation perturb(model);
      perturb.ScaleEntries(h.weight, e.class_index, cols, e.factor);
      logits.push_back(RunPlansOver({Plan{}}, batching, subset, {})[0]);
    }
    return logits;
  }

  // The result of draws' logits on the examples at `idx` (labels and base predictions in
  // that order).
  ExperimentResult Scored(const std::vector<Eigen::MatrixXf>& logits, const std::vector<int64_t>& y,
                          const std::vector<int64_t>& before) {
    ExperimentResult r;
    const size_t n = y.size();
    r.correct.assign(n, 0.0);
    r.flipped.assign(n, 0.0);
    const double draws = static_cast<double>(logits.size());
    for (const Eigen::MatrixXf& l : logits) {
      const std::vector<int64_t> predicted = ArgMaxRows(l);
      r.draws.push_back(Score(predicted, y, before, num_classes(), options.confidence()));
      for (size_t i = 0; i < n; ++i) {
        r.correct[i] += (predicted[i] == y[i]) / draws;
        r.flipped[i] += (predicted[i] != before[i]) / draws;
      }
    }
    r.pooled = PoolMetrics(r.draws, static_cast<int64_t>(n), options.confidence());
    if (logits.size() == 1) {
      const FlipBudgets b = ComputeFlipBudgets(logits.front());
      r.flip_budget.assign(b.min_flip.data(), b.min_flip.data() + b.min_flip.size());
    }
    return r;
  }

  // The worst case of a logit shift of e.budget: every example it can flip is flipped and
  // wrong.
  ExperimentResult WorstShift(const Experiment& e, const std::vector<int64_t>& idx) {
    const FlipBudgets& b = FlipBudgetsOf();
    ExperimentResult r;
    Metrics& m = r.pooled;
    m.support.assign(names.size(), 0);
    std::vector<int64_t> hits(names.size(), 0);
    for (int64_t i : idx) {
      const size_t k = static_cast<size_t>(i);
      const double need = b.min_flip(static_cast<Eigen::Index>(i));
      const bool flippable = need <= e.budget;
      const bool right_before = base[k] == labels[k];
      const bool right = right_before && !flippable;
      r.correct.push_back(right ? 1.0 : 0.0);
      r.flipped.push_back(flippable ? 1.0 : 0.0);
      r.flip_budget.push_back(std::max(0.0, need - e.budget));
      m.correct_each.push_back(right);
      ++m.n;
      m.correct += right;
      m.flips += flippable;
      m.lost += right_before && !right;
      ++m.support[static_cast<size_t>(labels[k])];
      hits[static_cast<size_t>(labels[k])] += right;
    }
    const double n = static_cast<double>(m.n);
    m.accuracy = m.n > 0 ? static_cast<double>(m.correct) / n : std::nan("");
    m.accuracy_ci = WilsonInterval(m.correct, m.n, options.confidence());
    for (size_t c = 0; c < names.size(); ++c) {
      m.recall.push_back(m.support[c] > 0 ? static_cast<double>(hits[c]) / static_cast<double>(m.support[c])
                                          : std::nan(""));
      m.recall_ci.push_back(WilsonInterval(hits[c], m.support[c], options.confidence()));
    }
    m.flip_rate = m.n > 0 ? static_cast<double>(m.flips) / n : 0;
    m.flip_rate_ci = WilsonInterval(m.flips, m.n, options.confidence());
    m.mcnemar_p = McNemarExactP(m.lost, m.gained);
    r.draws = {m};
    return r;
  }

  const FlipBudgets& FlipBudgetsOf() {
    if (!budgets) budgets = ComputeFlipBudgets(Extract({}).logits);
    return *budgets;
  }

  std::vector<int64_t> BaseOf(const std::vector<int64_t>& idx) {
    std::vector<int64_t> out(idx.size());
    if (extraction) {
      for (size_t k = 0; k < idx.size(); ++k) out[k] = base[static_cast<size_t>(idx[k])];
      return out;
    }
    std::vector<int64_t> missing;
    for (int64_t i : idx) {
      if (!base_part.count(i)) missing.push_back(i);
    }
    if (!missing.empty()) {
      std::vector<Example> subset;
      for (int64_t i : missing) subset.push_back(examples[static_cast<size_t>(i)]);
      const Extraction part = synapse::Extract(model, subset, batching, {layers.back()});
      passes += static_cast<double>(missing.size());
      const std::vector<int64_t> predicted = part.Predictions();
      for (size_t k = 0; k < missing.size(); ++k) base_part[missing[k]] = predicted[k];
    }
    for (size_t k = 0; k < idx.size(); ++k) out[k] = base_part.at(idx[k]);
    return out;
  }

  double PlanShare(size_t plans, int layer) const {
    if (plans <= 1) return plans == 1 ? 1.0 : 0.0;
    const double count = static_cast<double>(model.layers().size());
    const double suffix = layer < 0 ? 0.0 : (count - 1 - layer) / count;
    return 1 + static_cast<double>(plans) * suffix;
  }

  double PassShare(const Experiment& e) {
    switch (e.kind) {
      case Kind::kBaseline:
      case Kind::kLogitShift:
        return 0;
      case Kind::kAblate:
        return PlanShare(e.selection == Selection::kRandom ? static_cast<size_t>(e.draws) : 1, e.layer);
      case Kind::kNoise:
        return e.draws * PlanShare(1, e.layer);
      case Kind::kHeadWeightScale:
        if (Replay().available()) return 0;
        return (e.selection == Selection::kRandom ? e.draws : 1) * PlanShare(1, -1);
    }
    return 0;
  }

  std::vector<ExperimentResult> Run(const std::vector<Experiment>& experiments, const std::vector<int64_t>* subset,
                                    const ProgressCallback& progress);
};

std::vector<ExperimentResult> EvaluationSession::Impl::Run(const std::vector<Experiment>& experiments,
                                                           const std::vector<int64_t>* subset,
                                                           const ProgressCallback& progress) {
  for (const Experiment& e : experiments) Check(e);
  std::vector<int64_t> idx;
  if (subset) {
    idx = *subset;
  } else {
    idx.resize(examples.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int64_t>(i);
  }
  // Each experiment's draws: the plans of every layer experiment, noise draws after the
  // first grouped by their seed.
  const size_t count = experiments.size();
  std::vector<std::vector<std::vector<int64_t>>> sets(count);
  std::vector<std::vector<uint64_t>> seeds(count);
  std::vector<std::vector<Eigen::MatrixXf>> logits(count);
  std::map<int, std::vector<Plan>> plans;  // noise seed draw (0: the session's seed) → plans
  std::map<int, std::vector<DrawSource>> sources;
  for (size_t i = 0; i < count; ++i) {
    const Experiment& e = experiments[i];
    if (e.kind == Kind::kAblate || e.kind == Kind::kHeadWeightScale) sets[i] = Sets(e, &seeds[i]);
    if (e.kind == Kind::kAblate) {
      for (size_t d = 0; d < sets[i].size(); ++d) {
        plans[0].push_back(LayerPlan(e, &sets[i][d]));
        sources[0].push_back({i, static_cast<int>(d)});
      }
    }
    if (e.kind == Kind::kNoise) {
      for (int d = 0; d < e.draws; ++d) {
        plans[d].push_back(LayerPlan(e, nullptr));
        sources[d].push_back({i, d});
      }
    }
    logits[i].resize(e.kind == Kind::kNoise ? static_cast<size_t>(e.draws) : sets[i].size());
  }
  for (auto& [draw, group] : plans) {
    std::vector<Eigen::MatrixXf> out = RunPlansOver(group, NoiseBatching(draw), subset, draw == 0 ? progress : nullptr);
    for (size_t p = 0; p < out.size(); ++p) {
      const DrawSource& s = sources[draw][p];
      logits[s.experiment][static_cast<size_t>(s.draw)] = std::move(out[p]);
    }
  }
  std::vector<int64_t> y(idx.size());
  for (size_t k = 0; k < idx.size(); ++k) y[k] = labels[static_cast<size_t>(idx[k])];
  std::vector<ExperimentResult> results;
  for (size_t i = 0; i < count; ++i) {
    const Experiment& e = experiments[i];
    passes += static_cast<double>(idx.size()) * PassShare(e);
    if (e.kind == Kind::kLogitShift) {
      Extract({});
      results.push_back(WorstShift(e, idx));
      continue;
    }
    if (e.kind == Kind::kHeadWeightScale) logits[i] = HeadLogits(e, sets[i], subset);
    if (e.kind == Kind::kBaseline && !subset) logits[i] = {Extract({}).logits};
    const std::vector<int64_t> before = BaseOf(idx);
    ExperimentResult r;
    if (e.kind == Kind::kBaseline && subset) {
      // Before the extraction a subset's baseline is its own partial pass (BaseOf).
      r.correct.resize(idx.size());
      r.flipped.assign(idx.size(), 0.0);
      for (size_t k = 0; k < idx.size(); ++k) r.correct[k] = before[k] == y[k];
      r.draws = {Score(before, y, before, num_classes(), options.confidence())};
      r.pooled = r.draws.front();
    } else {
      r = Scored(logits[i], y, before);
    }
    r.neurons = std::move(sets[i]);
    r.seeds = std::move(seeds[i]);
    if (e.kind == Kind::kHeadWeightScale) r.parameter = Head().weight;
    if (AtLayer(e)) r.width = Width(e.layer);
    results.push_back(std::move(r));
  }
  return results;
}

EvaluationSession::EvaluationSession(Model& model, std::vector<Example> examples, std::vector<int64_t> labels,
                                     std::vector<std::string> class_names, SessionOptions options)
    : impl_(std::make_unique<Impl>(model, std::move(examples), std::move(labels), std::move(class_names),
                                   std::move(options))) {}
EvaluationSession::~EvaluationSession() = default;

Model& EvaluationSession::model() const { return impl_->model; }
const std::vector<Example>& EvaluationSession::examples() const { return impl_->examples; }
const std::vector<int64_t>& EvaluationSession::labels() const { return impl_->labels; }
const std::vector<std::string>& EvaluationSession::class_names() const { return impl_->names; }
const SessionOptions& EvaluationSession::options() const { return impl_->options; }
const std::vector<int>& EvaluationSession::layers() const { return impl_->layers; }
const Extraction& EvaluationSession::Extract(const ProgressCallback& progress) { return impl_->Extract(progress); }
bool EvaluationSession::extracted() const { return impl_->extraction.has_value(); }
const CacheLookup& EvaluationSession::cache() const { return impl_->cache; }
const std::vector<int64_t>& EvaluationSession::base_predictions() {
  impl_->Extract({});
  return impl_->base;
}
const Metrics& EvaluationSession::baseline() {
  impl_->Extract({});
  return impl_->baseline;
}
std::vector<int64_t> EvaluationSession::BasePredictionsOf(const std::vector<int64_t>& indices) {
  return impl_->BaseOf(indices);
}
const Split& EvaluationSession::split() {
  if (!impl_->split) {
    impl_->split =
        StratifiedSplit(impl_->labels, impl_->options.test_fraction(), DeriveSeed(impl_->options.seed(), {kSeedSplit}));
  }
  return *impl_->split;
}
const LayerProbe& EvaluationSession::Probe(int layer) { return impl_->Probe(layer); }
const LayerProbe* EvaluationSession::probed(int layer) const {
  auto it = impl_->probes.find(layer);
  return it == impl_->probes.end() ? nullptr : &it->second;
}
const NeuronStats& EvaluationSession::Stats(int layer) { return impl_->Stats(layer); }
const FlipBudgets& EvaluationSession::flip_budgets() { return impl_->FlipBudgetsOf(); }
const ClassificationHead& EvaluationSession::head() { return impl_->Head(); }
bool EvaluationSession::head_input_available() { return impl_->Replay().available(); }

std::vector<ExperimentResult> EvaluationSession::Run(const std::vector<Experiment>& experiments,
                                                     const ProgressCallback& progress) {
  return impl_->Run(experiments, nullptr, progress);
}

std::vector<ExperimentResult> EvaluationSession::RunOn(const std::vector<Experiment>& experiments,
                                                       const std::vector<int64_t>& indices) {
  for (int64_t i : indices) {
    if (i < 0 || i >= static_cast<int64_t>(impl_->examples.size())) {
      for (const Experiment& e : experiments)
        impl_->Bad(e, "example " + std::to_string(i) + " is not in the evaluation set");
    }
  }
  return impl_->Run(experiments, &indices, {});
}

double EvaluationSession::PassShare(const Experiment& e) { return impl_->PassShare(e); }
double EvaluationSession::passes_spent() const { return impl_->passes; }

}  // namespace synapse
