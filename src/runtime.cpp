#include "synapse/runtime.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/version.h>
#include <dlfcn.h>
#include <link.h>
#include <malloc.h>

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
  return mmap_ok && trim_ok;
#else
  return false;
#endif
}

int DefaultThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

void SetThreads(int threads) {
  if (threads < 1) threads = 1;
  at::set_num_threads(threads);
  // LibTorch calls BLAS from one thread; OpenBLAS then parallelizes by itself.
  using SetFn = void (*)(int);
  if (auto fn = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) fn(threads);
}

RuntimeInfo DescribeRuntime() {
  RuntimeInfo info;
  info.threads = at::get_num_threads();
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
  // The reference BLAS runs at ~5 GFLOP/s here, OpenBLAS at ~150; 10 separates them even
  // on a loaded machine.
  info.fast_blas = info.blas_vendor != "reference" && info.gemm_gflops >= 10.0;
  return info;
}

std::string RuntimeInfo::Warning() const {
  if (fast_blas) return "";
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.1f", gemm_gflops);
  return "synapse: warning: slow BLAS (" + blas_vendor + ", " + (blas_library.empty() ? "?" : blas_library) +
         ", " + rate + " GFLOP/s): install libopenblas0-pthread (make setup) for ~30x faster runs";
}

}  // namespace synapse
