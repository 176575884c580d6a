// ReportJson: an AnalysisResult as report.json (docs/report-schema.md), the analysis's one
// JSON edge. Keys in the schema's order; the sections shared with the robustness tests
// come from report_json.h.
#include <algorithm>
#include <string>
#include <vector>

#include "report/report_json.h"
#include "synapse/analysis.h"
#include "synapse/analysis_result.h"

namespace synapse {
namespace {

using json = nlohmann::ordered_json;

// The report's "data" section as the analysis knows it (the CLI adds where the rows came from).
json DataJson(const AnalysisResult& r) {
  json data;
  data["examples"] = r.data.examples;
  data["examples_hash"] = r.data.examples_hash;
  data["classes"] = r.class_names;
  data["support"] = json::object();
  for (size_t c = 0; c < r.class_names.size(); ++c) data["support"][r.class_names[c]] = r.baseline.metrics.support[c];
  return data;
}

// The options echo: what the analysis ran with, experiment layers resolved.
json OptionsJson(const AnalysisOptions& o, const std::vector<int>& layers) {
  const BatchOptions& b = o.batching();
  const WeightSpaceOptions& w = o.weight_space_options();
  json j;
  j["pool"] = PoolingName(b.pool());
  j["batch_size"] = b.batch_size();
  j["pad_id"] = b.pad_id();
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
  j["head_k"] = w.head_k();
  j["head_max_factor"] = w.head_max_factor();
  j["linear_head"] = w.linear_head();
  j["head_input"] = w.head_input();
  j["target_rate"] = w.target_rate();
  j["bisect_steps"] = w.bisect_steps();
  j["weight_noise"] = w.weight_noise();
  j["weight_noise_seeds"] = w.weight_noise_seeds();
  return j;
}

json FragilityJson(const LayerFragility& f) {
  return {{"k", f.k},
          {"top_drop", f.top_drop},
          {"random_drop", f.random_drop},
          {"excess", f.excess},
          {"mcnemar_p", f.mcnemar_p}};
}

// One layer: probe and ranking; for a swept layer its experiments, fragility and class
// asymmetry.
json LayerJson(const AnalysisResult& r, const LayerResult& layer) {
  const AnalysisOptions& o = r.options;
  json lj;
  lj["index"] = layer.index;
  lj["name"] = layer.name;
  lj["hidden"] = layer.hidden;
  lj.update(
      ProbeJson(layer.probe.fit, layer.probe.ranking, r.class_names, o.mass(), o.confidence(), layer.probe.seconds));
  lj["experiments"] = json::array();
  if (!layer.swept) return lj;
  for (const LayerExperiment& row : layer.experiments) {
    lj["experiments"].push_back(
        ExperimentJson(row.experiment, row.result, r.class_names, r.baseline.metrics, o.seed()));
  }
  lj["fragility"] = layer.fragility ? FragilityJson(*layer.fragility) : json();
  json asym = json::array();
  for (const ClassAsymmetry& a : layer.class_asymmetry) {
    asym.push_back({{"k", a.k},
                    {"ablated", r.class_names},
                    {"recall", a.recall},
                    {"recall_drop", a.recall_drop},
                    {"asymmetry", a.asymmetry},
                    {"most_affected_class", a.most_affected_class}});
  }
  lj["class_asymmetry"] = asym;
  return lj;
}

// The report's "timing": each stage in seconds and in forward-pass equivalents, the
// activation cache's answer and where suffix execution cut the forward.
json TimingJson(const AnalysisTiming& t) {
  json timing;
  timing["extraction_s"] = t.extraction_s;
  timing["probes_s"] = t.probes_s;
  timing["sweep_s"] = t.sweep_s;
  timing["sweep_configurations"] = t.sweep_configurations;
  timing["logit_space_s"] = t.logit_space_s;
  timing["weight_space_s"] = t.weight_space_s;
  timing["weight_space_passes"] = t.weight_space_passes;
  timing["total_s"] = t.total_s;
  timing["forward_pass_s"] = t.forward_pass_s;
  timing["forward_pass_equivalents"] = {{"extraction", t.ForwardPasses(t.extraction_s)},
                                        {"probes", t.ForwardPasses(t.probes_s)},
                                        {"sweep", t.ForwardPasses(t.sweep_s)},
                                        {"weight_space", t.ForwardPasses(t.weight_space_s)},
                                        {"total", t.ForwardPasses(t.total_s)}};
  const CacheLookup& cache = t.activation_cache;
  timing["activation_cache"] = {{"status", cache.status}, {"path", cache.path}, {"reason", cache.reason}};
  const SuffixExecution& cut = t.suffix_execution;
  timing["suffix_execution"] = {{"enabled", t.suffix_execution_enabled},
                                {"layers", cut.layers},
                                {"fallback", cut.fallback_reason},
                                {"pooled_rows", {{"layer", cut.pooled_rows_layer}, {"summary", cut.pooled_rows}}}};
  return timing;
}

// The summary: what a person reads first.
json SummaryJson(const AnalysisResult& r, const json& baseline) {
  const AnalysisSummary& s = r.summary;
  json summary;
  summary["baseline_accuracy"] = r.baseline.metrics.accuracy;
  summary["baseline_accuracy_ci"] = IntervalJson(r.baseline.metrics.accuracy_ci);
  summary["baseline_recall"] = baseline["recall"];
  json layer;
  if (s.most_fragile_layer) {
    layer = FragilityJson(s.most_fragile_layer->fragility);
    layer["layer"] = s.most_fragile_layer->layer;
    layer["name"] = s.most_fragile_layer->name;
  }
  summary["most_fragile_layer"] = layer;
  json cls;
  if (s.most_fragile_class) {
    const FragileClass& c = *s.most_fragile_class;
    cls = {{"class", c.class_name},
           {"layer", c.layer},
           {"name", c.name},
           {"k", c.k},
           {"recall", c.recall},
           {"recall_ci", IntervalJson(c.recall_ci)},
           {"baseline_recall", c.baseline_recall},
           {"drop", c.drop}};
  }
  summary["most_fragile_class"] = cls;
  summary["flip_budget_1pct"] = s.flip_budget_1pct;
  json best_probe;
  if (s.best_probe) {
    best_probe = {
        {"layer", s.best_probe->layer}, {"name", s.best_probe->name}, {"test_accuracy", s.best_probe->test_accuracy}};
  }
  summary["best_probe"] = best_probe;
  return summary;
}

}  // namespace

json ReportJson(const AnalysisResult& r) {
  json report;
  report["schema_version"] = kReportSchemaVersion;
  report["model"] = ModelJson(r.model);
  report["data"] = DataJson(r);
  report["options"] = OptionsJson(r.options, r.experiment_layers);
  report["baseline"] =
      BaselineJson(r.baseline.metrics, r.baseline.predictions, r.data.labels, r.class_names, r.baseline.seconds);
  report["layers"] = json::array();
  for (const LayerResult& layer : r.layers) report["layers"].push_back(LayerJson(r, layer));
  report["logit_space"] = r.logit_space;
  report["weight_space"] = r.weight_space;
  report["environment"] = EnvironmentJson(r.environment);
  report["timing"] = TimingJson(r.timing);
  report["summary"] = SummaryJson(r, report["baseline"]);
  if (r.options.shard_count() > 1) {
    report["shard"] = {{"index", r.options.shard_index()}, {"total", r.options.shard_count()}};
  }
  return report;
}

}  // namespace synapse
