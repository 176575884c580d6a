#include "synapse/robustness/outcome.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "engine/layer_index.h"
#include "synapse/error.h"
#include "synapse/experiment.h"

namespace synapse::robustness {
namespace {

using nlohmann::json;

[[noreturn]] void Missing(const std::string& what) { throw DataError(210, "report: " + what); }

const json& Field(const json& object, const char* key, const std::string& where) {
  if (!object.is_object() || !object.contains(key)) Missing(where + " has no \"" + key + "\"");
  return object[key];
}

// The experiment a layer's report row describes (rows read back from report.json are
// described as live ones are: synapse::Describe).
std::string DescribeRow(const json& row, int layer, const std::string& layer_name) {
  static const std::map<std::string, Experiment::Selection> kSelections = {
      {"top", Experiment::Selection::kTop},
      {"bottom", Experiment::Selection::kBottom},
      {"random", Experiment::Selection::kRandom},
      {"class_top", Experiment::Selection::kClassTop},
      {"explicit", Experiment::Selection::kExplicit}};
  const std::string selection = row.value("selection", "");
  Experiment e = selection == "noise" ? Experiment::Noise(layer, row.value("sigma", 0.0))
                                      : Experiment::Ablate(layer, Experiment::Selection::kTop, 0);
  auto it = kSelections.find(selection);
  if (it != kSelections.end()) e.selection = it->second;
  e.k = row.value("k", int64_t{0});
  e.to_mean = row.value("op", "zero") == "mean";
  e.positions = row.value("positions", "all") == "pooled" ? Positions::kPooled : Positions::kAll;
  e.draws = static_cast<int>(row.contains("draws")      ? row["draws"].get<size_t>()
                             : row.contains("per_seed") ? row["per_seed"].size()
                                                        : 1);
  e.class_index = 0;
  return Describe(e, layer_name, {row.value("class", "?")});
}

// Examples per class (data.support), times `draws` for rows that pool several draws.
std::map<std::string, int64_t> ClassSupport(const json& report, int64_t draws = 1) {
  const json& support = Field(Field(report, "data", "the report"), "support", "data");
  if (!support.is_object() || support.empty()) Missing("data.support is not an object of class counts");
  std::map<std::string, int64_t> out;
  for (const auto& [name, n] : support.items()) out[name] = n.get<int64_t>() * draws;
  return out;
}

// Recall counts from rates: rate × support is an integer up to rounding.
std::map<std::string, Rate> RecallRates(const json& metrics, const std::map<std::string, int64_t>& support,
                                        const std::string& where) {
  std::map<std::string, Rate> out;
  for (const auto& [name, n] : support) {
    const json& recall = Field(Field(metrics, "recall", where), name.c_str(), where + ".recall");
    out[name] = Rate{recall.is_number() ? std::llround(recall.get<double>() * static_cast<double>(n)) : 0, n};
  }
  return out;
}

Rate Accuracy(const json& metrics, const std::string& where) {
  return Rate{Field(metrics, "correct", where).get<int64_t>(), Field(metrics, "n", where).get<int64_t>()};
}

}  // namespace

double Rate::value() const {
  return n > 0 ? static_cast<double>(successes) / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
}

Interval Rate::Wilson(double confidence) const { return WilsonInterval(successes, n, confidence); }

Outcome BaselineOutcome(const json& report) {
  const json& baseline = Field(report, "baseline", "the report");
  const std::map<std::string, int64_t> support = ClassSupport(report);
  Outcome o;
  o.accuracy = o.baseline_accuracy = Accuracy(baseline, "baseline");
  o.recall = o.baseline_recall = RecallRates(baseline, support, "baseline");
  o.flips = Rate{0, o.accuracy.n};
  if (report.contains("options")) o.confidence = report["options"].value("confidence", 0.95);
  return o;
}

Outcome ExperimentOutcome(const json& report, int layer, const std::string& selection, int64_t k,
                          const std::string& class_name, double sigma) {
  const json& layers = Field(report, "layers", "the report");
  const int count = static_cast<int>(layers.size());
  const int index = LayerIndex(layer, count);
  std::ostringstream asked;
  asked << selection << (selection == "noise" ? "" : " k=" + std::to_string(k))
        << (class_name.empty() ? "" : " class " + class_name) << " at layer " << layer;
  if (index < 0) Missing(NoSuchLayerText(layer, count, "the report"));
  const json& l = layers[static_cast<size_t>(index)];
  for (const json& row : Field(l, "experiments", "layer")) {
    if (row.value("selection", "") != selection) continue;
    if (selection == "noise") {
      if (std::abs(row.value("sigma", -1.0) - sigma) > 1e-12) continue;
    } else if (row.value("k", int64_t{-1}) != k) {
      continue;
    }
    if (selection == "class_top" && row.value("class", "") != class_name) continue;
    Outcome o = BaselineOutcome(report);
    const json& metrics = Field(row, "metrics", "experiment");
    o.what = DescribeRow(row, index, l.value("name", "?"));
    o.accuracy = Accuracy(metrics, "metrics");
    // Random rows pool their draws: n is draws × examples.
    const int64_t draws = o.baseline_accuracy.n > 0 ? o.accuracy.n / o.baseline_accuracy.n : 1;
    o.recall = RecallRates(metrics, ClassSupport(report, draws), "metrics");
    o.flips = Rate{Field(metrics, "flips", "metrics").get<int64_t>(), o.accuracy.n};
    if (selection == "class_top") o.target_class = class_name;
    // Top, bottom and class rows have the report's random rows of the same k as control.
    if (selection != "random" && selection != "noise") {
      for (const json& other : l["experiments"]) {
        if (other.value("selection", "") == "random" && other.value("k", int64_t{-1}) == k &&
            other.value("positions", "") == row.value("positions", "")) {
          // Read now: the control is a few fields of the report, which need not outlive us.
          const Outcome control = ExperimentOutcome(report, layer, "random", k);
          o.random_control = [control]() { return control; };
        }
      }
    }
    return o;
  }
  Missing("no experiment " + asked.str() + "; run the analysis with that layer and k");
}

ProbeOutcome ProbeOutcomeOf(const json& report, int layer) {
  const json& layers = Field(report, "layers", "the report");
  const int count = static_cast<int>(layers.size());
  const int index = LayerIndex(layer, count);
  if (index < 0) Missing(NoSuchLayerText(layer, count, "the report"));
  const json& l = layers[static_cast<size_t>(index)];
  const json& probe = Field(l, "probe", "layer " + std::to_string(index));
  ProbeOutcome o;
  o.layer = index;
  o.layer_name = l.value("name", "");
  const int64_t n = Field(probe, "test_size", "probe").get<int64_t>();
  const json& acc = Field(probe, "test_accuracy", "probe");
  o.test_accuracy = Rate{acc.is_number() ? std::llround(acc.get<double>() * static_cast<double>(n)) : 0, n};
  o.train_accuracy = probe.value("train_accuracy", 0.0);
  o.converged = probe.value("converged", false);
  o.iterations = probe.value("iterations", 0);
  if (report.contains("options")) o.confidence = report["options"].value("confidence", 0.95);
  o.query = "Probe(" + std::to_string(layer) + ")";
  return o;
}

}  // namespace synapse::robustness
