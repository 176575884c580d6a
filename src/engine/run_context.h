// RunContext, the hook context one forward pass of Model installs (private).
//
//   RunContext context(model, plan.ops, prepared.geometry, /*observe=*/false);
//   ScopedHookContext scope(&context);
//   c10::IValue output = model.module.forward(prepared.arguments);
//   context.RethrowIfFailed();
#ifndef SYNAPSE_SRC_ENGINE_RUN_CONTEXT_H_
#define SYNAPSE_SRC_ENGINE_RUN_CONTEXT_H_

#include <exception>
#include <utility>
#include <vector>

#include "engine/torchscript/hook.h"
#include "engine/intervention_kernels.h"
#include "engine/model_impl.h"

namespace synapse {

// What the dry run sees at one call of a hooked module.
struct ObservedCall {
  Layout layout = Layout::kUnknown;
  int64_t width = -1;
};

// The context one Run installs: resolved ops per layer, and what the kernels need. It
// counts the calls of every hooked module, so that the i-th call of a weight-shared module
// is layer_of_call[m][i]; `calls` says how many each had made before the part of forward
// this context runs (a suffix run starts mid-forward).
class RunContext : public HookContext {
 public:
  RunContext(const Model::Impl& model, std::vector<std::vector<ResolvedOp>> ops, BatchGeometry geometry, bool observe,
             std::vector<int> calls = {})
      : model_(model),
        ops_(std::move(ops)),
        geometry_(std::move(geometry)),
        observe_(observe),
        captures_(model.layers.size()),
        calls_(calls.empty() ? std::vector<int>(model.site_modules.size(), 0) : std::move(calls)),
        observed_(observe ? model.site_modules.size() : 0) {}

  at::Tensor OnModuleOutput(const c10::ivalue::Object* module, const at::Tensor& x) override;

  void RethrowIfFailed() const {
    if (error_) std::rethrow_exception(error_);
  }
  std::vector<at::Tensor>& captures() { return captures_; }
  /// Per hooked module, what each of its calls returned (observing contexts only).
  const std::vector<std::vector<ObservedCall>>& observed() const { return observed_; }

 private:
  const Model::Impl& model_;
  std::vector<std::vector<ResolvedOp>> ops_;
  BatchGeometry geometry_;
  bool observe_;
  std::vector<at::Tensor> captures_;
  std::vector<int> calls_;
  std::vector<std::vector<ObservedCall>> observed_;
  std::exception_ptr error_;
};

// What the site operator of a .pt2 package does during one run: the counterpart of
// RunContext, where the site index is the layer (the head's input is the last site).
class PackageSites : public aoti::SiteHandler {
 public:
  /// `ops`: per layer, the plan's ops (null: none anywhere).
  PackageSites(const Model::Impl& model, const std::vector<std::vector<ResolvedOp>>* ops, BatchGeometry geometry)
      : model_(model),
        ops_(ops),
        geometry_(std::move(geometry)),
        captures_(model.layers.size()),
        observed_(model.layers.size()) {}

  at::Tensor OnSite(const at::Tensor& x, int64_t index) override;

  /// Learn each layer's width and layout instead of intervening (the dry run).
  void Observe() { observe_ = true; }
  /// Keep a copy of what enters every site, head included (the baseline of suffix
  /// execution); `saved` gets one tensor per site.
  void SaveAll(std::vector<at::Tensor>* saved) {
    saved_ = saved;
    saved_->assign(model_.layers.size() + 1, at::Tensor());
  }

  void RethrowIfFailed() const {
    if (error_) std::rethrow_exception(error_);
  }
  std::vector<at::Tensor>& captures() { return captures_; }
  const std::vector<ObservedCall>& observed() const { return observed_; }

 private:
  const Model::Impl& model_;
  const std::vector<std::vector<ResolvedOp>>* ops_;
  BatchGeometry geometry_;
  bool observe_ = false;
  std::vector<at::Tensor>* saved_ = nullptr;
  std::vector<at::Tensor> captures_;
  std::vector<ObservedCall> observed_;
  std::exception_ptr error_;
};

/// A prepared batch as a package's inputs (forward's arguments are all tensors there).
std::vector<at::Tensor> PackageInputs(const PreparedInputs& prepared);

}  // namespace synapse

#endif  // SYNAPSE_SRC_ENGINE_RUN_CONTEXT_H_
