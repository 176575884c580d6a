#include "analysis/weight_space.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <utility>

#include "report/report_json.h"
#include "util/seeds.h"
#include "synapse/error.h"
#include "synapse/model.h"
#include "synapse/weight_perturbation.h"

namespace synapse {
namespace {

using json = nlohmann::ordered_json;
using Perturb = std::function<void(WeightPerturbation&)>;
using RateAt = std::function<double(double)>;

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

// The searches of one weight-space run: how the logits under a change to the model are
// obtained (from the head's captured input where the change is the head's alone, else a
// forward pass, counted in *passes) and the per-class searches over them.
class WeightSpace {
 public:
  WeightSpace(Model& model, const std::vector<Example>& examples, const std::vector<int64_t>& labels,
              const Eigen::MatrixXf& base_logits, const BatchOptions& batching, const WeightSpaceOptions& o,
              uint64_t seed, double confidence, const ClassificationHead& head, int* passes)
      : model_(model),
        examples_(examples),
        labels_(labels),
        base_logits_(base_logits),
        base_(ArgMaxRows(base_logits)),
        batching_(batching),
        o_(o),
        seed_(seed),
        confidence_(confidence),
        head_(head),
        head_weight_(model.ParameterValues(head.weight)),
        passes_(*passes),
        // Logits agree when they differ by less than float rounding of the largest logit.
        tolerance_(1e-4f * (1.0f + base_logits.cwiseAbs().maxCoeff())) {
    // Changes to the head alone are scored from its input, captured in one pass (the same
    // numbers as a forward pass per change); other changes run the model.
    if (o.head_input()) {
      replay_.emplace(model, examples, batching, head);
      if (replay_->available()) ++passes_;
    }
    from_head_input_ = replay_ && replay_->available();
  }

  bool from_head_input() const { return from_head_input_; }

  json HeadInputJson() const {
    if (from_head_input_) return {{"captured", true}};
    return {{"captured", false}, {"reason", replay_ ? replay_->reason() : std::string("disabled (--no-head-input)")}};
  }

  Eigen::MatrixXf LogitsUnder(const Perturb& perturb) {
    if (from_head_input_) {
      WeightPerturbation w = WeightPerturbation::Copies(model_);
      perturb(w);
      if (replay_->Covers(w)) return replay_->Logits(w);
    }
    WeightPerturbation w(model_);
    perturb(w);
    ++passes_;
    return RunPlans(model_, examples_, {Plan{}}, batching_)[0];
  }

  // The share of the other classes' examples predicted c.
  double RateOf(int64_t c, const Eigen::MatrixXf& logits) const {
    const std::vector<int64_t> pred = ArgMaxRows(logits);
    int64_t others = 0, moved = 0;
    for (size_t i = 0; i < pred.size(); ++i) {
      if (labels_[i] == c) continue;
      ++others;
      moved += pred[i] == c;
    }
    return others > 0 ? static_cast<double>(moved) / static_cast<double>(others) : 0.0;
  }

  // Class c's head-scale search: up first (f > 1 strengthens what already votes for c);
  // when the other classes' examples have these inputs negative, only shrinking or flipping
  // the weights moves them: then down, f = 1 − t for t in [0, 1 + max].
  json HeadScaleJson(int64_t c) {
    // The head columns that push hardest toward c: its largest weights.
    std::vector<int64_t> cols(static_cast<size_t>(head_.inputs));
    for (int64_t j = 0; j < head_.inputs; ++j) cols[static_cast<size_t>(j)] = j;
    std::stable_sort(cols.begin(), cols.end(),
                     [&](int64_t a, int64_t b) { return head_weight_(c, a) > head_weight_(c, b); });
    cols.resize(static_cast<size_t>(std::min(o_.head_k(), head_.inputs)));
    const std::vector<int64_t> sorted_cols = cols;
    auto scale_by = [&](double f) -> Perturb {
      return [&, f](WeightPerturbation& w) { w.ScaleEntries(head_.weight, c, sorted_cols, f); };
    };
    json sj;
    int passes = 0;
    // One slope serves both directions: the same entries are scaled.
    const std::optional<Eigen::VectorXf> slope = MeasureSlope(c, 1.0, scale_by, &passes);
    auto [scale, scale_linear] = Find(
        c, 1.0, slope, scale_by, [](double v) { return v; },
        [&](const RateAt& rate_at) {
          return Bisect(1.0, o_.head_max_factor(), o_.target_rate(), o_.bisect_steps(), true, rate_at);
        },
        &passes);
    sj["method"] = scale_linear ? "linear" : "forward";
    if (scale.reached) {
      sj.update(SearchJson(scale, "factor"));
      sj["direction"] = "up";
    } else {
      auto [down, down_linear] = Find(
          c, 1.0, slope, scale_by, [](double t) { return 1.0 - t; },
          [&](const RateAt& rate_at) {
            return Bisect(0.0, 1.0 + o_.head_max_factor(), o_.target_rate(), o_.bisect_steps(), false,
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
    sj["logits"] = from_head_input_ ? "head_input" : "forward";
    sj["neurons"] = cols;
    return sj;
  }

  // Class c's bias-shift search. A bias shift is a logit shift, so the answer is also known
  // in closed form: the target-share order statistic of max_{j≠c} l_j − l_c over the other
  // examples.
  json BiasShiftJson(int64_t c) {
    std::vector<double> needed;
    for (size_t i = 0; i < labels_.size(); ++i) {
      if (labels_[i] == c) continue;
      const Eigen::Index row = static_cast<Eigen::Index>(i);
      double best_other = -std::numeric_limits<double>::infinity();
      for (Eigen::Index j = 0; j < base_logits_.cols(); ++j) {
        if (j != c) best_other = std::max(best_other, static_cast<double>(base_logits_(row, j)));
      }
      needed.push_back(std::max(0.0, best_other - static_cast<double>(base_logits_(row, c))));
    }
    const double analytic = needed.empty() ? 0.0 : BudgetFlipping(needed, o_.target_rate());
    const double hi = (needed.empty() ? 0.0 : *std::max_element(needed.begin(), needed.end())) * 1.01 + 1e-3;
    auto shift_by = [&](double d) -> Perturb {
      return [&, d](WeightPerturbation& w) { w.AddRows(head_.bias, {c}, d); };
    };
    int passes = 0;
    const std::optional<Eigen::VectorXf> slope = MeasureSlope(c, 0.0, shift_by, &passes);
    auto [shift, shift_linear] = Find(
        c, 0.0, slope, shift_by, [](double v) { return v; },
        [&](const RateAt& rate_at) { return Bisect(0.0, hi, o_.target_rate(), o_.bisect_steps(), false, rate_at); },
        &passes);
    json bj = SearchJson(shift, "shift");
    bj["method"] = shift_linear ? "linear" : "forward";
    bj["forward_passes"] = passes;
    bj["logits"] = from_head_input_ ? "head_input" : "forward";
    bj["analytic_shift"] = analytic;
    return bj;
  }

  // Accuracy under relative noise on `parameter`, per level and seed.
  json NoiseJson(const std::string& parameter, const std::vector<std::string>& names, const Metrics& baseline) {
    const int64_t num_classes = static_cast<int64_t>(names.size());
    json curve = json::array();
    for (double eps : o_.weight_noise()) {
      json point;
      point["epsilon"] = eps;
      double acc_sum = 0, acc_min = 1, acc_max = 0;
      json per_seed = json::array();
      for (int s = 0; s < o_.weight_noise_seeds(); ++s) {
        const uint64_t seed = DeriveSeed(seed_, {kSeedWeightNoise, static_cast<uint64_t>(s)});
        const Metrics m = Score(ArgMaxRows(LogitsUnder([&](WeightPerturbation& w) {
                                  w.AddNoise(parameter, eps, seed, /*relative=*/true);
                                })),
                                labels_, base_, num_classes, confidence_);
        acc_sum += m.accuracy;
        acc_min = std::min(acc_min, m.accuracy);
        acc_max = std::max(acc_max, m.accuracy);
        per_seed.push_back({{"seed", seed}, {"metrics", MetricsJson(m, names, &baseline)}});
      }
      point["accuracy_mean"] = acc_sum / o_.weight_noise_seeds();
      point["accuracy_range"] = json::array({acc_min, acc_max});
      point["per_seed"] = per_seed;
      curve.push_back(point);
    }
    const bool from_head_input = from_head_input_ && (parameter == head_.weight || parameter == head_.bias);
    return {{"parameter", parameter},
            {"relative_to", "parameter std"},
            {"logits", from_head_input ? "head_input" : "forward"},
            {"curve", curve}};
  }

 private:
  // A search over one perturbation amount v (a factor or a shift). Both perturbations act on
  // the head, so when the logits are the head's output they move only class c's logit,
  // linearly in v: l_c(v) = l_c(v0) + (v − v0)·s. One pass at v0 + 1 measures s and checks
  // that the other logits stay put; the bisection then runs on predicted logits and a last
  // pass confirms the answer. Where either check fails (a nonlinearity after the head, say)
  // every step is a forward pass. Adds its pass to *passes.
  std::optional<Eigen::VectorXf> MeasureSlope(int64_t c, double v0, const std::function<Perturb(double)>& perturb_at,
                                              int* passes) {
    if (!o_.linear_head()) return std::nullopt;
    const int before = passes_;
    Eigen::MatrixXf delta = LogitsUnder(perturb_at(v0 + 1.0)) - base_logits_;
    *passes += passes_ - before;
    Eigen::MatrixXf rest = delta;
    rest.col(c).setZero();
    if (rest.cwiseAbs().maxCoeff() > tolerance_) return std::nullopt;
    return Eigen::VectorXf(delta.col(c));
  }

  // `run_search` bisects over its own variable; `to_v` maps that to v (the downward head
  // search bisects t with f = 1 − t). Adds the passes it makes to *passes; says whether the
  // linear prediction held.
  std::pair<Search, bool> Find(int64_t c, double v0, const std::optional<Eigen::VectorXf>& slope,
                               const std::function<Perturb(double)>& perturb_at,
                               const std::function<double(double)>& to_v,
                               const std::function<Search(const RateAt&)>& run_search, int* passes) {
    const int before = passes_;
    auto predicted = [&](double v) {
      Eigen::MatrixXf l = base_logits_;
      l.col(c) += static_cast<float>(v - v0) * *slope;
      return l;
    };
    auto forward_rate = [&](double v) { return RateOf(c, LogitsUnder(perturb_at(v))); };
    Search found;
    bool linear = false;
    if (slope) {
      found = run_search([&](double v) { return RateOf(c, predicted(v)); });
      const double v = to_v(found.value);
      const Eigen::MatrixXf real = LogitsUnder(perturb_at(v));
      const float scale = static_cast<float>(std::max(1.0, std::abs(v - v0)));
      linear = (real - predicted(v)).cwiseAbs().maxCoeff() <= tolerance_ * scale && RateOf(c, real) == found.rate;
    }
    if (!linear) found = run_search(forward_rate);
    *passes += passes_ - before;
    return {found, linear};
  }

  Model& model_;
  const std::vector<Example>& examples_;
  const std::vector<int64_t>& labels_;
  const Eigen::MatrixXf& base_logits_;
  const std::vector<int64_t> base_;
  const BatchOptions& batching_;
  const WeightSpaceOptions& o_;
  const uint64_t seed_;
  const double confidence_;
  const ClassificationHead& head_;
  const Eigen::MatrixXf head_weight_;
  int& passes_;
  const float tolerance_;
  std::optional<HeadReplay> replay_;
  bool from_head_input_ = false;
};

}  // namespace

json WeightSpaceJson(Model& model, const std::vector<Example>& examples, const std::vector<int64_t>& labels,
                     const std::vector<std::string>& names, const Eigen::MatrixXf& base_logits, const Metrics& baseline,
                     const BatchOptions& batching, const WeightSpaceOptions& o, uint64_t seed, double confidence,
                     const AnalysisProgress& progress, int* passes) {
  json weight;
  ClassificationHead head;
  try {
    head = FindClassificationHead(model, o.head());
  } catch (const ModelError& e) {
    if (!o.head().empty()) throw;
    weight["skipped"] = e.detail();
    return weight;
  }
  const uint64_t hash_before = ParameterHash(model);
  weight["head"] = {{"weight", head.weight}, {"bias", head.bias}, {"inputs", head.inputs}};
  weight["target_rate"] = o.target_rate();
  WeightSpace space(model, examples, labels, base_logits, batching, o, seed, confidence, head, passes);
  weight["head_input"] = space.HeadInputJson();
  const int64_t num_classes = static_cast<int64_t>(names.size());
  const std::vector<int64_t> base = ArgMaxRows(base_logits);
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
    cj["head_scale"] = space.HeadScaleJson(c);
    if (progress) progress("weight_space", ++step, total_steps);
    if (!head.bias.empty()) {
      cj["bias_shift"] = space.BiasShiftJson(c);
      if (progress) progress("weight_space", ++step, total_steps);
    }
    classes.push_back(cj);
  }
  weight["classes"] = classes;
  const std::string noise_parameter = o.weight_noise_parameter().empty() ? head.weight : o.weight_noise_parameter();
  weight["noise"] = space.NoiseJson(noise_parameter, names, baseline);
  const bool restored = ParameterHash(model) == hash_before;
  if (!restored) throw std::runtime_error("weight-space experiments did not restore the model's parameters");
  weight["restored"] = restored;
  return weight;
}

}  // namespace synapse
