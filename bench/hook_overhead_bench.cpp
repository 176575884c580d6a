// Idle hook overhead: the same model loaded untouched and with hook operators installed,
// measured side by side in one run. Interleaved repetitions keep machine noise out of the
// ratio; report the ratio of the medians.
//
//   build/bench/hook_overhead_bench --benchmark_repetitions=10 \
//       --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <chrono>
#include <random>

#include "synapse/synapse.h"

namespace {

std::vector<synapse::Example> Batch(int batch, int tokens, int vocab) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int64_t> id(3, vocab - 1);
  std::vector<synapse::Example> out;
  for (int b = 0; b < batch; ++b) {
    std::vector<int64_t> ids(static_cast<size_t>(tokens));
    for (auto& x : ids) x = id(rng);
    ids[0] = 2;
    out.push_back(synapse::Example::Tokens(ids));
  }
  return out;
}

struct Setup {
  const char* file;
  int batch, tokens, vocab;
};

const Setup kSetups[] = {
    {"bert_bench_traced.pt", 8, 128, 8000},  // 4 layers, hidden 256: real work per layer
    {"bert_traced.pt", 4, 9, 100},           // 3 layers, hidden 32: interpreter-bound worst case
};

void BM_Forward(benchmark::State& state) {
  const Setup& s = kSetups[state.range(0)];
  const bool hooks = state.range(1) != 0;
  synapse::SetThreads(synapse::DefaultThreads());
  auto model = synapse::Model::Load(std::string(SYNAPSE_FIXTURE_DIR) + "/" + s.file,
                                    synapse::ModelOptions().install_hooks(hooks));
  auto batch = Batch(s.batch, s.tokens, s.vocab);
  for (int i = 0; i < 3; ++i) model.Run(batch);  // profiling executor warm-up
  for (auto _ : state) benchmark::DoNotOptimize(model.Run(batch));
  state.SetLabel(std::string(s.file) + (hooks ? " idle hooks" : " unpatched"));
  state.counters["sequences/s"] =
      benchmark::Counter(static_cast<double>(s.batch) * state.iterations(), benchmark::Counter::kIsRate);
}

// Both models in one loop, alternating pass by pass, so machine noise and drift hit both
// alike; the counter `hooked/plain` is the overhead ratio (1.00 = none).
void BM_IdleHookRatio(benchmark::State& state) {
  const Setup& s = kSetups[state.range(0)];
  synapse::SetThreads(synapse::DefaultThreads());
  const std::string path = std::string(SYNAPSE_FIXTURE_DIR) + "/" + s.file;
  auto plain = synapse::Model::Load(path, synapse::ModelOptions().install_hooks(false));
  auto hooked = synapse::Model::Load(path);
  auto batch = Batch(s.batch, s.tokens, s.vocab);
  for (int i = 0; i < 3; ++i) {
    plain.Run(batch);
    hooked.Run(batch);
  }
  using Clock = std::chrono::steady_clock;
  double plain_s = 0, hooked_s = 0;
  bool hooked_first = false;
  for (auto _ : state) {
    for (int order = 0; order < 2; ++order) {
      const bool run_hooked = (order == 0) == hooked_first;
      auto start = Clock::now();
      benchmark::DoNotOptimize((run_hooked ? hooked : plain).Run(batch));
      double dt = std::chrono::duration<double>(Clock::now() - start).count();
      (run_hooked ? hooked_s : plain_s) += dt;
    }
    hooked_first = !hooked_first;
  }
  state.SetLabel(s.file);
  state.counters["hooked/plain"] = hooked_s / plain_s;
}

BENCHMARK(BM_IdleHookRatio)->Arg(0)->Arg(1)->ArgName("model")->Unit(benchmark::kMillisecond);

BENCHMARK(BM_Forward)->ArgsProduct({{0, 1}, {0, 1}})->ArgNames({"model", "hooks"})->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
