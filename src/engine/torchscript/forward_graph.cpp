#include "engine/torchscript/forward_graph.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/passes/inliner.h>

namespace synapse {

using torch::jit::Block;
using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

void ForEachNode(Block* block, const std::function<void(Node*)>& f) {
  for (Node* n : block->nodes()) {
    f(n);
    for (Block* b : n->blocks()) ForEachNode(b, f);
  }
}

// A constant int input (constant_as asserts on a constant of another type, such as None).
c10::optional<int64_t> ConstantInt(Value* v) {
  const c10::optional<c10::IValue> c = torch::jit::toIValue(v);
  if (c && c->isInt()) return c->toInt();
  return c10::nullopt;
}

// A copy of `module`'s optimized forward graph with every call inlined; null, with the
// reason, when forward is not a graph or cannot be inlined.
std::shared_ptr<Graph> InlinedForward(const torch::jit::Module& module, std::string* reason) {
  try {
    torch::jit::GraphFunction* forward = torch::jit::tryToGraphFunction(module.get_method("forward").function());
    if (forward == nullptr) {
      *reason = "forward is not a TorchScript graph";
      return nullptr;
    }
    std::shared_ptr<Graph> graph = forward->optimized_graph()->copy();
    torch::jit::Inline(*graph);
    return graph;
  } catch (const std::exception& e) {
    *reason = "the forward graph could not be inlined";
    return nullptr;
  }
}

}  // namespace synapse
