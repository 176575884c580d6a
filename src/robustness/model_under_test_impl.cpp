#include "synapse/robustness/model_under_test.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>

#include "engine/layer_index.h"
#include "util/number_text.h"
#include "report/report_json.h"
#include "util/seeds.h"
#include "synapse/activation_cache.h"
#include "synapse/analysis.h"
#include "synapse/dataset.h"
#include "synapse/error.h"
#include "synapse/evaluation_session.h"
#include "synapse/experiment.h"
#include "synapse/experiments.h"
#include "synapse/extraction.h"
#include "synapse/memory_budget.h"
#include "synapse/model.h"
#include "synapse/model_directory.h"
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
  explicit Impl(const Config& c) : Impl(c, OpenModelAndData(c.model(), RowsOf(c), ModelOptions(), c.pad_id())) {}

  Impl(Config c, OpenedModel opened) : config(std::move(c)), model(std::move(opened.model)) {
    names = std::move(opened.class_names);
    TakeRows(std::move(opened.data), opened.pad_id);
  }

  Config config;
  Model model;
  std::vector<std::string> names;
  std::vector<int> layers;  // captured, resolved
  int64_t rows_read = 0;
  // The experiments' engine: extraction, baseline, split, probes, statistics, head input.
  std::unique_ptr<EvaluationSession> session;
  bool checked = false;  // the extraction's logits against the class names
  std::map<std::string, Outcome> outcomes;
  std::map<std::string, ProbeOutcome> probes;
  std::vector<std::pair<int, json>> rows;  // (layer or −1, report row) per query run
  std::recursive_mutex mutex;

  int64_t num_classes() const { return static_cast<int64_t>(names.size()); }
  const std::vector<int64_t>& labels() const { return session->labels(); }
  size_t num_examples() const { return session->examples().size(); }

  static DatasetSpec RowsOf(const Config& config) {
    return DatasetSpec()
        .data(config.data())
        .tokenizer(config.tokenizer())
        .max_length(config.max_length())
        .labels(config.labels())
        .label_use(LabelUse::kRequired)
        .max_examples(config.max_examples())
        .seed(config.seed())
        .tokenizer_hint("Config().tokenizer(PATH), SYNAPSE_TOKENIZER or --synapse_tokenizer")
        .labels_hint("Config().labels(PATH), SYNAPSE_LABELS or --synapse_labels");
  }

  void TakeRows(Dataset set, int64_t pad) {
    rows_read = set.total;
    if (model.num_classes() >= 0 && model.num_classes() != num_classes()) {
      throw DataError(209, config.labels() + ": " + std::to_string(names.size()) + " class names for a model with " +
                               std::to_string(model.num_classes()) + " classes");
    }
    BatchOptions batching;
    batching.pool(config.pool()).batch_size(config.batch_size()).pad_id(pad).seed(config.seed());
    // Queries run one configuration at a time: each batch's cut values are kept across them
    // (a quarter of the memory budget), so that a query runs only the layers after its own.
    batching.suffix_cache(std::make_shared<SuffixCache>(DefaultMemoryBudget() / 4));
    const int count = static_cast<int>(model.layers().size());
    for (int l : config.layers()) {
      const int index = LayerIndex(l, count);
      if (index < 0) throw UsageError(403, "Config().layers(): " + NoSuchLayerText(l, count, "the model"));
      if (std::find(layers.begin(), layers.end(), index) == layers.end()) layers.push_back(index);
    }
    if (config.layers().empty()) {
      for (int i = 0; i < count; ++i) layers.push_back(i);
    }
    std::sort(layers.begin(), layers.end());
    session = std::make_unique<EvaluationSession>(model, set.examples(), set.labels(), names,
                                                  SessionOptions()
                                                      .batching(batching)
                                                      .seed(config.seed())
                                                      .layers(layers)
                                                      .probe(config.probe())
                                                      .test_fraction(config.test_fraction())
                                                      .confidence(config.confidence())
                                                      .cache_dir(config.cache_dir()));
  }

  const Extraction& Extracted() {
    const Extraction& x = session->Extract();
    if (!checked && x.logits.cols() != num_classes()) {
      throw DataError(209, config.data() + ": the model gives " + std::to_string(x.logits.cols()) +
                               " logits but there are " + std::to_string(names.size()) + " classes");
    }
    checked = true;
    return x;
  }

  int ResolveLayer(const std::string& query, int layer) {
    const int count = static_cast<int>(model.layers().size());
    const int index = LayerIndex(layer, count);
    if (index < 0) BadQuery(query, NoSuchLayerText(layer, count, "the model"));
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

  const std::string& LayerName(int layer) const { return model.layers()[static_cast<size_t>(layer)].name; }

  // The query as the typed experiment the session runs, named by the query.
  Experiment ToExperiment(const Query& q, const std::string& key) {
    Experiment e;
    e.name = key;
    const Selection& s = q.selection();
    auto select = [&](Experiment::Selection top) {
      static const Experiment::Selection kBy[] = {Experiment::Selection::kTop, Experiment::Selection::kBottom,
                                                  Experiment::Selection::kRandom, Experiment::Selection::kExplicit};
      e.selection = s.kind() == Selection::Kind::kTop ? top : kBy[static_cast<int>(s.kind())];
      e.k = s.kind() == Selection::Kind::kExplicit ? static_cast<int64_t>(s.neurons().size()) : s.k();
      e.neurons = s.neurons();
      if (s.kind() == Selection::Kind::kRandom) e.draws = s.draws();
    };
    switch (q.kind()) {
      case Query::Kind::kBaseline:
        break;
      case Query::Kind::kAblate:
        e.kind = Experiment::Kind::kAblate;
        e.layer = ResolveLayer(key, q.layer());
        select(s.class_name().empty() ? Experiment::Selection::kTop : Experiment::Selection::kClassTop);
        if (!s.class_name().empty()) e.class_index = ClassIndex(key, s.class_name());
        e.to_mean = q.to_mean();
        e.positions = q.pooled_only() ? Positions::kPooled : Positions::kAll;
        break;
      case Query::Kind::kNoise:
        e.kind = Experiment::Kind::kNoise;
        e.layer = ResolveLayer(key, q.layer());
        e.sigma = q.amount();
        e.draws = q.draws();
        e.positions = q.pooled_only() ? Positions::kPooled : Positions::kAll;
        break;
      case Query::Kind::kLogitShift:
        e.kind = Experiment::Kind::kLogitShift;
        e.budget = q.amount();
        break;
      case Query::Kind::kHeadWeightScale:
        e.kind = Experiment::Kind::kHeadWeightScale;
        if (!s.class_name().empty())
          BadQuery(key, "HeadWeightScale takes the class as its first argument, not OfClass()");
        e.class_index = ClassIndex(key, q.class_name());
        select(Experiment::Selection::kTop);
        e.factor = q.amount();
        break;
    }
    return e;
  }

  // Rates of class c from metrics whose recall came from integer counts.
  static Rate RecallOf(const Metrics& m, size_t c) {
    const int64_t n = m.support[c];
    return Rate{n > 0 ? std::llround(m.recall[c] * static_cast<double>(n)) : 0, n};
  }

  // What the matchers read of a result.
  Outcome OutcomeOf(const Experiment& e, const ExperimentResult& r) {
    const Metrics& baseline = session->baseline();
    Outcome o;
    o.query = e.name;
    o.confidence = config.confidence();
    o.accuracy = Rate{r.pooled.correct, r.pooled.n};
    o.baseline_accuracy = Rate{baseline.correct, baseline.n};
    o.flips = Rate{r.pooled.flips, static_cast<int64_t>(num_examples() * r.draws.size())};
    for (size_t c = 0; c < names.size(); ++c) {
      o.recall[names[c]] = RecallOf(r.pooled, c);
      o.baseline_recall[names[c]] = RecallOf(baseline, c);
    }
    o.correct = r.correct;
    o.flip_budget = r.flip_budget;
    o.what = Describe(e, e.layer >= 0 ? LayerName(e.layer) : "", names, r.parameter);
    if (e.kind == Experiment::Kind::kAblate && e.selection == Experiment::Selection::kClassTop) {
      o.target_class = names[static_cast<size_t>(e.class_index)];
    }
    if (e.kind == Experiment::Kind::kHeadWeightScale) o.target_class = names[static_cast<size_t>(e.class_index)];
    return o;
  }

  Outcome Run(const Query& q, const std::string& key, std::weak_ptr<ModelUnderTest> self) {
    const Experiment e = ToExperiment(q, key);
    Extracted();
    const ExperimentResult r = std::move(session->Run({e}).front());
    Outcome o = OutcomeOf(e, r);
    if (e.kind == Experiment::Kind::kAblate && e.selection != Experiment::Selection::kRandom) {
      // The control: the same number of random neurons, same layer, positions and value.
      Query control = q;
      control.selection_ = RandomK(e.k).Seeds(config.random_seeds());
      o.random_control = [self, control]() -> Outcome {
        std::shared_ptr<ModelUnderTest> model = self.lock();
        if (!model) throw SpecError(311, control.ToString() + ": the model under test is gone");
        return model->Run(control);
      };
    }
    if (e.kind != Experiment::Kind::kBaseline) {
      const bool at_layer = e.kind == Experiment::Kind::kAblate || e.kind == Experiment::Kind::kNoise;
      rows.emplace_back(at_layer ? e.layer : -1,
                        ExperimentJson(e, r, names, session->baseline(), session->options().seed()));
    }
    return o;
  }

  ExampleOutcomes RunOn(const Query& q, const std::vector<int64_t>& idx) {
    const std::string key = q.ToString();
    for (int64_t i : idx) {
      if (i < 0 || i >= static_cast<int64_t>(num_examples())) {
        BadQuery(key, "example " + std::to_string(i) + " is not in the evaluation set");
      }
    }
    const double before = session->passes_spent();
    const Experiment e = ToExperiment(q, key);
    if (e.kind != Experiment::Kind::kBaseline) Extracted();
    ExperimentResult r = std::move(session->RunOn({e}, idx).front());
    ExampleOutcomes out;
    out.correct = std::move(r.correct);
    out.flipped = std::move(r.flipped);
    for (int64_t i : idx) out.labels.push_back(labels()[static_cast<size_t>(i)]);
    out.passes = session->passes_spent() - before;
    return out;
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
int64_t ModelUnderTest::num_examples() const { return static_cast<int64_t>(impl_->num_examples()); }
const std::vector<int64_t>& ModelUnderTest::labels() const { return impl_->labels(); }
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
  Outcome o = m.Run(q, key, weak_from_this());
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
  Query control = q;
  control.selection_ = RandomK(m.ToExperiment(q, key).k).Seeds(m.config.random_seeds());
  return control;
}

double ModelUnderTest::PassShare(const Query& q) {
  std::lock_guard<std::recursive_mutex> lock(impl_->mutex);
  return impl_->session->PassShare(impl_->ToExperiment(q, q.ToString()));
}

double ModelUnderTest::passes_spent() const { return impl_->session->passes_spent(); }
bool ModelUnderTest::extracted() const { return impl_->session->extracted(); }

ProbeOutcome ModelUnderTest::Run(const ProbeQuery& q) {
  Impl& m = *impl_;
  std::lock_guard<std::recursive_mutex> lock(m.mutex);
  const std::string key = q.ToString();
  auto it = m.probes.find(key);
  if (it != m.probes.end()) return it->second;
  const int layer = m.ResolveLayer(key, q.layer());
  m.Extracted();
  const LayerProbe& s = m.session->Probe(layer);
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
  EvaluationSession& session = *m.session;
  data["examples"] = m.num_examples();
  data["examples_hash"] = ExamplesHash(session.examples(), m.labels());
  data["classes"] = m.names;
  data["support"] = json::object();
  std::vector<int64_t> support(m.names.size(), 0);
  for (int64_t l : m.labels()) ++support[static_cast<size_t>(l)];
  for (size_t c = 0; c < m.names.size(); ++c) data["support"][m.names[c]] = support[c];
  report["data"] = data;
  report["options"] = {{"pool", m.config.pool() == Pooling::kFirst  ? "first"
                                : m.config.pool() == Pooling::kLast ? "last"
                                                                    : "mean"},
                       {"batch_size", m.config.batch_size()},
                       {"pad_id", m.session->options().batching().pad_id()},  // the Config's, else the tokenizer's
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
  if (!session.extracted()) {
    report["baseline"] = nullptr;
    return report;
  }
  const Extraction& x = session.Extract();
  report["baseline"] = BaselineJson(session.baseline(), session.base_predictions(), m.labels(), m.names, x.seconds);
  json layers = json::array();
  for (int layer : m.layers) {
    json lj;
    lj["index"] = layer;
    lj["name"] = m.LayerName(layer);
    lj["hidden"] = x.activations.at(layer).cols();
    if (const LayerProbe* p = session.probed(layer)) {
      lj.update(ProbeJson(p->fit, p->ranking, m.names, {0.5, 0.9}, m.config.confidence(), p->seconds));
    }
    lj["experiments"] = json::array();
    for (const auto& [at, row] : m.rows) {
      if (at == layer) lj["experiments"].push_back(row);
    }
    layers.push_back(lj);
  }
  report["layers"] = layers;
  report["logit_space"] = LogitSpaceJson(x.logits, m.labels(), m.names, m.config.confidence());
  json other = json::array();
  for (const auto& [at, row] : m.rows) {
    if (at < 0) other.push_back(row);
  }
  report["other_queries"] = other;
  report["environment"] = EnvironmentJson();
  return report;
}

}  // namespace synapse::robustness
