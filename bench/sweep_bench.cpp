// What a SYNAPSE sweep costs in plain forward passes, with and without suffix execution,
// measured side by side in one run on one model and one data set.
//
//   build/bench/sweep_bench --benchmark_counters_tabular=true
//
// The model defaults to the bert_bench_traced.pt fixture (4 layers, hidden 256); point
// SYNAPSE_SWEEP_MODEL at another TorchScript token classifier (bench/sweep_vs_python.py
// makes a BERT-base-shaped one). SYNAPSE_SWEEP_EXAMPLES (default 64) examples of
// SYNAPSE_SWEEP_TOKENS (default 128) random token ids, labels cycling through the classes, batch 32.
//
// BM_Sweep, per iteration, in units of one plain forward pass over the data (the model
// loaded without hooks), all measured in that iteration:
//   extraction_x  Extract with every layer captured
//   analysis_x    the default protocol on the last 4 layers, weight space off
//                 (extraction + probes + sweep), with suffix execution
//   sweep_x       of which the sweep
//   naive_x       that sweep's configurations × one whole hooked forward with one
//                 intervention (what the sweep costs without suffix execution)
//   speedup       naive_x / sweep_x
// BM_SuffixCost: one configuration at layer L (counted from the end) with suffix
// execution, in plain forward passes; 8 configurations per call, so the shared unperturbed
// pass is spread as it is in a sweep.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <random>

#include "synapse/synapse.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoll(v) : fallback;
}

std::string ModelPath() {
  const char* v = std::getenv("SYNAPSE_SWEEP_MODEL");
  return v != nullptr && *v != '\0' ? v : std::string(SYNAPSE_FIXTURE_DIR) + "/bert_bench_traced.pt";
}

struct Data {
  std::vector<synapse::Example> examples;
  std::vector<int64_t> labels;
  std::vector<std::string> names;
};

Data MakeData(int64_t classes) {
  const int64_t n = EnvInt("SYNAPSE_SWEEP_EXAMPLES", 64);
  const int64_t t = EnvInt("SYNAPSE_SWEEP_TOKENS", 128);
  std::mt19937 rng(20261126);
  std::uniform_int_distribution<int64_t> id(5, 7999);
  Data d;
  for (int64_t c = 0; c < classes; ++c) d.names.push_back("class" + std::to_string(c));
  for (int64_t i = 0; i < n; ++i) {
    std::vector<int64_t> ids(static_cast<size_t>(t));
    for (auto& x : ids) x = id(rng);
    ids.front() = 2;
    ids.back() = 3;
    d.examples.push_back(synapse::Example::Tokens(ids));
    d.labels.push_back(i % classes);
  }
  return d;
}

const synapse::BatchOptions kBatching = synapse::BatchOptions().batch_size(32);

double PlainForward(const synapse::Model& plain, const Data& d) {
  const auto t = Clock::now();
  synapse::RunPlans(plain, d.examples, {synapse::Plan{}}, kBatching);
  return Seconds(t);
}

void BM_Sweep(benchmark::State& state) {
  synapse::KeepFreedMemory();
  synapse::SetThreads(static_cast<int>(state.range(0)));
  const auto plain = synapse::Model::Load(ModelPath(), synapse::ModelOptions().install_hooks(false));
  auto model = synapse::Model::Load(ModelPath());
  const Data d = MakeData(model.num_classes());
  PlainForward(plain, d);  // warm up the JIT
  synapse::RunPlans(model, d.examples, {synapse::Plan{}}, kBatching);
  const int layers = static_cast<int>(model.layers().size());
  for (auto _ : state) {
    const double forward = PlainForward(plain, d);
    auto t = Clock::now();
    synapse::Extract(model, d.examples, kBatching);
    const double extraction = Seconds(t);
    t = Clock::now();
    const synapse::AnalysisResult result = synapse::Analyze(
        model, d.examples, d.labels, d.names,
        synapse::AnalysisOptions().layers({layers - 4, layers - 3, layers - 2, layers - 1}).weight_space(false));
    const double analysis = Seconds(t);
    const double sweep = result.timing.sweep_s;
    const double configs = static_cast<double>(result.timing.sweep_configurations);
    t = Clock::now();
    synapse::RunPlans(model, d.examples,
                      {{synapse::Intervention::Zero(synapse::Site::Layer(-4), synapse::Neurons::Of({1, 2, 3}))}},
                      synapse::BatchOptions(kBatching).suffix_execution(false));
    const double one_naive = Seconds(t);
    state.counters["forward_s"] = forward;
    state.counters["extraction_x"] = extraction / forward;
    state.counters["analysis_x"] = analysis / forward;
    state.counters["sweep_x"] = sweep / forward;
    state.counters["configs"] = configs;
    state.counters["naive_x"] = configs * one_naive / forward;
    state.counters["speedup"] = configs * one_naive / sweep;
  }
}
BENCHMARK(BM_Sweep)->Arg(2)->ArgName("threads")->Iterations(1)->Unit(benchmark::kSecond);

void BM_SuffixCost(benchmark::State& state) {
  synapse::KeepFreedMemory();
  synapse::SetThreads(2);
  const auto plain = synapse::Model::Load(ModelPath(), synapse::ModelOptions().install_hooks(false));
  const auto model = synapse::Model::Load(ModelPath());
  const Data d = MakeData(model.num_classes());
  const int layer = static_cast<int>(state.range(0));
  std::vector<synapse::Plan> plans;
  for (int64_t j = 0; j < 8; ++j) {
    plans.push_back({synapse::Intervention::Zero(synapse::Site::Layer(layer), synapse::Neurons::Of({j, j + 8}))});
  }
  synapse::RunPlans(model, d.examples, plans, kBatching);  // warm up
  for (auto _ : state) {
    const double forward = PlainForward(plain, d);
    const auto t = Clock::now();
    synapse::RunPlans(model, d.examples, plans, kBatching);
    state.counters["per_config_x"] = Seconds(t) / static_cast<double>(plans.size()) / forward;
  }
}
BENCHMARK(BM_SuffixCost)->Arg(-1)->Arg(-2)->Arg(-3)->Arg(-4)->ArgName("layer")->Iterations(2)->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
