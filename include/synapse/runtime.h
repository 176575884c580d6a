// The numeric runtime: threads and the BLAS library LibTorch multiplies with.
//
//   synapse::SetThreads(4);
//   auto info = synapse::DescribeRuntime();
//   if (!info.fast_blas) std::cerr << info.Warning() << "\n";
#ifndef SYNAPSE_RUNTIME_H_
#define SYNAPSE_RUNTIME_H_

#include <string>

namespace synapse {

struct RuntimeInfo {
  /// The cores Synapse uses (SetThreads' argument).
  int threads = 1;
  /// How they are split: LibTorch's intra-op pool and OpenBLAS's threads.
  int intra_op_threads = 1;
  int blas_threads = 1;
  /// LibTorch's version, e.g. "1.13.0".
  std::string libtorch_version;
  /// Resolved path of the loaded BLAS, e.g. ".../openblas-pthread/libblas.so.3".
  std::string blas_library;
  /// "openblas", "reference", "mkl", "blis" or "unknown".
  std::string blas_vendor;
  /// Measured single-precision GEMM rate (a 512³ product).
  double gemm_gflops = 0;
  /// False when the reference BLAS is in use, or an unknown BLAS whose GEMM rate is far
  /// too low (OpenBLAS, MKL and BLIS count as fast however busy the machine is).
  bool fast_blas = true;
  /// The one-line warning to print when !fast_blas; empty otherwise.
  std::string Warning() const;
};

/// Whether a BLAS is fast enough not to warn about: OpenBLAS, MKL and BLIS always; the
/// reference BLAS never; an unknown one when its measured GEMM rate is at least 10 GFLOP/s.
bool IsFastBlas(const std::string& vendor, double gemm_gflops);

/// Uses `threads` cores (≥ 1) without oversubscribing them: with OpenBLAS, it runs
/// `threads` BLAS threads and LibTorch's intra-op pool on one thread (two pools of N
/// threads on N cores made passes 2-4× slower; bench/README.md, "Threads"); with a
/// single-threaded BLAS, LibTorch's pool gets the cores.
void SetThreads(int threads);
/// Makes glibc's malloc keep freed memory for reuse instead of handing every large block
/// back to the kernel (mmap threshold 32 MiB, trim threshold 1 GiB). LibTorch allocates and
/// frees its activations on every forward pass; with glibc's defaults each pass re-faults
/// them page by page, and on this machine that doubled to tripled the wall time of an
/// analysis (bench/README.md). The process then holds on to its peak heap. Process-wide, so
/// the library never calls it on its own: the CLI does, at start-up; call it once in a
/// program that runs many passes. Returns false (and changes nothing) where the C library
/// is not glibc, and false where glibc takes the settings but still serves or returns large
/// blocks outside the heap (glibc 2.43 does), checked with one 8 MiB block.
bool KeepFreedMemory();
/// Number of hardware threads, the default for SetThreads.
int DefaultThreads();
/// Detects the BLAS in use and measures it (a few milliseconds with OpenBLAS).
RuntimeInfo DescribeRuntime();

}  // namespace synapse

#endif  // SYNAPSE_RUNTIME_H_
