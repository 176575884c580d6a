#include "synapse/runtime.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <link.h>
#include <malloc.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <string>
#include <thread>

namespace synapse {
namespace {

int CollectBlas(struct dl_phdr_info* info, size_t, void* data) {
  std::string name = info->dlpi_name ? info->dlpi_name : "";
  if (name.find("libblas") != std::string::npos || name.find("openblas") != std::string::npos ||
      name.find("mkl_rt") != std::string::npos || name.find("libblis") != std::string::npos) {
    auto* out = static_cast<std::string*>(data);
    if (out->empty()) *out = name;
  }
  return 0;
}

std::string Resolve(const std::string& path) {
  char buf[PATH_MAX];
  return realpath(path.c_str(), buf) ? std::string(buf) : path;
}

std::string Vendor(const std::string& path) {
  if (path.find("openblas") != std::string::npos) return "openblas";
  if (path.find("mkl") != std::string::npos) return "mkl";
  if (path.find("blis") != std::string::npos) return "blis";
  if (path.find("/blas/") != std::string::npos) return "reference";
  return "unknown";
}

}  // namespace

bool KeepFreedMemory() {
#ifdef __GLIBC__
  // 32 MiB is the largest mmap threshold glibc accepts on 64-bit systems; blocks below it
  // come from the heap, which is trimmed only when 1 GiB sits free at its top.
  const bool mmap_ok = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1;
  const bool trim_ok = mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;
  if (!mmap_ok || !trim_ok) return false;
  // glibc 2.43 (Debian testing) accepts both settings and still serves and returns large
  // blocks outside the heap: check with one block that it comes from the heap and stays
  // there once freed, and say so rather than promise what does not hold.
  const size_t probe = size_t{8} << 20;
  const size_t before = mallinfo2().arena;
  void* block = std::malloc(probe);
  if (block == nullptr) return false;
  static_cast<volatile char*>(block)[probe - 1] = 0;
  const size_t held = mallinfo2().arena;
  std::free(block);
  return held >= before + probe && mallinfo2().arena >= held;
#else
  return false;
#endif
}

int DefaultThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

namespace {
int requested_threads = 0;
}  // namespace

void SetThreads(int threads) {
  if (threads < 1) threads = 1;
  requested_threads = threads;
  // LibTorch calls BLAS from one thread and OpenBLAS parallelizes the product itself. With
  // LibTorch's OpenMP pool at N threads as well, up to 2N threads fight over N cores (its
  // idle workers spin while OpenBLAS works): 2-4x slower passes on two cores. The cores go
  // to OpenBLAS, where a Transformer spends its time, and LibTorch's own ops run on one
  // thread: the fastest split measured on small and larger models (bench/threads_bench).
  using SetFn = void (*)(int);
  if (auto fn = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    fn(threads);
    at::set_num_threads(1);
  } else {
    at::set_num_threads(threads);  // a single-threaded BLAS: LibTorch's pool is all there is
  }
}

RuntimeInfo DescribeRuntime() {
  RuntimeInfo info;
  info.intra_op_threads = at::get_num_threads();
  using GetFn = int (*)();
  auto get = reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  info.blas_threads = get != nullptr ? get() : 1;
  info.threads = requested_threads > 0 ? requested_threads : std::max(info.intra_op_threads, info.blas_threads);
  info.libtorch_version = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                          std::to_string(TORCH_VERSION_PATCH);
  std::string lib;
  dl_iterate_phdr(CollectBlas, &lib);
  info.blas_library = lib.empty() ? "" : Resolve(lib);
  info.blas_vendor = lib.empty() ? "unknown" : Vendor(info.blas_library);

  constexpr int64_t n = 512;  // OpenBLAS only reaches full speed from about here
  at::Tensor a = at::rand({n, n});
  at::Tensor b = at::rand({n, n});
  at::mm(a, b);  // warm up
  // Best of three: a busy machine slows some runs, never speeds one up.
  double best = 1e9;
  for (int i = 0; i < 3; ++i) {
    auto start = std::chrono::steady_clock::now();
    at::mm(a, b);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  info.gemm_gflops = 2.0 * n * n * n / best / 1e9;
  // A known optimized BLAS is fast whatever a busy machine measures (OpenBLAS has timed
  // below 10 GFLOP/s here with other builds running); the reference BLAS never is. Only an
  // unknown library is judged by its speed: the reference BLAS runs at ~5 GFLOP/s here,
  // OpenBLAS at ~150.
  info.fast_blas = IsFastBlas(info.blas_vendor, info.gemm_gflops);
  return info;
}

bool IsFastBlas(const std::string& vendor, double gemm_gflops) {
  const bool optimized = vendor == "openblas" || vendor == "mkl" || vendor == "blis";
  return optimized || (vendor != "reference" && gemm_gflops >= 10.0);
}

std::string RuntimeInfo::Warning() const {
  if (fast_blas) return "";
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.1f", gemm_gflops);
  return "synapse: warning: slow BLAS (" + blas_vendor + ", " + (blas_library.empty() ? "?" : blas_library) + ", " +
         rate + " GFLOP/s): install libopenblas0-pthread (make setup) for ~30x faster runs";
}

}  // namespace synapse
