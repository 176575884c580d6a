#include "synapse/robustness/model_under_test.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>

#include "describe.h"
#include "number_text.h"
#include "report_json.h"
#include "seeds.h"
#include "synapse/activation_cache.h"
#include "synapse/analysis.h"
#include "synapse/dataset.h"
#include "synapse/error.h"
#include "synapse/experiments.h"
#include "synapse/extraction.h"
#include "synapse/memory_budget.h"
#include "synapse/model.h"
#include "synapse/probe.h"
#include "synapse/tokenizer.h"
#include "synapse/weight_perturbation.h"

namespace synapse::robustness {
namespace {

using json = nlohmann::ordered_json;

[[noreturn]] void BadQuery(const std::string& query, const std::string& what) {
  throw SpecError(311, query + ": " + what);
}

std::string ConfigKey(const Config& c) {
  std::ostringstream s;
  s << c.model() << '\n' << c.data() << '\n' << c.tokenizer() << '\n' << c.labels() << '\n';
  for (int l : c.layers()) s << l << ',';
  s << '\n'
    << c.seed() << ' ' << c.max_examples() << ' ' << c.max_length() << ' ' << c.batch_size() << ' '
    << static_cast<int>(c.pool()) << ' ' << c.confidence() << ' ' << c.random_seeds() << ' ' << c.probe().l1() << ' '
    << c.probe().l2() << ' ' << c.probe().max_iter() << ' ' << c.probe().tolerance() << ' ' << c.test_fraction() << ' '
    << c.pad_id() << ' ' << c.adaptive();
  return s.str();
}

}  // namespace

class ModelUnderTest::Impl {
 public:
  // The rows are read before the model is loaded: the load-time dry run feeds the first
  // row's ids, valid in the model's vocabulary (the fixed ids 5..9 are not, in a model
  // with a vocabulary of five), as synapse analyze and predict do.
  explicit Impl(const Config& c) : Impl(c, ReadRows(c)) {}

  Impl(Config c, Dataset set) : config(std::move(c)), model(Model::Load(config.model(), DryRunOn(set))) {
    TakeRows(std::move(set));
  }

  Config config;
  Model model;
  std::vector<Example> examples;
  std::vector<int64_t> labels;
  std::vector<std::string> names;
  BatchOptions batching;
  std::unique_ptr<HeadReplay> head_replay;  // the head's input, captured on first use
  std::string head_replay_weight;
  std::vector<int> layers;  // captured, resolved
  int64_t rows_read = 0;

  // Filled on first use.
  bool extracted = false;
  Extraction extraction;
  CacheLookup cache;
  std::vector<int64_t> base;
  Metrics baseline;
  std::optional<Split> split;
  struct LayerState {
    bool probed = false;
    ProbeFit fit;
    NeuronRanking ranking;
    double probe_seconds = 0;
    std::optional<NeuronStats> stats;
  };
  std::map<int, LayerState> layer_state;
  std::map<std::string, Outcome> outcomes;
  std::map<std::string, ProbeOutcome> probes;
  std::vector<std::pair<int, json>> rows;  // (layer or −1, report row) per query run
  std::recursive_mutex mutex;
  double passes = 0;                     // example-passes spent
  std::map<int64_t, int64_t> base_part;  // baseline predictions of examples run before the extraction

  int64_t num_classes() const { return static_cast<int64_t>(names.size()); }

  static Dataset ReadRows(const Config& config) {
    return LoadDataset(DatasetSpec()
                           .data(config.data())
                           .tokenizer(config.tokenizer())
                           .max_length(config.max_length())
                           .labels(config.labels())
                           .label_use(LabelUse::kRequired)
                           .max_examples(config.max_examples())
                           .seed(config.seed())
                           .tokenizer_hint("Config().tokenizer(PATH), SYNAPSE_TOKENIZER or --synapse_tokenizer")
                           .labels_hint("Config().labels(PATH), SYNAPSE_LABELS or --synapse_labels"));
  }

  static ModelOptions DryRunOn(const Dataset& set) {
    ModelOptions options;
    if (!set.rows.empty()) options.dry_run_ids(set.rows.front().example.input_ids);
    return options;
  }

  void TakeRows(Dataset set) {
    rows_read = set.total;
    const int64_t pad = config.pad_id() >= 0 ? config.pad_id() : set.pad_id;
    names = set.class_names;
    if (names.empty()) {
      int64_t classes = model.num_classes();
      for (const DataRow& r : set.rows) classes = std::max(classes, r.label_index + 1);
      for (int64_t c = 0; c < classes; ++c) names.push_back(std::to_string(c));
    }
    labels = set.labels();
    examples = set.examples();
    if (model.num_classes() >= 0 && model.num_classes() != num_classes()) {
      throw DataError(209, config.labels() + ": " + std::to_string(names.size()) + " class names for a model with " +
                               std::to_string(model.num_classes()) + " classes");
    }
    batching.pool(config.pool()).batch_size(config.batch_size()).pad_id(pad).seed(config.seed());
    // Queries run one configuration at a time: each batch's cut values are kept across them
    // (a quarter of the memory budget), so that a query runs only the layers after its own.
    batching.suffix_cache(std::make_shared<SuffixCache>(DefaultMemoryBudget() / 4));
    const int count = static_cast<int>(model.layers().size());
    for (int l : config.layers()) {
      const int index = l < 0 ? count + l : l;
      if (index < 0 || index >= count) {
        throw UsageError(403, "Config().layers(): no layer " + std::to_string(l) + " in a model of " +
                                  std::to_string(count) + " layers");
      }
      if (std::find(layers.begin(), layers.end(), index) == layers.end()) layers.push_back(index);
    }
    if (config.layers().empty()) {
      for (int i = 0; i < count; ++i) layers.push_back(i);
    }
    std::sort(layers.begin(), layers.end());
  }

  void EnsureExtracted() {
    if (extracted) return;
    extraction = ExtractCached(model, examples, batching, layers, config.cache_dir(), &cache);
    if (extraction.logits.cols() != num_classes()) {
      throw DataError(209, config.data() + ": the model gives " + std::to_string(extraction.logits.cols()) +
                               " logits but there are " + std::to_string(names.size()) + " classes");
    }
    passes += static_cast<double>(examples.size());
    base = extraction.Predictions();
    baseline = Score(base, labels, base, num_classes(), config.confidence());
    extracted = true;
  }

  // The cost model of docs/gate.md, after Model::RunEach: one plan runs one whole forward;
  // several share one unperturbed forward and each runs only the layers after its
  // intervened one (a plan that intervenes on no layer, none).
  double PlanShare(size_t plans, int layer) const {
    if (plans <= 1) return plans == 1 ? 1.0 : 0.0;
    const double count = static_cast<double>(model.layers().size());
    const double suffix = layer < 0 ? 0.0 : (count - 1 - layer) / count;
    return 1 + static_cast<double>(plans) * suffix;
  }

  // RunPlans over every example, or over `subset`, counting what it costs.
  std::vector<Eigen::MatrixXf> Runs(const std::vector<Plan>& plans, const BatchOptions& b, int layer,
                                    const std::vector<int64_t>* subset = nullptr) {
    const double n = static_cast<double>(subset ? subset->size() : examples.size());
    passes += n * PlanShare(plans.size(), layer);
    return subset ? RunPlansOn(model, examples, *subset, plans, b) : RunPlans(model, examples, plans, b);
  }

  int ResolveLayer(const std::string& query, int layer) {
    const int count = static_cast<int>(model.layers().size());
    const int index = layer < 0 ? count + layer : layer;
    if (index < 0 || index >= count) {
      BadQuery(query, "no layer " + std::to_string(layer) + ": the model has " + std::to_string(count) +
                          " layers (0.." + std::to_string(count - 1) + ", or −1 for the last)");
    }
    if (std::find(layers.begin(), layers.end(), index) == layers.end()) {
      std::string captured;
      for (int l : layers) captured += (captured.empty() ? "" : ", ") + std::to_string(l);
      BadQuery(query, "layer " + std::to_string(index) + " is not in Config().layers() (" + captured + ")");
    }
    return index;
  }

  int64_t ClassIndex(const std::string& query, const std::string& name) {
    auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) {
      std::string all;
      for (const std::string& n : names) all += (all.empty() ? "" : ", ") + n;
      BadQuery(query, "no class \"" + name + "\" (classes: " + all + ")");
    }
    return it - names.begin();
  }

  LayerState& Probed(int layer) {
    EnsureExtracted();
    LayerState& s = layer_state[layer];
    if (s.probed) return s;
    if (!split) split = StratifiedSplit(labels, config.test_fraction(), DeriveSeed(config.seed(), {kSeedSplit}));
    const auto start = std::chrono::steady_clock::now();
    s.fit = FitProbe(extraction.activations.at(layer), labels, num_classes(), *split, config.probe());
    s.probe_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    s.ranking = RankNeurons(s.fit);
    s.probed = true;
    return s;
  }

  const NeuronStats& Stats(int layer) {
    EnsureExtracted();
    LayerState& s = layer_state[layer];
    if (!s.stats) s.stats = ComputeNeuronStats(extraction.activations.at(layer));
    return *s.stats;
  }

  int64_t Width(int layer) {
    EnsureExtracted();
    return extraction.activations.at(layer).cols();
  }

  const std::string& LayerName(int layer) const { return model.layers()[static_cast<size_t>(layer)].name; }

  // Rates of class c from metrics whose recall came from integer counts.
  static Rate RecallOf(const Metrics& m, size_t c) {
    const int64_t n = m.support[c];
    return Rate{n > 0 ? std::llround(m.recall[c] * static_cast<double>(n)) : 0, n};
  }

  // What several runs of one configuration measured: their pooled metrics (for the report
  // row) and the outcome the matchers read, derived from them.
  struct Measurement {
    Outcome outcome;
    Metrics metrics;
  };
  Measurement Measure(const std::string& query, const std::vector<Eigen::MatrixXf>& runs) {
    std::vector<Metrics> each;
    for (const Eigen::MatrixXf& l : runs) {
      each.push_back(Score(ArgMaxRows(l), labels, base, num_classes(), config.confidence()));
    }
    const size_t n = labels.size();
    Measurement m;
    m.metrics = PoolMetrics(each, static_cast<int64_t>(n), config.confidence());
    Outcome& o = m.outcome;
    o.query = query;
    o.confidence = config.confidence();
    o.accuracy = Rate{m.metrics.correct, m.metrics.n};
    o.baseline_accuracy = Rate{baseline.correct, baseline.n};
    o.flips = Rate{m.metrics.flips, static_cast<int64_t>(n * runs.size())};
    for (size_t c = 0; c < names.size(); ++c) {
      o.recall[names[c]] = RecallOf(m.metrics, c);
      o.baseline_recall[names[c]] = RecallOf(baseline, c);
    }
    // Per example, the share of runs that got it right (runs are concatenated).
    o.correct.assign(n, 0.0);
    for (size_t i = 0; i < m.metrics.correct_each.size(); ++i) {
      o.correct[i % n] += m.metrics.correct_each[i] / static_cast<double>(runs.size());
    }
    if (runs.size() == 1) {
      const FlipBudgets b = ComputeFlipBudgets(runs.front());
      o.flip_budget.assign(b.min_flip.data(), b.min_flip.data() + b.min_flip.size());
    }
    return m;
  }

  std::vector<int64_t> CheckedK(const std::string& query, const Selection& s, int64_t width) {
    if (s.kind() == Selection::Kind::kExplicit) {
      if (s.neurons().empty()) BadQuery(query, "NeuronSet() is empty");
      for (int64_t j : s.neurons()) {
        if (j < 0 || j >= width) {
          BadQuery(query,
                   "neuron " + std::to_string(j) + " is out of range (the width is " + std::to_string(width) + ")");
        }
      }
      return s.neurons();
    }
    if (s.k() < 1 || s.k() > width) {
      BadQuery(query, "k = " + std::to_string(s.k()) + " is outside 1.." + std::to_string(width) +
                          " (the number of neurons there)");
    }
    return {};
  }

  // The neuron sets of an ablation, one per draw.
  std::vector<std::vector<int64_t>> AblationSets(const Query& q, const std::string& key, int layer) {
    const Selection& s = q.selection();
    const int64_t width = Width(layer);
    std::vector<int64_t> given = CheckedK(key, s, width);
    switch (s.kind()) {
      case Selection::Kind::kTop: {
        const LayerState& st = Probed(layer);
        if (s.class_name().empty()) return {st.ranking.Top(s.k())};
        return {st.ranking.TopOfClass(ClassIndex(key, s.class_name()), s.k())};
      }
      case Selection::Kind::kBottom:
        return {Probed(layer).ranking.Bottom(s.k())};
      case Selection::Kind::kRandom: {
        std::vector<std::vector<int64_t>> sets;
        for (int d = 0; d < s.draws(); ++d) sets.push_back(RandomControlNeurons(config.seed(), layer, width, s.k(), d));
        return sets;
      }
      case Selection::Kind::kExplicit:
        return {given};
    }
    return {};
  }

  std::vector<Plan> AblationPlans(const Query& q, int layer, const std::vector<std::vector<int64_t>>& sets) {
    std::vector<Plan> plans;
    for (const std::vector<int64_t>& set : sets) {
      Intervention iv = q.to_mean() ? Intervention::Mean(Site::Layer(layer), Stats(layer).mean, Neurons::Of(set))
                                    : Intervention::Zero(Site::Layer(layer), Neurons::Of(set));
      iv.positions(q.pooled_only() ? Positions::kPooled : Positions::kAll);
      plans.push_back({iv});
    }
    return plans;
  }

  Intervention NoiseIntervention(const Query& q, const std::string& key, int layer) {
    if (!(q.amount() >= 0) || !std::isfinite(q.amount())) BadQuery(key, "σ must be a non-negative number");
    const NeuronStats& st = Stats(layer);
    std::vector<float> sigmas(st.stddev.size());
    for (size_t j = 0; j < sigmas.size(); ++j) sigmas[j] = static_cast<float>(q.amount()) * st.stddev[j];
    Intervention iv = Intervention::Noise(Site::Layer(layer), sigmas);
    iv.positions(q.pooled_only() ? Positions::kPooled : Positions::kAll);
    return iv;
  }

  // Noise draw d's batching: the first draw is the analysis's own (seeded by the config's seed).
  BatchOptions NoiseBatching(int d) const {
    BatchOptions b = batching;
    if (d > 0) b.seed(DeriveSeed(config.seed(), {kSeedNoiseDraw, static_cast<uint64_t>(d)}));
    return b;
  }

  Outcome RunAblation(const Query& q, const std::string& key, std::weak_ptr<ModelUnderTest> self) {
    const int layer = ResolveLayer(key, q.layer());
    const std::vector<std::vector<int64_t>> sets = AblationSets(q, key, layer);
    const std::vector<Eigen::MatrixXf> logits = Runs(AblationPlans(q, layer, sets), batching, layer);
    const int64_t k = static_cast<int64_t>(sets.front().size());
    Measurement m = Measure(key, logits);
    json row;
    row["query"] = key;
    row["layer"] = layer;
    static const char* kSelections[] = {"top", "bottom", "random", "explicit"};
    const Selection& s = q.selection();
    row["selection"] = s.kind() == Selection::Kind::kTop && !s.class_name().empty()
                           ? "class_top"
                           : kSelections[static_cast<int>(s.kind())];
    if (!s.class_name().empty()) row["class"] = s.class_name();
    row["k"] = k;
    row["op"] = q.to_mean() ? "mean" : "zero";
    if (sets.size() == 1) row["neurons"] = sets.front();
    if (s.kind() == Selection::Kind::kRandom) row["draws"] = sets.size();
    row["positions"] = q.pooled_only() ? "pooled" : "all";
    row["metrics"] = MetricsJson(m.metrics, names, &baseline);
    Outcome& o = m.outcome;
    o.what = internal::DescribeExperiment(row, layer, LayerName(layer));
    o.target_class = s.class_name();
    if (s.kind() != Selection::Kind::kRandom) {
      // The control: the same number of random neurons, same layer, positions and value.
      Query control = q;
      control.selection_ = RandomK(k).Seeds(config.random_seeds());
      o.random_control = [self, control]() -> Outcome {
        std::shared_ptr<ModelUnderTest> model = self.lock();
        if (!model) throw SpecError(311, control.ToString() + ": the model under test is gone");
        return model->Run(control);
      };
    }
    rows.emplace_back(layer, row);
    return std::move(m.outcome);
  }

  Outcome RunNoise(const Query& q, const std::string& key) {
    const int layer = ResolveLayer(key, q.layer());
    const Intervention iv = NoiseIntervention(q, key, layer);
    std::vector<Eigen::MatrixXf> logits;
    for (int d = 0; d < q.draws(); ++d) logits.push_back(Runs({Plan{iv}}, NoiseBatching(d), layer)[0]);
    Measurement m = Measure(key, logits);
    json row;
    row["query"] = key;
    row["layer"] = layer;
    row["selection"] = "noise";
    row["k"] = Width(layer);
    row["op"] = "noise";
    row["sigma"] = q.amount();
    row["seed"] = config.seed();
    if (q.draws() > 1) row["draws"] = q.draws();
    row["positions"] = q.pooled_only() ? "pooled" : "all";
    row["metrics"] = MetricsJson(m.metrics, names, &baseline);
    Outcome& o = m.outcome;
    o.what = internal::DescribeExperiment(row, layer, LayerName(layer));
    rows.emplace_back(layer, row);
    return std::move(m.outcome);
  }

  Outcome RunLogitShift(const std::string& key, double budget) {
    if (!(budget >= 0) || !std::isfinite(budget)) BadQuery(key, "the budget must be a non-negative number");
    EnsureExtracted();
    const FlipBudgets b = ComputeFlipBudgets(extraction.logits);
    Outcome o = Measure(key, {extraction.logits}).outcome;
    // Every example whose label a shift of `budget` can change counts as flipped, and as
    // wrong: the worst case for each metric.
    int64_t flips = 0, correct = 0;
    std::map<std::string, int64_t> hits;
    for (size_t i = 0; i < labels.size(); ++i) {
      const double need = b.min_flip(static_cast<Eigen::Index>(i));
      const bool flippable = need <= budget;
      flips += flippable;
      const bool right = base[i] == labels[i] && !flippable;
      o.correct[i] = right ? 1.0 : 0.0;
      correct += right;
      hits[names[static_cast<size_t>(labels[i])]] += right;
      o.flip_budget[i] = std::max(0.0, need - budget);
    }
    o.accuracy.successes = correct;
    o.flips.successes = flips;
    for (auto& [name, rate] : o.recall) rate.successes = hits[name];
    o.what = "the worst change of at most " + Shortest(budget) + " to each logit (L∞)";
    json row;
    row["query"] = key;
    row["budget"] = budget;
    row["flips"] = flips;
    row["accuracy"] = o.accuracy.value();
    rows.emplace_back(-1, row);
    return o;
  }

  // The head columns each draw of a HeadWeightScale query scales.
  std::vector<std::vector<int64_t>> HeadSets(const Query& q, const std::string& key, const ClassificationHead& head,
                                             int64_t c) {
    const Eigen::MatrixXf w = model.ParameterValues(head.weight);
    const Selection& s = q.selection();
    std::vector<int64_t> given = CheckedK(key, s, head.inputs);
    if (!s.class_name().empty()) BadQuery(key, "HeadWeightScale takes the class as its first argument, not OfClass()");
    std::vector<std::vector<int64_t>> sets;
    std::vector<int64_t> order(static_cast<size_t>(head.inputs));
    for (int64_t j = 0; j < head.inputs; ++j) order[static_cast<size_t>(j)] = j;
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return w(c, a) > w(c, b); });
    switch (s.kind()) {
      case Selection::Kind::kTop:
        sets.emplace_back(order.begin(), order.begin() + s.k());
        break;
      case Selection::Kind::kBottom:
        sets.emplace_back(order.rbegin(), order.rbegin() + s.k());
        break;
      case Selection::Kind::kRandom:
        for (int d = 0; d < s.draws(); ++d) {
          sets.push_back(
              RandomNeurons(head.inputs, s.k(),
                            DeriveSeed(config.seed(), {kSeedHeadColumns, static_cast<uint64_t>(c),
                                                       static_cast<uint64_t>(s.k()), static_cast<uint64_t>(d)})));
        }
        break;
      case Selection::Kind::kExplicit:
        sets.push_back(given);
        break;
    }
    return sets;
  }

  // The head's input, captured on first use (one pass up to the head), for a head weight.
  const HeadReplay& HeadReplayFor(const ClassificationHead& head) {
    if (!head_replay || head_replay_weight != head.weight) {
      head_replay = std::make_unique<HeadReplay>(model, examples, batching, head);
      head_replay_weight = head.weight;
    }
    return *head_replay;
  }

  // From the head's captured input when the logits are its output (no forward pass, and the
  // model is not changed); else a forward pass under the change. With `subset`, the rows of
  // those examples, in its order.
  std::vector<Eigen::MatrixXf> HeadScaleLogits(const Query& q, const ClassificationHead& head, int64_t c,
                                               const std::vector<std::vector<int64_t>>& sets,
                                               const std::vector<int64_t>* subset = nullptr) {
    const HeadReplay& replay = HeadReplayFor(head);
    std::vector<Eigen::MatrixXf> logits;
    for (const std::vector<int64_t>& cols : sets) {
      if (replay.available()) {
        WeightPerturbation perturb = WeightPerturbation::Copies(model);
        perturb.ScaleEntries(head.weight, c, cols, q.amount());
        Eigen::MatrixXf all = replay.Logits(perturb);
        if (subset) {
          Eigen::MatrixXf rows(static_cast<Eigen::Index>(subset->size()), all.cols());
          for (size_t r = 0; r < subset->size(); ++r) rows.row(static_cast<Eigen::Index>(r)) = all.row((*subset)[r]);
          all = std::move(rows);
        }
        logits.push_back(std::move(all));
        continue;
      }
      WeightPerturbation perturb(model);
      perturb.ScaleEntries(head.weight, c, cols, q.amount());
      logits.push_back(Runs({Plan{}}, batching, -1, subset)[0]);
    }
    return logits;
  }

  Outcome RunHeadScale(const Query& q, const std::string& key) {
    EnsureExtracted();
    if (!std::isfinite(q.amount())) BadQuery(key, "the factor must be a finite number");
    const ClassificationHead head = FindClassificationHead(model);
    const int64_t c = ClassIndex(key, q.class_name());
    const Selection& s = q.selection();
    const std::vector<std::vector<int64_t>> sets = HeadSets(q, key, head, c);
    const std::vector<Eigen::MatrixXf> logits = HeadScaleLogits(q, head, c, sets);
    Measurement m = Measure(key, logits);
    Outcome& o = m.outcome;
    const int64_t k = static_cast<int64_t>(sets.front().size());
    const char* which = s.kind() == Selection::Kind::kTop      ? "largest "
                        : s.kind() == Selection::Kind::kBottom ? "smallest "
                        : s.kind() == Selection::Kind::kRandom ? "random "
                                                               : "chosen ";
    o.what = "scaling class " + q.class_name() + "'s " + std::to_string(k) + " " + which + "head weights (" +
             head.weight + ") by " + Shortest(q.amount());
    o.target_class = q.class_name();
    json row;
    row["query"] = key;
    row["class"] = q.class_name();
    row["parameter"] = head.weight;
    row["columns"] = sets.front();
    row["factor"] = q.amount();
    row["metrics"] = MetricsJson(m.metrics, names, &baseline);
    rows.emplace_back(-1, row);
    return std::move(m.outcome);
  }

  Outcome RunBaseline(const std::string& key) {
    EnsureExtracted();
    return Measure(key, {extraction.logits}).outcome;
  }

  // The unperturbed predictions of `idx`: the extraction's, or, before it has run, a
  // forward over those examples alone.
  std::vector<int64_t> BaseOf(const std::vector<int64_t>& idx) {
    std::vector<int64_t> out(idx.size());
    if (extracted) {
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
      const Extraction part = Extract(model, subset, batching, {layers.back()});
      passes += static_cast<double>(missing.size());
      const std::vector<int64_t> predicted = part.Predictions();
      for (size_t k = 0; k < missing.size(); ++k) base_part[missing[k]] = predicted[k];
    }
    for (size_t k = 0; k < idx.size(); ++k) out[k] = base_part.at(idx[k]);
    return out;
  }

  ExampleOutcomes RunOn(const Query& q, const std::vector<int64_t>& idx) {
    const std::string key = q.ToString();
    for (int64_t i : idx) {
      if (i < 0 || i >= static_cast<int64_t>(examples.size())) {
        BadQuery(key, "example " + std::to_string(i) + " is not in the evaluation set");
      }
    }
    const double before = passes;
    ExampleOutcomes out;
    const size_t n = idx.size();
    out.correct.assign(n, 0.0);
    out.flipped.assign(n, 0.0);
    for (int64_t i : idx) out.labels.push_back(labels[static_cast<size_t>(i)]);
    std::vector<Eigen::MatrixXf> logits;
    switch (q.kind()) {
      case Query::Kind::kBaseline: {
        const std::vector<int64_t> predicted = BaseOf(idx);
        for (size_t k = 0; k < n; ++k) out.correct[k] = predicted[k] == out.labels[k];
        out.passes = passes - before;
        return out;
      }
      case Query::Kind::kLogitShift: {
        EnsureExtracted();
        const double budget = q.amount();
        if (!(budget >= 0) || !std::isfinite(budget)) BadQuery(key, "the budget must be a non-negative number");
        const FlipBudgets b = ComputeFlipBudgets(extraction.logits);
        for (size_t k = 0; k < n; ++k) {
          const size_t i = static_cast<size_t>(idx[k]);
          const bool flippable = b.min_flip(static_cast<Eigen::Index>(i)) <= budget;
          out.flipped[k] = flippable;
          out.correct[k] = base[i] == labels[i] && !flippable;
        }
        out.passes = passes - before;
        return out;
      }
      case Query::Kind::kAblate: {
        const int layer = ResolveLayer(key, q.layer());
        logits = Runs(AblationPlans(q, layer, AblationSets(q, key, layer)), batching, layer, &idx);
        break;
      }
      case Query::Kind::kNoise: {
        const int layer = ResolveLayer(key, q.layer());
        const Intervention iv = NoiseIntervention(q, key, layer);
        for (int d = 0; d < q.draws(); ++d) logits.push_back(Runs({Plan{iv}}, NoiseBatching(d), layer, &idx)[0]);
        break;
      }
      case Query::Kind::kHeadWeightScale: {
        EnsureExtracted();
        if (!std::isfinite(q.amount())) BadQuery(key, "the factor must be a finite number");
        const ClassificationHead head = FindClassificationHead(model);
        const int64_t c = ClassIndex(key, q.class_name());
        logits = HeadScaleLogits(q, head, c, HeadSets(q, key, head, c), &idx);
        break;
      }
    }
    const std::vector<int64_t> predicted_base = BaseOf(idx);
    const double draws = static_cast<double>(logits.size());
    for (const Eigen::MatrixXf& l : logits) {
      const std::vector<int64_t> predicted = ArgMaxRows(l);
      for (size_t k = 0; k < n; ++k) {
        out.correct[k] += (predicted[k] == out.labels[k]) / draws;
        out.flipped[k] += (predicted[k] != predicted_base[k]) / draws;
      }
    }
    out.passes = passes - before;
    return out;
  }

  double PassShare(const Query& q) {
    const std::string key = q.ToString();
    switch (q.kind()) {
      case Query::Kind::kBaseline:
      case Query::Kind::kLogitShift:
        return 0;
      case Query::Kind::kAblate: {
        const Selection& s = q.selection();
        const size_t draws = s.kind() == Selection::Kind::kRandom ? static_cast<size_t>(s.draws()) : 1;
        return PlanShare(draws, ResolveLayer(key, q.layer()));
      }
      case Query::Kind::kNoise:
        return q.draws() * PlanShare(1, ResolveLayer(key, q.layer()));
      case Query::Kind::kHeadWeightScale: {
        // Scored from the head's captured input where it can be: no pass per example.
        if (HeadReplayFor(FindClassificationHead(model)).available()) return 0;
        const Selection& s = q.selection();
        return (s.kind() == Selection::Kind::kRandom ? s.draws() : 1) * PlanShare(1, -1);
      }
    }
    return 0;
  }
};

ModelUnderTest::ModelUnderTest(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ModelUnderTest::~ModelUnderTest() = default;

namespace {
struct Registry {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<ModelUnderTest>> by_config;
  std::vector<std::shared_ptr<ModelUnderTest>> in_order;
};
Registry& TheRegistry() {
  static Registry* registry = new Registry;  // outlives every static that reports at exit
  return *registry;
}
}  // namespace

std::shared_ptr<ModelUnderTest> ModelUnderTest::Shared(const Config& config) {
  const Config resolved = ResolveConfig(config);
  const std::string key = ConfigKey(resolved);
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.by_config.find(key);
  if (it != r.by_config.end()) return it->second;
  std::shared_ptr<ModelUnderTest> m(new ModelUnderTest(std::make_unique<Impl>(resolved)));
  r.by_config[key] = m;
  r.in_order.push_back(m);
  return m;
}

std::vector<std::shared_ptr<ModelUnderTest>> ModelUnderTest::Loaded() {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.in_order;
}

const Config& ModelUnderTest::config() const { return impl_->config; }
const std::vector<std::string>& ModelUnderTest::class_names() const { return impl_->names; }
int64_t ModelUnderTest::num_examples() const { return static_cast<int64_t>(impl_->examples.size()); }
const std::vector<int64_t>& ModelUnderTest::labels() const { return impl_->labels; }
int ModelUnderTest::num_layers() const { return static_cast<int>(impl_->model.layers().size()); }

Query ModelUnderTest::Baseline() { return Query(shared_from_this(), Query::Kind::kBaseline, TopK(1)); }
Query ModelUnderTest::Ablate(const Selection& selection) {
  return Query(shared_from_this(), Query::Kind::kAblate, selection);
}
Query ModelUnderTest::Noise(double sigma) {
  Query q(shared_from_this(), Query::Kind::kNoise, TopK(1));
  q.amount_ = sigma;
  return q;
}
Query ModelUnderTest::LogitShift(double budget) {
  Query q(shared_from_this(), Query::Kind::kLogitShift, TopK(1));
  q.amount_ = budget;
  return q;
}
Query ModelUnderTest::HeadWeightScale(const std::string& class_name, const Selection& columns, double factor) {
  Query q(shared_from_this(), Query::Kind::kHeadWeightScale, columns);
  q.class_name_ = class_name;
  q.amount_ = factor;
  return q;
}
ProbeQuery ModelUnderTest::Probe(int layer) { return ProbeQuery(shared_from_this(), layer); }

Outcome ModelUnderTest::Run(const Query& q) {
  Impl& m = *impl_;
  std::lock_guard<std::recursive_mutex> lock(m.mutex);
  const std::string key = q.ToString();
  auto it = m.outcomes.find(key);
  if (it != m.outcomes.end()) return it->second;
  Outcome o;
  switch (q.kind()) {
    case Query::Kind::kBaseline:
      o = m.RunBaseline(key);
      break;
    case Query::Kind::kAblate:
      o = m.RunAblation(q, key, weak_from_this());
      break;
    case Query::Kind::kNoise:
      o = m.RunNoise(q, key);
      break;
    case Query::Kind::kLogitShift:
      o = m.RunLogitShift(key, q.amount());
      break;
    case Query::Kind::kHeadWeightScale:
      o = m.RunHeadScale(q, key);
      break;
  }
  return m.outcomes[key] = o;
}

ExampleOutcomes ModelUnderTest::RunOn(const Query& q, const std::vector<int64_t>& indices) {
  std::lock_guard<std::recursive_mutex> lock(impl_->mutex);
  return impl_->RunOn(q, indices);
}

Query ModelUnderTest::RandomControlOf(const Query& q) {
  Impl& m = *impl_;
  std::lock_guard<std::recursive_mutex> lock(m.mutex);
  const std::string key = q.ToString();
  if (q.kind() != Query::Kind::kAblate || q.selection().kind() == Selection::Kind::kRandom) {
    throw SpecError(311, key + ": a random control applies to Ablate(TopK / BottomK / NeuronSet) queries");
  }
  const int layer = m.ResolveLayer(key, q.layer());
  Query control = q;
  control.selection_ =
      RandomK(static_cast<int64_t>(m.AblationSets(q, key, layer).front().size())).Seeds(m.config.random_seeds());
  return control;
}

double ModelUnderTest::PassShare(const Query& q) {
  std::lock_guard<std::recursive_mutex> lock(impl_->mutex);
  return impl_->PassShare(q);
}

double ModelUnderTest::passes_spent() const { return impl_->passes; }
bool ModelUnderTest::extracted() const { return impl_->extracted; }

ProbeOutcome ModelUnderTest::Run(const ProbeQuery& q) {
  Impl& m = *impl_;
  std::lock_guard<std::recursive_mutex> lock(m.mutex);
  const std::string key = q.ToString();
  auto it = m.probes.find(key);
  if (it != m.probes.end()) return it->second;
  const int layer = m.ResolveLayer(key, q.layer());
  const Impl::LayerState& s = m.Probed(layer);
  ProbeOutcome o;
  o.layer = layer;
  o.layer_name = m.LayerName(layer);
  o.test_accuracy = Rate{std::llround(s.fit.test_accuracy * static_cast<double>(s.fit.test_size)), s.fit.test_size};
  o.train_accuracy = s.fit.train_accuracy;
  o.converged = s.fit.converged;
  o.iterations = s.fit.iterations;
  o.confidence = m.config.confidence();
  o.query = key;
  return m.probes[key] = o;
}

json ModelUnderTest::Report() const {
  Impl& m = *impl_;
  std::lock_guard<std::recursive_mutex> lock(m.mutex);
  json report;
  report["schema_version"] = kReportSchemaVersion;
  report["model"] = ModelJson(m.model);
  json data;
  data["path"] = m.config.data();
  data["tokenizer"] = m.config.tokenizer();
  data["labels"] = m.config.labels();
  data["rows_read"] = m.rows_read;
  data["examples"] = m.examples.size();
  data["examples_hash"] = ExamplesHash(m.examples, m.labels);
  data["classes"] = m.names;
  data["support"] = json::object();
  std::vector<int64_t> support(m.names.size(), 0);
  for (int64_t l : m.labels) ++support[static_cast<size_t>(l)];
  for (size_t c = 0; c < m.names.size(); ++c) data["support"][m.names[c]] = support[c];
  report["data"] = data;
  report["options"] = {{"pool", m.config.pool() == Pooling::kFirst  ? "first"
                                : m.config.pool() == Pooling::kLast ? "last"
                                                                    : "mean"},
                       {"batch_size", m.config.batch_size()},
                       {"pad_id", m.batching.pad_id()},  // the Config's, else the tokenizer's
                       {"seed", m.config.seed()},
                       {"layers", m.layers},
                       {"random_seeds", m.config.random_seeds()},
                       {"probe",
                        {{"l1", m.config.probe().l1()},
                         {"l2", m.config.probe().l2()},
                         {"max_iter", m.config.probe().max_iter()},
                         {"tolerance", m.config.probe().tolerance()},
                         {"test_fraction", m.config.test_fraction()}}},
                       {"confidence", m.config.confidence()}};
  if (!m.extracted) {
    report["baseline"] = nullptr;
    return report;
  }
  report["baseline"] = BaselineJson(m.baseline, m.base, m.labels, m.names, m.extraction.seconds);
  json layers = json::array();
  for (int layer : m.layers) {
    json lj;
    lj["index"] = layer;
    lj["name"] = m.LayerName(layer);
    lj["hidden"] = m.extraction.activations.at(layer).cols();
    auto st = m.layer_state.find(layer);
    if (st != m.layer_state.end() && st->second.probed) {
      lj.update(ProbeJson(st->second.fit, st->second.ranking, m.names, {0.5, 0.9}, m.config.confidence(),
                          st->second.probe_seconds));
    }
    lj["experiments"] = json::array();
    for (const auto& [at, row] : m.rows) {
      if (at == layer) lj["experiments"].push_back(row);
    }
    layers.push_back(lj);
  }
  report["layers"] = layers;
  report["logit_space"] = LogitSpaceJson(m.extraction.logits, m.labels, m.names, m.config.confidence());
  json other = json::array();
  for (const auto& [at, row] : m.rows) {
    if (at < 0) other.push_back(row);
  }
  report["other_queries"] = other;
  report["environment"] = EnvironmentJson();
  return report;
}

// Queries.

Selection Selection::OfClass(std::string name) const {
  if (kind_ != Kind::kTop) throw SpecError(311, ToString() + ".OfClass(): only TopK has a per-class ranking");
  Selection s = *this;
  s.class_name_ = std::move(name);
  return s;
}

Selection Selection::Global() const {
  Selection s = *this;
  s.class_name_.clear();
  return s;
}

Selection Selection::Seeds(int draws) const {
  if (kind_ != Kind::kRandom) throw SpecError(311, ToString() + ".Seeds(): only RandomK draws");
  if (draws < 1) throw SpecError(311, ToString() + ".Seeds(" + std::to_string(draws) + "): at least 1 draw");
  Selection s = *this;
  s.draws_ = draws;
  return s;
}

std::string Selection::ToString() const {
  std::string s;
  switch (kind_) {
    case Kind::kTop:
      s = "TopK(" + std::to_string(k_) + ")";
      if (!class_name_.empty()) s += ".OfClass(\"" + class_name_ + "\")";
      break;
    case Kind::kBottom:
      s = "BottomK(" + std::to_string(k_) + ")";
      break;
    case Kind::kRandom:
      s = "RandomK(" + std::to_string(k_) + ")";
      if (draws_ != 1) s += ".Seeds(" + std::to_string(draws_) + ")";
      break;
    case Kind::kExplicit: {
      s = "NeuronSet({";
      for (size_t i = 0; i < neurons_.size(); ++i) s += (i ? ", " : "") + std::to_string(neurons_[i]);
      s += "})";
      break;
    }
  }
  return s;
}

Selection TopK(int64_t k) { return Selection(Selection::Kind::kTop, k); }
Selection BottomK(int64_t k) { return Selection(Selection::Kind::kBottom, k); }
Selection RandomK(int64_t k) { return Selection(Selection::Kind::kRandom, k); }
Selection NeuronSet(std::vector<int64_t> neurons) {
  Selection s(Selection::Kind::kExplicit, static_cast<int64_t>(neurons.size()));
  s.neurons_ = std::move(neurons);
  return s;
}

template <typename R>
void BasicQuery<R>::Require(bool ok, const char* method, const char* kinds) const {
  if (!ok) throw SpecError(311, ToString() + "." + method + ": only " + kinds + " queries take it");
}

template <typename R>
BasicQuery<R> BasicQuery<R>::AtLayer(int layer) const {
  Require(kind_ == Kind::kAblate || kind_ == Kind::kNoise, "AtLayer()", "Ablate and Noise");
  BasicQuery q = *this;
  q.layer_ = layer;
  return q;
}

template <typename R>
BasicQuery<R> BasicQuery<R>::PooledOnly() const {
  Require(kind_ == Kind::kAblate || kind_ == Kind::kNoise, "PooledOnly()", "Ablate and Noise");
  BasicQuery q = *this;
  q.pooled_only_ = true;
  return q;
}

template <typename R>
BasicQuery<R> BasicQuery<R>::ToMean() const {
  Require(kind_ == Kind::kAblate, "ToMean()", "Ablate");
  BasicQuery q = *this;
  q.to_mean_ = true;
  return q;
}

template <typename R>
BasicQuery<R> BasicQuery<R>::Seeds(int draws) const {
  Require(kind_ == Kind::kNoise, "Seeds()", "Noise (random neuron sets take RandomK(k).Seeds(n))");
  if (draws < 1) throw SpecError(311, ToString() + ".Seeds(" + std::to_string(draws) + "): at least 1 draw");
  BasicQuery q = *this;
  q.draws_ = draws;
  return q;
}

template <typename R>
R BasicQuery<R>::outcome() const {
  return model_->Run(*this);
}

template <typename R>
std::string BasicQuery<R>::ToString() const {
  std::string s;
  switch (kind_) {
    case Kind::kBaseline:
      return "Baseline()";
    case Kind::kAblate:
      s = "Ablate(" + selection_.ToString() + ")";
      break;
    case Kind::kNoise:
      s = "Noise(" + Shortest(amount_) + ")";
      break;
    case Kind::kLogitShift:
      return "LogitShift(" + Shortest(amount_) + ")";
    case Kind::kHeadWeightScale:
      return "HeadWeightScale(\"" + class_name_ + "\", " + selection_.ToString() + ", " + Shortest(amount_) + ")";
  }
  s += ".AtLayer(" + std::to_string(layer_) + ")";
  if (pooled_only_) s += ".PooledOnly()";
  if (to_mean_) s += ".ToMean()";
  if (draws_ != 1) s += ".Seeds(" + std::to_string(draws_) + ")";
  return s;
}

template <typename R>
R BasicProbeQuery<R>::outcome() const {
  return model_->Run(*this);
}

template class BasicQuery<Outcome>;
template class BasicProbeQuery<ProbeOutcome>;

}  // namespace synapse::robustness
