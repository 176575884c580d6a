// The inlined forward graph and small queries over its nodes, shared by the code that cuts
// it (forward_stages.cpp, pooled_tail.cpp, head_input_graph.cpp; private).
//
//   std::string reason;
//   std::shared_ptr<torch::jit::Graph> graph = InlinedForward(module, &reason);
//   if (graph) ForEachNode(graph->block(), [](torch::jit::Node* n) { /* every node */ });
#ifndef SYNAPSE_SRC_ENGINE_TORCHSCRIPT_FORWARD_GRAPH_H_
#define SYNAPSE_SRC_ENGINE_TORCHSCRIPT_FORWARD_GRAPH_H_

#include <torch/csrc/jit/ir/ir.h>
#include <torch/script.h>

#include <functional>
#include <memory>
#include <string>

namespace synapse {

/// Calls `f` on every node of `block` and of the blocks inside its nodes, in program order.
void ForEachNode(torch::jit::Block* block, const std::function<void(torch::jit::Node*)>& f);

/// A constant int input (constant_as asserts on a constant of another type, such as None).
c10::optional<int64_t> ConstantInt(torch::jit::Value* v);

/// A copy of `module`'s optimized forward graph with every call inlined; null, with the
/// reason, when forward is not a graph or cannot be inlined.
std::shared_ptr<torch::jit::Graph> InlinedForward(const torch::jit::Module& module, std::string* reason);

}  // namespace synapse

#endif  // SYNAPSE_SRC_ENGINE_TORCHSCRIPT_FORWARD_GRAPH_H_
