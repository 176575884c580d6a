// Intra-op threads (LibTorch's OpenMP pool) against OpenBLAS threads: one forward pass over
// the same data for every split of the cores, on a small model (spam_tiny: 2 layers, hidden
// 32, 300 messages) and a larger one (bert_bench_traced: 4 layers, hidden 256, 64 × 128
// tokens). LibTorch calls OpenBLAS from inside its own parallel regions' caller thread, so
// with both pools at N threads up to 2N threads compete for N cores; libgomp's idle
// workers spin while OpenBLAS works unless OMP_WAIT_POLICY=PASSIVE.
//
//   build/bench/threads_bench --benchmark_counters_tabular=true
//   OMP_WAIT_POLICY=PASSIVE build/bench/threads_bench --benchmark_counters_tabular=true
//
// Args: {model (0 small, 1 larger), intra-op threads, OpenBLAS threads}; the counter
// `vs_best_split` is the pass's time over the fastest split's time measured in the same
// iteration (each iteration times every split once, in rotating order).
#include <benchmark/benchmark.h>
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "synapse/synapse.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Workload {
  synapse::Model model;
  std::vector<synapse::Example> examples;
};

Workload& Get(int which) {
  static std::vector<std::unique_ptr<Workload>> loaded(2);
  if (!loaded[which]) {
    const std::string dir = SYNAPSE_FIXTURE_DIR;
    std::vector<synapse::Example> examples;
    if (which == 0) {
      for (const auto& r : synapse::ReadJsonlRows(dir + "/spam_eval_ids.jsonl")) examples.push_back(r.example);
      loaded[which] = std::make_unique<Workload>(Workload{synapse::Model::Load(dir + "/spam_tiny.pt"), examples});
    } else {
      std::mt19937 rng(7);
      for (int i = 0; i < 64; ++i) {
        std::vector<int64_t> ids(128);
        for (auto& x : ids) x = 5 + static_cast<int64_t>(rng() % 7000);
        examples.push_back(synapse::Example::Tokens(ids));
      }
      loaded[which] =
          std::make_unique<Workload>(Workload{synapse::Model::Load(dir + "/bert_bench_traced.pt"), examples});
    }
  }
  return *loaded[which];
}

void SetSplit(int intra, int blas) {
  synapse::SetThreads(intra);  // both pools to `intra` ...
  using SetFn = void (*)(int);
  if (auto fn = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) fn(blas);  // ... then BLAS's
}

double Pass(Workload& w) {
  const auto t = Clock::now();
  synapse::RunPlans(w.model, w.examples, {synapse::Plan{}}, synapse::BatchOptions().batch_size(32));
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void BM_ThreadSplit(benchmark::State& state) {
  synapse::KeepFreedMemory();
  const int cores = synapse::DefaultThreads();
  Workload& w = Get(static_cast<int>(state.range(0)));
  const int intra = std::min<int>(static_cast<int>(state.range(1)), cores);
  const int blas = std::min<int>(static_cast<int>(state.range(2)), cores);
  std::vector<std::pair<int, int>> splits = {{1, 1}, {1, cores}, {cores, 1}, {cores, cores}};
  SetSplit(intra, blas);
  Pass(w);  // warm up
  int rotation = 0;
  for (auto _ : state) {
    double mine = 0, best = 1e30;
    for (size_t i = 0; i < splits.size(); ++i) {
      const auto& s = splits[(i + static_cast<size_t>(rotation)) % splits.size()];
      SetSplit(s.first, s.second);
      const double t = Pass(w);
      best = std::min(best, t);
      if (s.first == intra && s.second == blas) mine = t;
    }
    ++rotation;
    state.SetIterationTime(mine);
    state.counters["vs_best_split"] = mine / best;
    state.counters["pass_s"] = mine;
  }
}
BENCHMARK(BM_ThreadSplit)
    ->ArgsProduct({{0, 1}, {1, 2}, {1, 2}})
    ->ArgNames({"model", "intra", "blas"})
    ->Iterations(5)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
