// Robustness metrics as Google Benchmark results, so that Google Benchmark's own
// compare.py (Debian libbenchmark-tools) tracks robustness across model versions the way it
// tracks speed:
//
//   SYNAPSE_MODEL=models/v1 robustness_metrics_bench --benchmark_out=v1.json
//   SYNAPSE_MODEL=models/v2 robustness_metrics_bench --benchmark_out=v2.json
//   /usr/share/benchmark/compare.py benchmarks v1.json v2.json
//
// compare.py compares times, lower being better, and ignores user counters. So each
// metric is one benchmark whose manual time is the metric's *shortfall* in seconds
// (1 − accuracy for accuracies, 1 / budget for logit flip budgets): a robustness regression
// shows as a slower benchmark. The metric itself is a user counter ("value") next to it.
// Counters also carry n, so a reader can judge the change's size against its noise.
//
// Benchmarks: baseline_accuracy, top10_ablation_accuracy/layer:L for every layer,
// random10_ablation_accuracy/layer:L (the control), flip_budget_1pct, min_flip_budget.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "synapse/experiments.h"
#include "synapse/robustness/model_under_test.h"
#include "synapse/runtime.h"

namespace {

using synapse::robustness::Config;
using synapse::robustness::ModelUnderTest;
using synapse::robustness::Outcome;

std::shared_ptr<ModelUnderTest> TheModel() {
  // SYNAPSE_MODEL (read by ResolveConfig) picks the version; the default is the embedded one.
  static std::shared_ptr<ModelUnderTest> model = ModelUnderTest::Shared(Config().model(SYNAPSE_DEFAULT_MODEL));
  return model;
}

// Registers one metric: `measure` returns {value, shortfall, n}.
struct Measured {
  double value;
  double shortfall;
  double n;
};

template <typename F>
void Metric(const std::string& name, F measure) {
  benchmark::RegisterBenchmark(name.c_str(),
                               [measure](benchmark::State& state) {
                                 const Measured m = measure();
                                 for (auto _ : state) state.SetIterationTime(m.shortfall);
                                 state.counters["value"] = m.value;
                                 state.counters["n"] = m.n;
                               })
      ->UseManualTime()
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
}

Measured AccuracyOf(const Outcome& o) {
  const double acc = o.accuracy.value();
  return {acc, 1 - acc, static_cast<double>(o.accuracy.n)};
}

}  // namespace

int main(int argc, char** argv) {
  synapse::KeepFreedMemory();
  synapse::SetThreads(1);
  benchmark::Initialize(&argc, argv);
  std::shared_ptr<ModelUnderTest> model;
  try {
    model = TheModel();
  } catch (const std::exception& e) {
    std::cerr << "robustness_metrics_bench: " << e.what() << "\n";
    return 2;
  }
  Metric("baseline_accuracy", [model] { return AccuracyOf(model->Baseline()); });
  for (int layer = 0; layer < model->num_layers(); ++layer) {
    const std::string at = "/layer:" + std::to_string(layer);
    Metric("top10_ablation_accuracy" + at,
           [model, layer] { return AccuracyOf(model->Ablate(synapse::robustness::TopK(10)).AtLayer(layer)); });
    Metric("random10_ablation_accuracy" + at, [model, layer] {
      return AccuracyOf(model->Ablate(synapse::robustness::RandomK(10).Seeds(3)).AtLayer(layer));
    });
  }
  auto budgets = [model] {
    const Outcome base = model->Baseline();
    return base.flip_budget;
  };
  Metric("flip_budget_1pct", [budgets] {
    const double b = synapse::BudgetFlipping(budgets(), 0.01);
    return Measured{b, 1 / std::max(b, 1e-9), static_cast<double>(budgets().size())};
  });
  Metric("min_flip_budget", [budgets] {
    const std::vector<double> all = budgets();
    const double b = *std::min_element(all.begin(), all.end());
    return Measured{b, 1 / std::max(b, 1e-9), static_cast<double>(all.size())};
  });
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
