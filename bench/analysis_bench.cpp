// The cost of each analysis stage, in units of one plain forward pass over the same data,
// measured side by side in one run: a forward pass (no captures), the extraction pass
// (every layer captured), one probe fit per layer, one sweep configuration, and the whole
// default protocol. Real data: the spam_tiny fixture on its 300 held-out messages.
//
//   build/bench/analysis_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <chrono>

#include "synapse/synapse.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Data {
  std::vector<synapse::Example> examples;
  std::vector<int64_t> labels;
  std::vector<std::string> names;
};

Data Load() {
  const std::string dir = SYNAPSE_FIXTURE_DIR;
  Data d;
  d.names = synapse::LoadLabelNames(dir + "/spam_tiny_labels.json");
  auto rows = synapse::ReadJsonlRows(dir + "/spam_eval_ids.jsonl");
  synapse::ResolveLabels("spam_eval_ids.jsonl", d.names, &rows);
  for (const auto& r : rows) {
    d.examples.push_back(r.example);
    d.labels.push_back(r.label_index);
  }
  return d;
}

double Seconds(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Stage times relative to the plain forward pass measured in the same iteration.
void BM_AnalysisStages(benchmark::State& state) {
  synapse::KeepFreedMemory();  // as the CLI does
  synapse::SetThreads(static_cast<int>(state.range(0)));
  auto model = synapse::Model::Load(std::string(SYNAPSE_FIXTURE_DIR) + "/spam_tiny.pt");
  const Data d = Load();
  const synapse::BatchOptions batching;
  synapse::RunPlans(model, d.examples, {synapse::Plan{}}, batching);  // warm up the JIT
  for (auto _ : state) {
    auto t = Clock::now();
    synapse::RunPlans(model, d.examples, {synapse::Plan{}}, batching);
    const double forward = Seconds(t);
    t = Clock::now();
    synapse::Extraction x = synapse::Extract(model, d.examples, batching);
    const double extraction = Seconds(t);
    const synapse::Split split = synapse::StratifiedSplit(d.labels, 0.2, 1);
    t = Clock::now();
    for (const auto& [layer, acts] : x.activations) synapse::FitProbe(acts, d.labels, 3, split);
    const double probe = Seconds(t) / static_cast<double>(x.activations.size());
    t = Clock::now();
    synapse::RunPlans(model, d.examples,
                      {{synapse::Intervention::Zero(synapse::Site::Layer(0), synapse::Neurons::Of({1, 2, 3}))}},
                      batching);
    const double config = Seconds(t);
    state.counters["forward_s"] = forward;
    state.counters["extraction_x"] = extraction / forward;
    state.counters["probe_per_layer_x"] = probe / forward;
    state.counters["sweep_config_x"] = config / forward;
  }
}
BENCHMARK(BM_AnalysisStages)->Arg(1)->Arg(2)->ArgName("threads")->Iterations(5)->Unit(benchmark::kMillisecond);

// The whole default protocol, in forward-pass equivalents (from the report's own timing).
void BM_DefaultAnalysis(benchmark::State& state) {
  synapse::KeepFreedMemory();
  synapse::SetThreads(static_cast<int>(state.range(0)));
  auto model = synapse::Model::Load(std::string(SYNAPSE_FIXTURE_DIR) + "/spam_tiny.pt");
  const Data d = Load();
  for (auto _ : state) {
    const synapse::AnalysisResult result = synapse::Analyze(model, d.examples, d.labels, d.names);
    const synapse::AnalysisTiming& t = result.timing;
    state.counters["forward_s"] = t.forward_pass_s;
    state.counters["sweep_configs"] = static_cast<double>(t.sweep_configurations);
    state.counters["sweep_x"] = t.ForwardPasses(t.sweep_s);
    state.counters["weight_space_x"] = t.ForwardPasses(t.weight_space_s);
    state.counters["total_x"] = t.ForwardPasses(t.total_s);
    state.counters["total_s"] = t.total_s;
  }
}
BENCHMARK(BM_DefaultAnalysis)->Arg(1)->Arg(2)->ArgName("threads")->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
