#include "report/report_json.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <sstream>

#include "util/hashing.h"
#include "util/number_text.h"
#include "synapse/error.h"
#include "synapse/model.h"
#include "synapse/runtime.h"
#include "synapse/weight_perturbation.h"

#ifndef SYNAPSE_VERSION
#define SYNAPSE_VERSION "unknown"
#endif

namespace synapse {
namespace {

using json = nlohmann::ordered_json;

json QuantilesJson(const std::vector<double>& values) {
  json q = json::object();
  for (double p : {0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9}) q[Shortest(p)] = Quantile(values, p);
  return q;
}

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}  // namespace

std::string BitsToBase64(const std::vector<uint8_t>& bits) {
  std::vector<uint8_t> bytes((bits.size() + 7) / 8, 0);
  for (size_t i = 0; i < bits.size(); ++i) {
    if (bits[i]) bytes[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
  }
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t chunk = (static_cast<uint32_t>(bytes[i]) << 16) |
                           (i + 1 < bytes.size() ? static_cast<uint32_t>(bytes[i + 1]) << 8 : 0) |
                           (i + 2 < bytes.size() ? static_cast<uint32_t>(bytes[i + 2]) : 0);
    out += kBase64[(chunk >> 18) & 63];
    out += kBase64[(chunk >> 12) & 63];
    out += i + 1 < bytes.size() ? kBase64[(chunk >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kBase64[chunk & 63] : '=';
  }
  return out;
}

std::vector<uint8_t> BitsFromBase64(const std::string& text, size_t count) {
  std::vector<uint8_t> bytes;
  uint32_t chunk = 0;
  int have = 0;
  for (char c : text) {
    if (c == '=') break;
    const char* at = std::strchr(kBase64, c);
    if (at == nullptr || c == '\0') throw DataError(210, "correct_bits: not base64");
    chunk = (chunk << 6) | static_cast<uint32_t>(at - kBase64);
    have += 6;
    if (have >= 8) {
      have -= 8;
      bytes.push_back(static_cast<uint8_t>((chunk >> have) & 0xFF));
    }
  }
  if (bytes.size() * 8 < count)
    throw DataError(210, "correct_bits: holds fewer than " + std::to_string(count) + " flags");
  std::vector<uint8_t> bits(count);
  for (size_t i = 0; i < count; ++i) bits[i] = (bytes[i / 8] >> (i % 8)) & 1;
  return bits;
}

std::string ExamplesHash(const std::vector<Example>& examples, const std::vector<int64_t>& labels) {
  Fnv1a64 h;
  auto mix = [&](const void* data, size_t size) { h.Add(data, size); };
  for (size_t i = 0; i < examples.size(); ++i) {
    const Example& e = examples[i];
    for (const auto* v : {&e.input_ids, &e.attention_mask, &e.token_type_ids}) {
      const uint64_t n = v->size();
      mix(&n, sizeof n);
      mix(v->data(), v->size() * sizeof(int64_t));
    }
    const uint64_t n = e.features.size();
    mix(&n, sizeof n);
    mix(e.features.data(), e.features.size() * sizeof(float));
    const int64_t y = i < labels.size() ? labels[i] : -1;
    mix(&y, sizeof y);
  }
  std::ostringstream s;
  s << std::hex << std::setw(16) << std::setfill('0') << h.value();
  return s.str();
}

json IntervalJson(const Interval& i) { return json::array({i.low, i.high}); }

json MetricsJson(const Metrics& m, const std::vector<std::string>& names, const Metrics* base) {
  json j;
  j["n"] = m.n;
  j["correct"] = m.correct;
  j["accuracy"] = m.accuracy;
  j["accuracy_ci"] = IntervalJson(m.accuracy_ci);
  if (base != nullptr) j["accuracy_drop"] = base->accuracy - m.accuracy;
  j["recall"] = json::object();
  j["recall_ci"] = json::object();
  for (size_t c = 0; c < names.size() && c < m.recall.size(); ++c) {
    j["recall"][names[c]] = m.recall[c];
    j["recall_ci"][names[c]] = IntervalJson(m.recall_ci[c]);
  }
  j["flips"] = m.flips;
  j["flip_rate"] = m.flip_rate;
  j["flip_rate_ci"] = IntervalJson(m.flip_rate_ci);
  j["mcnemar"] = {{"lost", m.lost}, {"gained", m.gained}, {"p", m.mcnemar_p}};
  if (!m.correct_each.empty()) j["correct_bits"] = BitsToBase64(m.correct_each);
  return j;
}

AnalyzedModel AnalyzedModelOf(const Model& model) {
  AnalyzedModel m;
  m.path = model.path();
  m.parameters = model.parameter_count();
  m.parameter_hash = ParameterHash(model);
  m.inputs = model.inputs().kind == InputInfo::Kind::kTokens ? "tokens" : "float";
  m.output = model.output_kind();
  m.classes = model.num_classes();
  m.layers = model.layers();
  return m;
}

json ModelJson(const AnalyzedModel& model) {
  json j;
  j["path"] = model.path;
  j["parameters"] = model.parameters;
  std::ostringstream hash;
  hash << std::hex << std::setw(16) << std::setfill('0') << model.parameter_hash;
  j["parameter_hash"] = hash.str();
  j["inputs"] = model.inputs;
  j["output"] = model.output;
  j["classes"] = model.classes;
  j["layers"] = json::array();
  for (const LayerInfo& l : model.layers) {
    j["layers"].push_back(
        {{"index", l.index}, {"name", l.name}, {"type", l.type}, {"hidden", l.hidden_size}, {"layout", l.layout}});
  }
  return j;
}

json ModelJson(const Model& model) { return ModelJson(AnalyzedModelOf(model)); }

json EnvironmentJson() { return EnvironmentJson(DescribeRuntime()); }

json EnvironmentJson(const RuntimeInfo& r) {
  json j;
  j["synapse_version"] = SYNAPSE_VERSION;
  j["libtorch_version"] = r.libtorch_version;
  j["threads"] = r.threads;
  j["blas"] = {{"vendor", r.blas_vendor}, {"library", r.blas_library}, {"gemm_gflops", r.gemm_gflops}};
#if defined(__clang__)
  j["compiler"] = "clang " __clang_version__;
#elif defined(__GNUC__)
  j["compiler"] = "gcc " __VERSION__;
#endif
  return j;
}

json ProbeJson(const ProbeFit& p, const NeuronRanking& r, const std::vector<std::string>& names,
               const std::vector<double>& mass, double confidence, double seconds) {
  json probe;
  probe["train_accuracy"] = p.train_accuracy;
  probe["test_accuracy"] = p.test_accuracy;
  const int64_t test_correct = static_cast<int64_t>(std::llround(p.test_accuracy * static_cast<double>(p.test_size)));
  probe["test_accuracy_ci"] = IntervalJson(WilsonInterval(test_correct, p.test_size, confidence));
  probe["train_size"] = p.train_size;
  probe["test_size"] = p.test_size;
  probe["iterations"] = p.iterations;
  probe["converged"] = p.converged;
  probe["objective"] = p.objective;
  probe["zero_weights"] = p.zero_weights;
  probe["weights"] = p.weights.size();
  probe["seconds"] = seconds;

  json ranking;
  ranking["global"] = r.global;
  json importance = json::array();
  for (int64_t j : r.global) importance.push_back(r.importance(j));
  ranking["importance"] = importance;
  ranking["per_class"] = json::object();
  for (size_t c = 0; c < names.size() && c < r.per_class.size(); ++c) ranking["per_class"][names[c]] = r.per_class[c];
  ranking["mass"] = json::array();
  for (double f : mass) ranking["mass"].push_back({{"fraction", f}, {"neurons", r.MassSize(f)}});
  return {{"probe", probe}, {"ranking", ranking}};
}

json LogitSpaceJson(const Eigen::MatrixXf& logits, const std::vector<int64_t>& labels,
                    const std::vector<std::string>& names, double confidence) {
  const FlipBudgets b = ComputeFlipBudgets(logits);
  const std::vector<int64_t> pred = ArgMaxRows(logits);
  std::vector<double> all(b.min_flip.data(), b.min_flip.data() + b.min_flip.size());
  json j;
  j["norm"] = "linf";
  j["min_flip"] = {{"mean", b.min_flip.mean()}, {"quantiles", QuantilesJson(all)}};
  j["budget_flipping"] = json::object();
  for (double share : {0.01, 0.05, 0.1, 0.5}) j["budget_flipping"][Shortest(share)] = BudgetFlipping(all, share);
  j["per_class"] = json::object();
  for (size_t c = 0; c < names.size(); ++c) {
    std::vector<double> v;
    for (size_t i = 0; i < labels.size(); ++i) {
      if (labels[i] == static_cast<int64_t>(c)) v.push_back(b.min_flip(static_cast<Eigen::Index>(i)));
    }
    j["per_class"][names[c]] = {{"n", v.size()}, {"quantiles", QuantilesJson(v)}};
  }
  // From each predicted class to each other class: how far the logits must move.
  j["to_class"] = json::object();
  for (size_t from = 0; from < names.size(); ++from) {
    json row = json::object();
    for (size_t to = 0; to < names.size(); ++to) {
      if (to == from) continue;
      std::vector<double> v;
      for (size_t i = 0; i < pred.size(); ++i) {
        if (pred[i] == static_cast<int64_t>(from)) {
          v.push_back(b.to_class(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(to)));
        }
      }
      row[names[to]] = {{"n", v.size()}, {"median", Quantile(v, 0.5)}, {"q10", Quantile(v, 0.1)}};
    }
    j["to_class"][names[from]] = row;
  }
  // Flip rate against budget on a geometric grid spanning the observed budgets.
  std::vector<double> sorted = all;
  std::sort(sorted.begin(), sorted.end());
  const double hi = sorted.back();
  double lo = hi;
  for (double v : sorted) {
    if (v > 0) {
      lo = v;
      break;
    }
  }
  lo = std::max(lo, hi * 1e-4);
  json curve = json::array();
  const int points = 24;
  const int64_t n = static_cast<int64_t>(sorted.size());
  for (int i = 0; i <= points; ++i) {
    // The last point is hi itself: lo·(hi/lo)^1 can round to just below it and miss the
    // example that needs the most.
    const double budget = hi <= 0 ? 0.0 : i == points ? hi : lo * std::pow(hi / lo, static_cast<double>(i) / points);
    const int64_t flips = std::upper_bound(sorted.begin(), sorted.end(), budget) - sorted.begin();
    curve.push_back({{"budget", budget},
                     {"flips", flips},
                     {"flip_rate", static_cast<double>(flips) / static_cast<double>(n)},
                     {"flip_rate_ci", IntervalJson(WilsonInterval(flips, n, confidence))}});
  }
  j["curve"] = curve;
  return j;
}

json BaselineJson(const Metrics& baseline, const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels,
                  const std::vector<std::string>& names, double seconds) {
  json base_json = MetricsJson(baseline, names, nullptr);
  base_json.erase("flips");
  base_json.erase("flip_rate");
  base_json.erase("flip_rate_ci");
  base_json.erase("mcnemar");
  // Precision and F1 round out the per-class picture; the confusion matrix is label × prediction.
  json precision = json::object(), f1 = json::object();
  std::vector<std::vector<int64_t>> confusion(names.size(), std::vector<int64_t>(names.size(), 0));
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) continue;
    ++confusion[static_cast<size_t>(labels[i])][static_cast<size_t>(predictions[i])];
  }
  for (size_t c = 0; c < names.size(); ++c) {
    int64_t predicted = 0;
    for (size_t r = 0; r < names.size(); ++r) predicted += confusion[r][c];
    const double p =
        predicted > 0 ? static_cast<double>(confusion[c][c]) / static_cast<double>(predicted) : std::nan("");
    const double r = baseline.recall[c];
    precision[names[c]] = p;
    f1[names[c]] = (p + r) > 0 ? 2 * p * r / (p + r) : std::nan("");
  }
  base_json["precision"] = precision;
  base_json["f1"] = f1;
  base_json["confusion"] = confusion;
  base_json["seconds"] = seconds;
  return base_json;
}

}  // namespace synapse

namespace synapse {

json ExperimentJson(const Experiment& e, const ExperimentResult& r, const std::vector<std::string>& names,
                    const Metrics& baseline, uint64_t seed) {
  using Kind = Experiment::Kind;
  using Selection = Experiment::Selection;
  const bool named = !e.name.empty();
  json row;
  if (named) row["query"] = e.name;
  if (e.kind == Kind::kLogitShift) {
    row["budget"] = e.budget;
    row["flips"] = r.pooled.flips;
    row["accuracy"] = r.pooled.accuracy;
    return row;
  }
  const std::string class_name =
      e.class_index >= 0 && e.class_index < static_cast<int64_t>(names.size()) ? names[e.class_index] : "";
  if (e.kind == Kind::kHeadWeightScale) {
    row["class"] = class_name;
    row["parameter"] = r.parameter;
    row["columns"] = r.neurons.front();
    row["factor"] = e.factor;
    row["metrics"] = MetricsJson(r.pooled, names, &baseline);
    return row;
  }
  static const char* kSelections[] = {"top", "bottom", "random", "class_top", "explicit"};
  const bool noise = e.kind == Kind::kNoise;
  const bool random = !noise && e.selection == Selection::kRandom;
  row["layer"] = e.layer;
  row["selection"] = noise ? "noise" : kSelections[static_cast<int>(e.selection)];
  if (!noise && e.selection == Selection::kClassTop) row["class"] = class_name;
  row["k"] = noise ? r.width : e.k;
  if (noise) {
    row["op"] = "noise";
    row["sigma"] = e.sigma;
    row["seed"] = seed;
    if (named && e.draws > 1) row["draws"] = e.draws;
  } else {
    if (!e.k_spec.empty()) row["k_spec"] = e.k_spec;
    row["op"] = e.to_mean ? "mean" : "zero";
    if (r.neurons.size() == 1 && (named || !random)) row["neurons"] = r.neurons.front();
    if (named && random) row["draws"] = r.neurons.size();
  }
  row["positions"] = e.positions == Positions::kPooled ? "pooled" : "all";
  row["metrics"] = MetricsJson(r.pooled, names, &baseline);
  if (named || !random) return row;
  // The grid's random rows: the pooled metrics above, each draw's range and results.
  double acc_min = 1, acc_max = 0, flip_min = 1, flip_max = 0;
  json per_seed = json::array();
  for (size_t d = 0; d < r.draws.size(); ++d) {
    const Metrics& m = r.draws[d];
    acc_min = std::min(acc_min, m.accuracy);
    acc_max = std::max(acc_max, m.accuracy);
    flip_min = std::min(flip_min, m.flip_rate);
    flip_max = std::max(flip_max, m.flip_rate);
    per_seed.push_back({{"seed", r.seeds[d]},
                        {"neurons", r.neurons[d]},
                        {"accuracy", m.accuracy},
                        {"flip_rate", m.flip_rate},
                        {"mcnemar_p", m.mcnemar_p}});
  }
  row["range"] = {{"accuracy", json::array({acc_min, acc_max})}, {"flip_rate", json::array({flip_min, flip_max})}};
  row["per_seed"] = per_seed;
  return row;
}

}  // namespace synapse
