// What differs between the LibTorch versions Synapse builds against (private), in one
// place: Debian 12's 1.13, Debian 13's 2.6, Debian testing's 2.14 and pytorch.org's
// downloads. Everything else in the engine is written once, against these names.
//
//   synapse::torch_compat::WarningHandlerGuard quiet(QuietTorchWarnings());
#ifndef SYNAPSE_SRC_ENGINE_TORCH_COMPAT_H_
#define SYNAPSE_SRC_ENGINE_TORCH_COMPAT_H_

#include <c10/util/Exception.h>
#include <torch/csrc/jit/passes/tensorexpr_fuser.h>
#include <torch/version.h>

#include <string>

namespace synapse::torch_compat {

// LibTorch 2.0 moved the guard into c10::WarningUtils and made a handler take the whole
// c10::Warning instead of (source location, message, verbatim).
#if TORCH_VERSION_MAJOR >= 2
using WarningHandlerGuard = c10::WarningUtils::WarningHandlerGuard;
#else
using WarningHandlerGuard = c10::Warning::WarningHandlerGuard;
#endif

/// A warning handler that sees each warning's text, whatever the LibTorch version.
class MessageWarningHandler : public c10::WarningHandler {
 public:
  /// Called once per warning LibTorch raises while the handler is installed.
  virtual void OnWarning(const std::string& message) = 0;

#if TORCH_VERSION_MAJOR >= 2
  void process(const c10::Warning& warning) override { OnWarning(warning.msg()); }
#else
  void process(const c10::SourceLocation&, const std::string& message, const bool) override { OnWarning(message); }
#endif
};

/// Runs TorchScript graphs op by op, as LibTorch 1.13 does: turns off the TensorExpr (NNC)
/// fuser for the whole process. A LibTorch built with LLVM (Debian testing's 2.14 is;
/// Debian 12's 1.13 is not: torch._C._jit_can_fuse_on_cpu() is True there, False here)
/// lets the profiling executor fuse elementwise ops into CPU kernels it compiles with LLVM
/// at run time, once per GraphExecutor, fusion group and shape specialization (up to 2
/// static and 10 dynamic). Synapse runs many small graphs (forward stages, suffix graphs,
/// the pooled tail) on a few batches each, so the compiling never pays back: on the
/// side-by-side sweep (bench/sweep_side_by_side.py) it made LibTorch 2.14 1.8x slower than
/// 1.13 on one thread, ~20% of the run's samples in LLVM (bench/README.md, "LibTorch 2.14
/// against 1.13"). Unfused, the ops are LibTorch's ordinary kernels, the same as eager
/// PyTorch's. The same call in every version (1.13's default is already off on a build
/// without LLVM); PYTORCH_TENSOREXPR=1 in the environment still turns the fuser on.
inline void UseUnfusedExecutor() { torch::jit::setTensorExprFuserEnabled(false); }

}  // namespace synapse::torch_compat

#endif  // SYNAPSE_SRC_ENGINE_TORCH_COMPAT_H_
