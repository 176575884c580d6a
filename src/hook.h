// The `synapse::hook` operator and the graph rewriting that inserts it (private).
//
// Each hooked module's forward graph gets `synapse::hook(output, self)` before its return.
// At run time the operator asks the thread's HookContext what to do with the output of
// this module *instance*; with no context installed it returns its input as is.
#ifndef SYNAPSE_SRC_HOOK_H_
#define SYNAPSE_SRC_HOOK_H_

#include <torch/script.h>

#include <exception>
#include <unordered_set>

namespace synapse {

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
/// through the hook operator. Throws ModelError 105 when the output is neither.
void InsertHook(const torch::jit::Module& module, const std::string& module_name,
                std::unordered_set<const c10::ClassType*>* rewritten);

/// Drops every cached optimized graph of `module` and its submodules, so that the next
/// run inlines the rewritten graphs.
void ClearOptimizedGraphs(const torch::jit::Module& module);

}  // namespace synapse

#endif  // SYNAPSE_SRC_HOOK_H_
