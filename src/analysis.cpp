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

#include "number_text.h"
#include "report_json.h"
#include "seeds.h"
#include "synapse/activation_cache.h"
#include "synapse/error.h"
#include "synapse/experiments.h"
#include "synapse/extraction.h"
#include "synapse/model.h"
#include "synapse/stats.h"
#include "synapse/weight_perturbation.h"

namespace synapse {
namespace {

using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

[[noreturn]] void BadOption(const std::string& message) { throw SpecError(310, "analysis: " + message); }

// One configuration of the sweep and where its result goes in the report.
struct Planned {
  int layer = 0;
  std::string selection;  // top, bottom, random, class_top, noise
  int64_t k = 0;
  std::string k_spec;
  int64_t cls = -1;
  double sigma = 0;
  int seed_index = -1;
  uint64_t seed = 0;
  std::vector<int64_t> neurons;
};

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
  if (o.positions() == Positions::kPooled && o.pool() == Pooling::kMean) {
    BadOption("pooled-only ablation needs pooling first or last, not mean");
  }
  if (o.batch_size() < 1) BadOption("batch_size must be at least 1");
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
  if (o.head_k() < 1) BadOption("head_k must be at least 1");
  if (!(o.head_max_factor() > 1) || !std::isfinite(o.head_max_factor())) {
    BadOption("head_max_factor must be a finite number above 1");
  }
  if (!(o.target_rate() > 0 && o.target_rate() <= 1)) {
    BadOption("target_rate must be in (0, 1], got " + Shortest(o.target_rate()));
  }
  if (o.bisect_steps() < 1) BadOption("bisect_steps must be at least 1");
  for (double e : o.weight_noise()) {
    if (!(e >= 0) || !std::isfinite(e)) BadOption("weight noise levels must be finite and ≥ 0, got " + Shortest(e));
  }
  if (o.weight_noise_seeds() < 1 && !o.weight_noise().empty()) BadOption("weight_noise_seeds must be at least 1");
  // Named parameters are checked now, not after the sweep has run for minutes.
  if (o.weight_space() && !o.head().empty()) FindClassificationHead(model, o.head());
  if (o.weight_space() && !o.weight_noise_parameter().empty()) {
    bool found = false;
    for (const auto& p : model.parameters()) found = found || p.first == o.weight_noise_parameter();
    if (!found) {
      throw ModelError(
          107, model.path() + ": no parameter named \"" + o.weight_noise_parameter() + "\" (weight_noise_parameter)");
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

json OptionsJson(const AnalysisOptions& o, const std::vector<int>& layers) {
  json j;
  j["pool"] = PoolingName(o.pool());
  j["batch_size"] = o.batch_size();
  j["pad_id"] = o.pad_id();
  j["seed"] = o.seed();
  j["layers"] = layers;
  j["k"] = o.k();
  j["ablate_value"] = o.ablate_value();
  j["positions"] = o.positions() == Positions::kAll ? "all" : "pooled";
  j["random_seeds"] = o.random_seeds();
  j["noise"] = o.noise();
  j["mass"] = o.mass();
  j["probe"] = {{"l1", o.probe().l1()},
                {"l2", o.probe().l2()},
                {"max_iter", o.probe().max_iter()},
                {"tolerance", o.probe().tolerance()},
                {"test_fraction", o.test_fraction()}};
  j["confidence"] = o.confidence();
  j["weight_space"] = o.weight_space();
  j["head_k"] = o.head_k();
  j["head_max_factor"] = o.head_max_factor();
  j["linear_head"] = o.linear_head();
  j["head_input"] = o.head_input();
  j["target_rate"] = o.target_rate();
  j["bisect_steps"] = o.bisect_steps();
  j["weight_noise"] = o.weight_noise();
  j["weight_noise_seeds"] = o.weight_noise_seeds();
  return j;
}

Plan AblationPlan(int layer, const std::vector<int64_t>& neurons, const AnalysisOptions& o, const NeuronStats& stats) {
  Intervention iv = o.ablate_value() == "mean"
                        ? Intervention::Mean(Site::Layer(layer), stats.mean, Neurons::Of(neurons))
                        : Intervention::Zero(Site::Layer(layer), Neurons::Of(neurons));
  iv.positions(o.positions());
  return {iv};
}

// Bisection for the smallest value in [lo, hi] whose rate reaches `target`, given that the
// rate at `hi` does. `geometric` bisects in log space (factors), else linearly (shifts).
struct Search {
  bool reached = false;
  double value = 0;
  double low = 0;
  double high = 0;
  double rate = 0;
  int evaluations = 0;
};

template <typename RateFn>
Search Bisect(double lo, double hi, double target, int steps, bool geometric, RateFn rate_at) {
  Search s;
  const double rate_hi = rate_at(hi);
  ++s.evaluations;
  if (rate_hi < target) {
    s.value = hi;
    s.low = s.high = hi;
    s.rate = rate_hi;
    return s;
  }
  s.reached = true;
  double best_rate = rate_hi;
  for (int i = 0; i < steps; ++i) {
    const double mid = geometric ? std::sqrt(lo * hi) : (lo + hi) / 2;
    const double r = rate_at(mid);
    ++s.evaluations;
    if (r >= target) {
      hi = mid;
      best_rate = r;
    } else {
      lo = mid;
    }
  }
  s.value = hi;
  s.low = lo;
  s.high = hi;
  s.rate = best_rate;
  return s;
}

json SearchJson(const Search& s, const char* name) {
  return {{"reached", s.reached},
          {name, s.value},
          {"bracket", json::array({s.low, s.high})},
          {"rate", s.rate},
          {"evaluations", s.evaluations}};
}

// 5. Weight space: head-weight and bias searches per class, and weight noise. Counts the
// forward passes it makes in *passes.
json WeightSpaceJson(Model& model, const std::vector<Example>& examples, const std::vector<int64_t>& labels,
                     const std::vector<std::string>& names, const Eigen::MatrixXf& base_logits, const Metrics& baseline,
                     const BatchOptions& batching, const AnalysisOptions& o, const AnalysisProgress& progress,
                     int* passes) {
  const int64_t num_classes = static_cast<int64_t>(names.size());
  const std::vector<int64_t> base = ArgMaxRows(base_logits);
  int& weight_passes = *passes;
  json weight;
  if (!o.weight_space()) {
    weight["skipped"] = "disabled";
  } else {
    ClassificationHead head;
    bool have_head = true;
    try {
      head = FindClassificationHead(model, o.head());
    } catch (const ModelError& e) {
      if (!o.head().empty()) throw;
      have_head = false;
      weight["skipped"] = e.detail();
    }
    if (have_head) {
      const uint64_t hash_before = ParameterHash(model);
      weight["head"] = {{"weight", head.weight}, {"bias", head.bias}, {"inputs", head.inputs}};
      weight["target_rate"] = o.target_rate();
      const Eigen::MatrixXf head_weight = model.ParameterValues(head.weight);
      // Changes to the head alone are scored from its input, captured in one pass (the
      // same numbers as a forward pass per change); other changes run the model.
      std::optional<HeadReplay> replay;
      if (o.head_input()) {
        replay.emplace(model, examples, batching, head);
        if (replay->available()) ++weight_passes;
      }
      const bool from_head_input = replay && replay->available();
      if (from_head_input) {
        weight["head_input"] = {{"captured", true}};
      } else {
        weight["head_input"] = {{"captured", false},
                                {"reason", replay ? replay->reason() : std::string("disabled (--no-head-input)")}};
      }
      using Perturb = std::function<void(WeightPerturbation&)>;
      auto logits_under = [&](const Perturb& perturb) {
        if (from_head_input) {
          WeightPerturbation w = WeightPerturbation::Copies(model);
          perturb(w);
          if (replay->Covers(w)) return replay->Logits(w);
        }
        WeightPerturbation w(model);
        perturb(w);
        ++weight_passes;
        return RunPlans(model, examples, {Plan{}}, batching)[0];
      };
      auto rate_of = [&](int64_t c, const Eigen::MatrixXf& logits) {
        const std::vector<int64_t> pred = ArgMaxRows(logits);
        int64_t others = 0, moved = 0;
        for (size_t i = 0; i < pred.size(); ++i) {
          if (labels[i] == c) continue;
          ++others;
          moved += pred[i] == c;
        }
        return others > 0 ? static_cast<double>(moved) / static_cast<double>(others) : 0.0;
      };
      // Logits agree when they differ by less than float rounding of the largest logit.
      const float tolerance = 1e-4f * (1.0f + base_logits.cwiseAbs().maxCoeff());
      // A search over one perturbation amount v (a factor or a shift). Both perturbations act
      // on the head, so when the logits are the head's output they move only class c's
      // logit, linearly in v: l_c(v) = l_c(v0) + (v − v0)·s. One pass at v0 + 1 measures s
      // and checks that the other logits stay put (`measure_slope`); the bisection then runs
      // on predicted logits and a last pass confirms the answer. Where either check fails
      // (a nonlinearity after the head, say) every step is a forward pass.
      // Adds its pass to *passes.
      auto measure_slope = [&](int64_t c, double v0, const std::function<Perturb(double)>& perturb_at,
                               int* passes) -> std::optional<Eigen::VectorXf> {
        if (!o.linear_head()) return std::nullopt;
        const int before = weight_passes;
        Eigen::MatrixXf delta = logits_under(perturb_at(v0 + 1.0)) - base_logits;
        *passes += weight_passes - before;
        Eigen::MatrixXf rest = delta;
        rest.col(c).setZero();
        if (rest.cwiseAbs().maxCoeff() > tolerance) return std::nullopt;
        return Eigen::VectorXf(delta.col(c));
      };
      // `run_search` bisects over its own variable; `to_v` maps that to v (the downward head
      // search bisects t with f = 1 − t). Adds the passes it makes to *passes.
      auto search = [&](int64_t c, double v0, const std::optional<Eigen::VectorXf>& slope,
                        const std::function<Perturb(double)>& perturb_at, const std::function<double(double)>& to_v,
                        const std::function<Search(const std::function<double(double)>&)>& run_search, int* passes) {
        const int before = weight_passes;
        auto predicted = [&](double v) {
          Eigen::MatrixXf l = base_logits;
          l.col(c) += static_cast<float>(v - v0) * *slope;
          return l;
        };
        auto forward_rate = [&](double v) { return rate_of(c, logits_under(perturb_at(v))); };
        Search found;
        bool linear = false;
        if (slope) {
          found = run_search([&](double v) { return rate_of(c, predicted(v)); });
          const double v = to_v(found.value);
          const Eigen::MatrixXf real = logits_under(perturb_at(v));
          const float scale = static_cast<float>(std::max(1.0, std::abs(v - v0)));
          linear = (real - predicted(v)).cwiseAbs().maxCoeff() <= tolerance * scale && rate_of(c, real) == found.rate;
        }
        if (!linear) found = run_search(forward_rate);
        *passes += weight_passes - before;
        return std::make_pair(found, linear);
      };
      const int64_t total_steps = num_classes * (head.bias.empty() ? 1 : 2);
      int64_t step = 0;
      json classes = json::array();
      for (int64_t c = 0; c < num_classes; ++c) {
        json cj;
        cj["class"] = names[static_cast<size_t>(c)];
        int64_t others = 0, already = 0;
        for (size_t i = 0; i < labels.size(); ++i) {
          if (labels[i] == c) continue;
          ++others;
          already += base[i] == c;
        }
        cj["others"] = others;
        cj["base_rate"] = others > 0 ? static_cast<double>(already) / static_cast<double>(others) : 0.0;
        // The head columns that push hardest toward c: its largest weights.
        std::vector<int64_t> cols(static_cast<size_t>(head.inputs));
        for (int64_t j = 0; j < head.inputs; ++j) cols[static_cast<size_t>(j)] = j;
        std::stable_sort(cols.begin(), cols.end(),
                         [&](int64_t a, int64_t b) { return head_weight(c, a) > head_weight(c, b); });
        cols.resize(static_cast<size_t>(std::min(o.head_k(), head.inputs)));
        std::vector<int64_t> sorted_cols = cols;
        auto scale_by = [&](double f) -> Perturb {
          return [&, f](WeightPerturbation& w) { w.ScaleEntries(head.weight, c, sorted_cols, f); };
        };
        // Up first (f > 1 strengthens what already votes for c). When the other classes'
        // examples have these inputs negative, only shrinking or flipping the weights moves
        // them: then search down, f = 1 − t for t in [0, 1 + max].
        json sj;
        int passes = 0;
        // One slope serves both directions: the same entries are scaled.
        const std::optional<Eigen::VectorXf> scale_slope = measure_slope(c, 1.0, scale_by, &passes);
        auto same = [](double v) { return v; };
        auto [scale, scale_linear] = search(
            c, 1.0, scale_slope, scale_by, same,
            [&](const std::function<double(double)>& rate_at) {
              return Bisect(1.0, o.head_max_factor(), o.target_rate(), o.bisect_steps(), true, rate_at);
            },
            &passes);
        sj["method"] = scale_linear ? "linear" : "forward";
        if (scale.reached) {
          sj.update(SearchJson(scale, "factor"));
          sj["direction"] = "up";
        } else {
          auto [down, down_linear] = search(
              c, 1.0, scale_slope, scale_by, [](double t) { return 1.0 - t; },
              [&](const std::function<double(double)>& rate_at) {
                return Bisect(0.0, 1.0 + o.head_max_factor(), o.target_rate(), o.bisect_steps(), false,
                              [&](double t) { return rate_at(1.0 - t); });
              },
              &passes);
          down.evaluations += scale.evaluations;
          const Search& best = down.reached ? down : scale;
          sj.update(SearchJson(best, "factor"));
          if (down.reached) {
            sj["factor"] = 1.0 - down.value;
            sj["bracket"] = json::array({1.0 - down.high, 1.0 - down.low});
          }
          sj["direction"] = down.reached ? "down" : "none";
          sj["evaluations"] = down.evaluations;
          sj["method"] = scale_linear && down_linear ? "linear" : "forward";
        }
        sj["forward_passes"] = passes;
        sj["logits"] = from_head_input ? "head_input" : "forward";
        sj["neurons"] = cols;
        cj["head_scale"] = sj;
        if (progress) progress("weight_space", ++step, total_steps);
        if (!head.bias.empty()) {
          // A bias shift is a logit shift, so the answer is also known in closed form: the
          // target-share order statistic of max_{j≠c} l_j − l_c over the other examples.
          std::vector<double> needed;
          for (size_t i = 0; i < labels.size(); ++i) {
            if (labels[i] == c) continue;
            const Eigen::Index row = static_cast<Eigen::Index>(i);
            double best_other = -std::numeric_limits<double>::infinity();
            for (Eigen::Index j = 0; j < base_logits.cols(); ++j) {
              if (j != c) best_other = std::max(best_other, static_cast<double>(base_logits(row, j)));
            }
            needed.push_back(std::max(0.0, best_other - static_cast<double>(base_logits(row, c))));
          }
          const double analytic = needed.empty() ? 0.0 : BudgetFlipping(needed, o.target_rate());
          const double hi = (needed.empty() ? 0.0 : *std::max_element(needed.begin(), needed.end())) * 1.01 + 1e-3;
          auto shift_by = [&](double d) -> Perturb {
            return [&, d](WeightPerturbation& w) { w.AddRows(head.bias, {c}, d); };
          };
          int passes = 0;
          const std::optional<Eigen::VectorXf> shift_slope = measure_slope(c, 0.0, shift_by, &passes);
          auto [shift, shift_linear] = search(
              c, 0.0, shift_slope, shift_by, same,
              [&](const std::function<double(double)>& rate_at) {
                return Bisect(0.0, hi, o.target_rate(), o.bisect_steps(), false, rate_at);
              },
              &passes);
          json bj = SearchJson(shift, "shift");
          bj["method"] = shift_linear ? "linear" : "forward";
          bj["forward_passes"] = passes;
          bj["logits"] = from_head_input ? "head_input" : "forward";
          bj["analytic_shift"] = analytic;
          cj["bias_shift"] = bj;
          if (progress) progress("weight_space", ++step, total_steps);
        }
        classes.push_back(cj);
      }
      weight["classes"] = classes;

      const std::string noise_parameter = o.weight_noise_parameter().empty() ? head.weight : o.weight_noise_parameter();
      json curve = json::array();
      for (double eps : o.weight_noise()) {
        json point;
        point["epsilon"] = eps;
        double acc_sum = 0, acc_min = 1, acc_max = 0;
        json per_seed = json::array();
        for (int s = 0; s < o.weight_noise_seeds(); ++s) {
          const uint64_t seed = DeriveSeed(o.seed(), {kSeedWeightNoise, static_cast<uint64_t>(s)});
          const Metrics m = Score(ArgMaxRows(logits_under([&](WeightPerturbation& w) {
                                    w.AddNoise(noise_parameter, eps, seed, /*relative=*/true);
                                  })),
                                  labels, base, num_classes, o.confidence());
          acc_sum += m.accuracy;
          acc_min = std::min(acc_min, m.accuracy);
          acc_max = std::max(acc_max, m.accuracy);
          per_seed.push_back({{"seed", seed}, {"metrics", MetricsJson(m, names, &baseline)}});
        }
        point["accuracy_mean"] = acc_sum / o.weight_noise_seeds();
        point["accuracy_range"] = json::array({acc_min, acc_max});
        point["per_seed"] = per_seed;
        curve.push_back(point);
      }
      const bool noise_from_head_input =
          from_head_input && (noise_parameter == head.weight || noise_parameter == head.bias);
      weight["noise"] = {{"parameter", noise_parameter},
                         {"relative_to", "parameter std"},
                         {"logits", noise_from_head_input ? "head_input" : "forward"},
                         {"curve", curve}};
      const bool restored = ParameterHash(model) == hash_before;
      if (!restored) throw std::runtime_error("weight-space experiments did not restore the model's parameters");
      weight["restored"] = restored;
    }
  }
  return weight;
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

nlohmann::ordered_json Analyze(Model& model, const std::vector<Example>& examples, const std::vector<int64_t>& labels,
                               const std::vector<std::string>& names, const AnalysisOptions& o,
                               const AnalysisProgress& progress) {
  const auto analysis_start = Clock::now();
  const Validated valid = Validate(model, examples, labels, names, o);
  const int64_t num_classes = static_cast<int64_t>(names.size());
  auto report_progress = [&](const char* stage) -> ProgressCallback {
    if (!progress) return {};
    return [&progress, stage](int64_t done, int64_t total) { progress(stage, done, total); };
  };
  BatchOptions batching;
  batching.pool(o.pool())
      .batch_size(o.batch_size())
      .pad_id(o.pad_id())
      .seed(o.seed())
      .memory_budget(o.memory_budget())
      .suffix_execution(o.suffix_execution());

  // 1. Extraction.
  CacheLookup cache;
  Extraction x = ExtractCached(model, examples, batching, {}, o.cache_dir(), &cache, report_progress("extraction"));
  if (x.logits.cols() != num_classes) {
    throw DataError(209, "analysis: the model has " + std::to_string(x.logits.cols()) + " classes but " +
                             std::to_string(num_classes) + " class names were given");
  }
  const std::vector<int64_t> base = x.Predictions();
  const Metrics baseline = Score(base, labels, base, num_classes, o.confidence());
  const Split split = StratifiedSplit(labels, o.test_fraction(), DeriveSeed(o.seed(), {kSeedSplit}));
  if (!o.save_activations().empty()) SaveActivations(x, model, labels, o.save_activations(), &split);

  json report;
  report["schema_version"] = kReportSchemaVersion;
  report["model"] = ModelJson(model);
  json data;
  data["examples"] = examples.size();
  data["examples_hash"] = ExamplesHash(examples, labels);
  data["classes"] = names;
  data["support"] = json::object();
  for (size_t c = 0; c < names.size(); ++c) data["support"][names[c]] = baseline.support[c];
  report["data"] = data;
  report["options"] = OptionsJson(o, valid.layers);

  report["baseline"] = BaselineJson(baseline, base, labels, names, x.seconds);

  // 2. Probes and rankings, every layer.
  const auto probes_start = Clock::now();
  std::map<int, NeuronRanking> rankings;
  std::map<int, NeuronStats> stats;
  std::map<int, json> layer_json;
  const int64_t layer_count = static_cast<int64_t>(model.layers().size());
  for (const LayerInfo& info : model.layers()) {
    const Eigen::MatrixXf& acts = x.activations.at(info.index);
    const auto start = Clock::now();
    ProbeFit fit = FitProbe(acts, labels, num_classes, split, o.probe());
    const double seconds = Since(start);
    rankings[info.index] = RankNeurons(fit);
    stats[info.index] = ComputeNeuronStats(acts);
    json lj;
    lj["index"] = info.index;
    lj["name"] = info.name;
    lj["hidden"] = acts.cols();
    lj.update(ProbeJson(fit, rankings[info.index], names, o.mass(), o.confidence(), seconds));
    layer_json[info.index] = lj;
    if (progress) progress("probes", info.index + 1, layer_count);
  }
  const double probes_seconds = Since(probes_start);

  // 3. The sweep: every configuration of every selected layer (of this shard's block of
  // them), in one pass over batches.
  if (o.shard_count() < 1 || o.shard_index() < 0 || o.shard_index() >= o.shard_count()) {
    BadOption("shard " + std::to_string(o.shard_index()) + " of " + std::to_string(o.shard_count()));
  }
  std::vector<int> sweep_layers;
  for (size_t i = 0; i < valid.layers.size(); ++i) {
    const size_t n = valid.layers.size(), count = static_cast<size_t>(o.shard_count());
    const size_t index = static_cast<size_t>(o.shard_index());
    if (i >= n * index / count && i < n * (index + 1) / count) sweep_layers.push_back(valid.layers[i]);
  }
  std::vector<Planned> planned;
  std::vector<Plan> plans;
  for (int layer : sweep_layers) {
    const NeuronRanking& r = rankings.at(layer);
    const NeuronStats& st = stats.at(layer);
    const int64_t width = static_cast<int64_t>(r.global.size());
    for (const KValue& kv : ResolveK(o.k(), width)) {
      auto add = [&](Planned p) {
        p.layer = layer;
        p.k = kv.k;
        p.k_spec = kv.spec;
        plans.push_back(AblationPlan(layer, p.neurons, o, st));
        planned.push_back(std::move(p));
      };
      Planned top;
      top.selection = "top";
      top.neurons = r.Top(kv.k);
      add(top);
      for (int s = 0; s < o.random_seeds(); ++s) {
        Planned rnd;
        rnd.selection = "random";
        rnd.seed_index = s;
        rnd.seed = DeriveSeed(o.seed(), {kSeedRandomNeurons, static_cast<uint64_t>(layer), static_cast<uint64_t>(kv.k),
                                         static_cast<uint64_t>(s)});
        rnd.neurons = RandomNeurons(width, kv.k, rnd.seed);
        add(rnd);
      }
      Planned bottom;
      bottom.selection = "bottom";
      bottom.neurons = r.Bottom(kv.k);
      add(bottom);
      for (int64_t c = 0; c < num_classes; ++c) {
        Planned ct;
        ct.selection = "class_top";
        ct.cls = c;
        ct.neurons = r.TopOfClass(c, kv.k);
        add(ct);
      }
    }
    for (double sigma : o.noise()) {
      Planned p;
      p.layer = layer;
      p.selection = "noise";
      p.sigma = sigma;
      p.k = width;
      std::vector<float> sigmas(st.stddev.size());
      for (size_t j = 0; j < sigmas.size(); ++j) sigmas[j] = static_cast<float>(sigma) * st.stddev[j];
      Intervention iv = Intervention::Noise(Site::Layer(layer), sigmas);
      iv.positions(o.positions());
      plans.push_back({iv});
      planned.push_back(std::move(p));
    }
  }
  const auto sweep_start = Clock::now();
  const std::vector<Eigen::MatrixXf> sweep_logits =
      RunPlans(model, examples, plans, batching, report_progress("sweep"));
  const double sweep_seconds = Since(sweep_start);

  std::vector<Metrics> results;
  for (const Eigen::MatrixXf& l : sweep_logits) {
    results.push_back(Score(ArgMaxRows(l), labels, base, num_classes, o.confidence()));
  }
  const char* op_name = o.ablate_value() == "mean" ? "mean" : "zero";
  const char* positions_name = o.positions() == Positions::kAll ? "all" : "pooled";
  json layers = json::array();
  json most_fragile_layer, most_fragile_class;
  double worst_layer_excess = -std::numeric_limits<double>::infinity();
  double worst_class_drop = -std::numeric_limits<double>::infinity();
  for (const LayerInfo& info : model.layers()) {
    json lj = layer_json.at(info.index);
    const bool selected = std::find(sweep_layers.begin(), sweep_layers.end(), info.index) != sweep_layers.end();
    lj["experiments"] = json::array();
    if (!selected) {
      layers.push_back(lj);
      continue;
    }
    // Random rows are merged per k: the mean and range over seeds, and each seed.
    std::map<int64_t, std::vector<size_t>> random_rows;
    std::map<int64_t, std::vector<size_t>> class_rows;
    std::map<int64_t, size_t> top_rows;
    for (size_t i = 0; i < planned.size(); ++i) {
      const Planned& p = planned[i];
      if (p.layer != info.index) continue;
      if (p.selection == "random") {
        random_rows[p.k].push_back(i);
        continue;
      }
      if (p.selection == "class_top") class_rows[p.k].push_back(i);
      if (p.selection == "top") top_rows[p.k] = i;
      json row;
      row["layer"] = info.index;
      row["selection"] = p.selection;
      if (p.selection == "class_top") row["class"] = names[static_cast<size_t>(p.cls)];
      row["k"] = p.k;
      if (p.selection == "noise") {
        row["op"] = "noise";
        row["sigma"] = p.sigma;
        row["seed"] = o.seed();
      } else {
        row["k_spec"] = p.k_spec;
        row["op"] = op_name;
        row["neurons"] = p.neurons;
      }
      row["positions"] = positions_name;
      row["metrics"] = MetricsJson(results[i], names, &baseline);
      lj["experiments"].push_back(row);
    }
    json random_json = json::array();
    std::map<int64_t, double> random_mean_drop;
    for (const auto& [k, idx] : random_rows) {
      json row;
      row["layer"] = info.index;
      row["selection"] = "random";
      row["k"] = k;
      row["k_spec"] = planned[idx.front()].k_spec;
      row["op"] = op_name;
      row["positions"] = positions_name;
      // Pooled over seeds: the counts add up (n = seeds × examples), the point estimates
      // are the mean over seeds.
      double acc_min = 1, acc_max = 0, flip_min = 1, flip_max = 0;
      json per_seed = json::array();
      std::vector<Metrics> runs;
      for (size_t i : idx) {
        const Metrics& m = results[i];
        runs.push_back(m);
        acc_min = std::min(acc_min, m.accuracy);
        acc_max = std::max(acc_max, m.accuracy);
        flip_min = std::min(flip_min, m.flip_rate);
        flip_max = std::max(flip_max, m.flip_rate);
        per_seed.push_back({{"seed", planned[i].seed},
                            {"neurons", planned[i].neurons},
                            {"accuracy", m.accuracy},
                            {"flip_rate", m.flip_rate},
                            {"mcnemar_p", m.mcnemar_p}});
      }
      const Metrics pooled = PoolMetrics(runs, static_cast<int64_t>(examples.size()), o.confidence());
      row["metrics"] = MetricsJson(pooled, names, &baseline);
      row["range"] = {{"accuracy", json::array({acc_min, acc_max})}, {"flip_rate", json::array({flip_min, flip_max})}};
      row["per_seed"] = per_seed;
      random_mean_drop[k] = baseline.accuracy - pooled.accuracy;
      random_json.push_back(row);
    }
    for (json& row : random_json) lj["experiments"].push_back(row);
    // A readable order: per selection (top, random, bottom, class_top, noise), by k.
    std::vector<json> rows(lj["experiments"].begin(), lj["experiments"].end());
    auto rank = [](const json& row) {
      static const std::map<std::string, int> order = {
          {"top", 0}, {"random", 1}, {"bottom", 2}, {"class_top", 3}, {"noise", 4}};
      return order.at(row["selection"].get<std::string>());
    };
    std::stable_sort(rows.begin(), rows.end(), [&](const json& a, const json& b) {
      if (rank(a) != rank(b)) return rank(a) < rank(b);
      return a["k"].get<int64_t>() < b["k"].get<int64_t>();
    });
    lj["experiments"] = rows;

    // Fragility: where ablating the top-k hurts most beyond the random control.
    json fragility;
    double best_excess = -std::numeric_limits<double>::infinity();
    for (const auto& [k, i] : top_rows) {
      const double top_drop = baseline.accuracy - results[i].accuracy;
      const double random_drop = random_mean_drop.count(k) ? random_mean_drop[k] : 0.0;
      const double excess = top_drop - random_drop;
      if (excess > best_excess) {
        best_excess = excess;
        fragility = {{"k", k},
                     {"top_drop", top_drop},
                     {"random_drop", random_drop},
                     {"excess", excess},
                     {"mcnemar_p", results[i].mcnemar_p}};
      }
    }
    lj["fragility"] = fragility;
    if (!fragility.is_null() && best_excess > worst_layer_excess) {
      worst_layer_excess = best_excess;
      most_fragile_layer = fragility;
      most_fragile_layer["layer"] = info.index;
      most_fragile_layer["name"] = info.name;
    }

    // Class asymmetry: row i = ablate class i's top-k, column j = recall of class j.
    json asym = json::array();
    for (const auto& [k, idx] : class_rows) {
      json matrix = json::array(), drops = json::array();
      double worst = -std::numeric_limits<double>::infinity();
      std::string worst_class;
      for (size_t i : idx) {
        const Metrics& m = results[i];
        const size_t own = static_cast<size_t>(planned[i].cls);
        json recall_row = json::array(), drop_row = json::array();
        double others = 0;
        for (size_t c = 0; c < names.size(); ++c) {
          recall_row.push_back(m.recall[c]);
          const double drop = baseline.recall[c] - m.recall[c];
          drop_row.push_back(drop);
          if (c != own) others += drop;
        }
        matrix.push_back(recall_row);
        drops.push_back(drop_row);
        const double own_drop = baseline.recall[own] - m.recall[own];
        const double index = own_drop - others / static_cast<double>(names.size() - 1);
        if (index > worst) {
          worst = index;
          worst_class = names[own];
        }
        if (own_drop > worst_class_drop) {
          worst_class_drop = own_drop;
          most_fragile_class = {{"class", names[own]},
                                {"layer", info.index},
                                {"name", info.name},
                                {"k", k},
                                {"recall", m.recall[own]},
                                {"recall_ci", IntervalJson(m.recall_ci[own])},
                                {"baseline_recall", baseline.recall[own]},
                                {"drop", own_drop}};
        }
      }
      asym.push_back({{"k", k},
                      {"ablated", names},
                      {"recall", matrix},
                      {"recall_drop", drops},
                      {"asymmetry", worst},
                      {"most_affected_class", worst_class}});
    }
    lj["class_asymmetry"] = asym;
    layers.push_back(lj);
  }
  report["layers"] = layers;

  // 4. Logit space.
  const auto logit_start = Clock::now();
  report["logit_space"] = LogitSpaceJson(x.logits, labels, names, o.confidence());
  const double logit_seconds = Since(logit_start);

  // 5. Weight space.
  const auto weight_start = Clock::now();
  int weight_passes = 0;
  json weight = o.shard_index() == 0 ? WeightSpaceJson(model, examples, labels, names, x.logits, baseline, batching, o,
                                                       progress, &weight_passes)
                                     : json{{"skipped", "another shard"}};
  report["weight_space"] = weight;
  const double weight_seconds = Since(weight_start);

  // Summary: what a person reads first.
  json summary;
  summary["baseline_accuracy"] = baseline.accuracy;
  summary["baseline_accuracy_ci"] = IntervalJson(baseline.accuracy_ci);
  summary["baseline_recall"] = report["baseline"]["recall"];
  // Only what moved is singled out: null when no top-k cost more than its random control,
  // or no class lost recall to its own top-k (each layer's `fragility` still has its best).
  summary["most_fragile_layer"] = worst_layer_excess > 0 ? most_fragile_layer : json();
  summary["most_fragile_class"] = worst_class_drop > 0 ? most_fragile_class : json();
  summary["flip_budget_1pct"] = report["logit_space"]["budget_flipping"]["0.01"];
  json best_probe;
  for (const json& l : report["layers"]) {
    if (best_probe.is_null() || l["probe"]["test_accuracy"].get<double>() > best_probe["test_accuracy"].get<double>()) {
      best_probe = {{"layer", l["index"]}, {"name", l["name"]}, {"test_accuracy", l["probe"]["test_accuracy"]}};
    }
  }
  summary["best_probe"] = best_probe;

  report["environment"] = EnvironmentJson();
  const double total_seconds = Since(analysis_start);
  const double pass = std::max(x.seconds, 1e-9);
  json timing;
  timing["extraction_s"] = cache.seconds;
  timing["probes_s"] = probes_seconds;
  timing["sweep_s"] = sweep_seconds;
  timing["sweep_configurations"] = plans.size();
  timing["logit_space_s"] = logit_seconds;
  timing["weight_space_s"] = weight_seconds;
  timing["weight_space_passes"] = weight_passes;
  timing["total_s"] = total_seconds;
  timing["forward_pass_s"] = x.seconds;
  timing["forward_pass_equivalents"] = {{"extraction", cache.seconds / pass},
                                        {"probes", probes_seconds / pass},
                                        {"sweep", sweep_seconds / pass},
                                        {"weight_space", weight_seconds / pass},
                                        {"total", total_seconds / pass}};
  const SuffixExecution cut = model.suffix_execution();
  timing["activation_cache"] = {{"status", cache.status}, {"path", cache.path}, {"reason", cache.reason}};
  timing["suffix_execution"] = {{"enabled", o.suffix_execution() && !cut.layers.empty()},
                                {"layers", cut.layers},
                                {"fallback", o.suffix_execution() ? cut.fallback_reason : "turned off"},
                                {"pooled_rows", {{"layer", cut.pooled_rows_layer}, {"summary", cut.pooled_rows}}}};
  report["timing"] = timing;
  report["summary"] = summary;
  if (o.shard_count() > 1) report["shard"] = {{"index", o.shard_index()}, {"total", o.shard_count()}};
  return report;
}

}  // namespace synapse
