#include "engine/torchscript/hook.h"

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

ScopedHookContext::ScopedHookContext(HookContext* context) : previous_(current_context) { current_context = context; }

ScopedHookContext::~ScopedHookContext() { current_context = previous_; }

namespace {

// Throws ModelError 105 unless the method returns a Tensor or a tuple starting with one.
void CheckHookable(torch::jit::GraphFunction* function, const std::string& module_name) {
  const c10::TypePtr type = function->graph()->return_node()->input(0)->type();
  if (IsTensor(type)) return;
  if (auto tuple = type->cast<c10::TupleType>()) {
    if (!tuple->elements().empty() && IsTensor(tuple->elements()[0])) return;
  }
  throw ModelError(105, "layer " + module_name + " returns " + type->repr_str() +
                            "; a hook site must return a Tensor or a tuple starting with one");
}

void InsertHookInto(torch::jit::GraphFunction* graph_function) {
  std::shared_ptr<torch::jit::Graph> graph = graph_function->graph();
  torch::jit::Node* ret = graph->return_node();
  torch::jit::Value* output = ret->input(0);
  torch::jit::Value* self = graph->inputs().at(0);
  const c10::Symbol hook = c10::Symbol::fromQualString("synapse::hook");
  torch::jit::WithInsertPoint guard(ret);

  if (IsTensor(output->type())) {
    ret->replaceInput(0, graph->insert(hook, {output, self}));
  } else {
    auto tuple = output->type()->expect<c10::TupleType>();  // CheckHookable saw to it
    torch::jit::Node* unpack = graph->insertNode(graph->createTupleUnpack(output));
    std::vector<torch::jit::Value*> elements(unpack->outputs().begin(), unpack->outputs().end());
    elements[0] = graph->insert(hook, {elements[0], self});
    c10::TupleTypePtr named = tuple->schema() ? tuple : nullptr;
    torch::jit::Node* rebuilt = graph->insertNode(graph->createTuple(elements, named));
    ret->replaceInput(0, rebuilt->output());
  }
  graph_function->clear_optimized_graphs();
}

}  // namespace

bool IsForwardMethod(const std::string& name) {
  if (name.rfind("forward", 0) != 0) return false;
  for (size_t i = 7; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
  }
  return true;
}

void InsertHook(const torch::jit::Module& module, const std::string& module_name,
                std::unordered_set<const c10::ClassType*>* rewritten) {
  const c10::ClassType* type = module.type().get();
  if (rewritten->count(type)) return;
  std::vector<torch::jit::GraphFunction*> forwards;
  for (torch::jit::Function* method : module.type()->methods()) {
    if (!IsForwardMethod(method->name())) continue;
    torch::jit::GraphFunction* graph_function = torch::jit::tryToGraphFunction(*method);
    if (graph_function != nullptr) forwards.push_back(graph_function);
  }
  if (forwards.empty()) {
    throw ModelError(105, "layer " + module_name + " has no TorchScript forward method to hook");
  }
  // All or none: check every method before rewriting any.
  for (torch::jit::GraphFunction* f : forwards) CheckHookable(f, module_name);
  for (torch::jit::GraphFunction* f : forwards) InsertHookInto(f);
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
