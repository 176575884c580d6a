#include "hook.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/runtime/custom_operator.h>

#include "synapse/error.h"

namespace synapse {
namespace {

thread_local HookContext* current_context = nullptr;

constexpr const char* kHookSchema = "synapse::hook(Tensor x, Any module) -> Tensor";

// CONSERVATIVE alias analysis: the optimizer treats the operator as having side effects,
// so it is never removed, reordered or fused away.
torch::jit::RegisterOperators register_hook({torch::jit::Operator(
    kHookSchema,
    [](torch::jit::Stack& stack) {
      c10::IValue module = torch::jit::pop(stack);
      at::Tensor x = torch::jit::pop(stack).toTensor();
      HookContext* context = current_context;
      if (context != nullptr && module.isObject()) {
        x = context->OnModuleOutput(module.toObject().get(), x);
      }
      torch::jit::push(stack, std::move(x));
    },
    c10::AliasAnalysisKind::CONSERVATIVE)});

bool IsTensor(const c10::TypePtr& type) { return type->isSubtypeOf(*c10::TensorType::get()); }

}  // namespace

ScopedHookContext::ScopedHookContext(HookContext* context) : previous_(current_context) {
  current_context = context;
}

ScopedHookContext::~ScopedHookContext() { current_context = previous_; }

void InsertHook(const torch::jit::Module& module, const std::string& module_name,
                std::unordered_set<const c10::ClassType*>* rewritten) {
  const c10::ClassType* type = module.type().get();
  if (rewritten->count(type)) return;
  torch::jit::Function* forward = module.type()->findMethod("forward");
  torch::jit::GraphFunction* graph_function =
      forward ? torch::jit::tryToGraphFunction(*forward) : nullptr;
  if (graph_function == nullptr) {
    throw ModelError(105, "layer " + module_name + " has no TorchScript forward method to hook");
  }
  std::shared_ptr<torch::jit::Graph> graph = graph_function->graph();
  torch::jit::Node* ret = graph->return_node();
  torch::jit::Value* output = ret->input(0);
  torch::jit::Value* self = graph->inputs().at(0);
  const c10::Symbol hook = c10::Symbol::fromQualString("synapse::hook");
  torch::jit::WithInsertPoint guard(ret);

  if (IsTensor(output->type())) {
    ret->replaceInput(0, graph->insert(hook, {output, self}));
  } else if (auto tuple = output->type()->cast<c10::TupleType>()) {
    if (tuple->elements().empty() || !IsTensor(tuple->elements()[0])) {
      throw ModelError(105, "layer " + module_name + " returns " + output->type()->repr_str() +
                                "; a hook site must return a Tensor or a tuple starting with one");
    }
    torch::jit::Node* unpack = graph->insertNode(graph->createTupleUnpack(output));
    std::vector<torch::jit::Value*> elements(unpack->outputs().begin(), unpack->outputs().end());
    elements[0] = graph->insert(hook, {elements[0], self});
    c10::TupleTypePtr named = tuple->schema() ? tuple : nullptr;
    torch::jit::Node* rebuilt = graph->insertNode(graph->createTuple(elements, named));
    ret->replaceInput(0, rebuilt->output());
  } else {
    throw ModelError(105, "layer " + module_name + " returns " + output->type()->repr_str() +
                              "; a hook site must return a Tensor or a tuple starting with one");
  }
  graph_function->clear_optimized_graphs();
  rewritten->insert(type);
}

void ClearOptimizedGraphs(const torch::jit::Module& module) {
  for (const torch::jit::Module& m : module.modules()) {
    for (torch::jit::Function* f : m.type()->methods()) {
      if (auto* g = torch::jit::tryToGraphFunction(*f)) g->clear_optimized_graphs();
    }
  }
}

}  // namespace synapse
