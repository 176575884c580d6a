// The `synapse::hook` operator and the graph rewriting that inserts it (private).
//
// Each hooked module's forward graph gets `synapse::hook(output, self)` before its return.
// At run time the operator asks the thread's HookContext what to do with the output of
// this module *instance* (the context counts its calls: SiteMap); with no context
// installed it returns its input as is.
#ifndef SYNAPSE_SRC_ENGINE_TORCHSCRIPT_HOOK_H_
#define SYNAPSE_SRC_ENGINE_TORCHSCRIPT_HOOK_H_

#include <torch/script.h>

#include <exception>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace synapse {

/// Which layer each call of each hooked module instance is. A layer is where a hidden
/// state leaves a block during one forward: usually one module instance called once, but
/// a weight-shared module (ALBERT's layer group) called N times is N layers, the i-th call
/// being the i-th of them.
struct SiteMap {
  /// Hooked module instance → its index in layer_of_call.
  std::unordered_map<const c10::ivalue::Object*, int> module_index;
  /// Module index → the layer of its 0th, 1st, … call in one forward (empty until the dry
  /// run has counted the calls; a call past the end is no layer).
  std::vector<std::vector<int>> layer_of_call;
  size_t num_layers = 0;
};

/// What the operator calls into while a batch runs. Implementations must not throw:
/// the TorchScript interpreter would bury the error in a traceback.
class HookContext {
 public:
  virtual ~HookContext() = default;
  /// Returns the (possibly changed) output of `module`.
  virtual at::Tensor OnModuleOutput(const c10::ivalue::Object* module, const at::Tensor& output) = 0;
};

/// Installs `context` for the current thread for the lifetime of this object.
class ScopedHookContext {
 public:
  explicit ScopedHookContext(HookContext* context);
  ~ScopedHookContext();
  ScopedHookContext(const ScopedHookContext&) = delete;
  ScopedHookContext& operator=(const ScopedHookContext&) = delete;

 private:
  HookContext* previous_;
};

/// Rewrites the forward graph of `module`'s class type (once per type: `rewritten`
/// remembers which) so that its output, or the first element of its output tuple, goes
/// through the hook operator. Every method named forward, forward1, forward2 … is
/// rewritten: torch.jit.trace records each repeated call of one module as its own method.
/// Throws ModelError 105 when the output is neither.
void InsertHook(const torch::jit::Module& module, const std::string& module_name,
                std::unordered_set<const c10::ClassType*>* rewritten);

/// forward, forward1, forward2 …: the methods torch.jit.trace names a module's calls.
bool IsForwardMethod(const std::string& name);

/// Drops every cached optimized graph of `module` and its submodules, so that the next
/// run inlines the rewritten graphs.
void ClearOptimizedGraphs(const torch::jit::Module& module);

}  // namespace synapse

#endif  // SYNAPSE_SRC_ENGINE_TORCHSCRIPT_HOOK_H_
