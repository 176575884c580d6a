#include "engine/torchscript/untrusted_model.h"

#include <c10/core/CPUAllocator.h>
#include <malloc.h>

#include <functional>

#include "synapse/error.h"

namespace synapse {
namespace {

// The bytes actually allocated behind a storage, when LibTorch's default CPU allocator made
// it (as it does for every record read from a model file); 0 when unknown.
size_t AllocatedBytes(const c10::Storage& storage) {
  const c10::DataPtr& data = storage.data_ptr();
  if (data.get() == nullptr || data.get() != data.get_context()) return 0;
  if (data.get_deleter() != c10::GetDefaultCPUAllocator()->raw_deleter()) return 0;
  return malloc_usable_size(data.get());
}

std::string CheckTensor(const at::Tensor& t) {
  if (!t.defined() || t.is_sparse() || t.is_mkldnn() || !t.has_storage()) return "";
  const c10::Storage& storage = t.storage();
  const size_t claimed = storage.nbytes();
  const size_t allocated = AllocatedBytes(storage);
  if (allocated != 0 && claimed > allocated) {
    return "its storage claims " + std::to_string(claimed) + " bytes but the file holds " + std::to_string(allocated);
  }
  if (t.numel() == 0) return "";
  if (t.storage_offset() < 0) return "its storage offset is negative";
  // The last element a view reaches, in elements from the storage's start (overflow-checked).
  unsigned __int128 last = static_cast<unsigned __int128>(t.storage_offset());
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (t.stride(d) < 0) return "stride " + std::to_string(d) + " is negative";
    last += static_cast<unsigned __int128>(t.size(d) - 1) * static_cast<unsigned __int128>(t.stride(d));
  }
  const unsigned __int128 needed = (last + 1) * t.element_size();
  if (needed > claimed) {
    const bool huge = needed > static_cast<unsigned __int128>(UINT64_MAX);
    return "its shape and offset reach " +
           (huge ? std::string("beyond 2^64 bytes") : std::to_string(static_cast<uint64_t>(needed)) + " bytes") +
           " into a storage of " + std::to_string(claimed);
  }
  return "";
}

void CheckValue(const c10::IValue& value, const std::string& name, const std::string& path, int depth) {
  if (depth > 32) return;
  std::string problem;
  if (value.isTensor()) {
    problem = CheckTensor(value.toTensor());
  } else if (value.isTensorList()) {
    for (const at::Tensor& t : value.toTensorVector()) {
      if (!(problem = CheckTensor(t)).empty()) break;
    }
  } else if (value.isList()) {
    for (const c10::IValue& v : value.toListRef()) CheckValue(v, name, path, depth + 1);
  } else if (value.isTuple()) {
    for (const c10::IValue& v : value.toTupleRef().elements()) CheckValue(v, name, path, depth + 1);
  } else if (value.isGenericDict()) {
    for (const auto& entry : value.toGenericDict()) CheckValue(entry.value(), name, path, depth + 1);
  }
  if (!problem.empty()) {
    throw ModelError(102, path + ": tensor \"" + name + "\" is corrupt: " + problem +
                              " (a damaged or forged model file; re-export it with torch.jit.save)");
  }
}

// Calls `visit(function name, node)` for every node of every function the module's code holds,
// nested blocks included.
void ForEachNode(const torch::jit::Module& module,
                 const std::function<void(const std::string&, const torch::jit::Node*)>& visit) {
  for (const auto& function : module._ivalue()->compilation_unit()->get_functions()) {
    auto* graph_function = dynamic_cast<torch::jit::GraphFunction*>(function);
    if (graph_function == nullptr) continue;
    const std::string name = function->qualname().qualifiedName();
    std::function<void(const torch::jit::Block*)> walk = [&](const torch::jit::Block* block) {
      for (const torch::jit::Node* node : block->nodes()) {
        for (const torch::jit::Block* inner : node->blocks()) walk(inner);
        visit(name, node);
      }
    };
    walk(graph_function->graph()->block());
  }
}

bool Forbidden(const std::string& op) {
  static const char* const kOperators[] = {"aten::from_file", "aten::to_here", "aten::local_value"};
  static const char* const kPrefixes[] = {
      "rpc::", "dist_rpc::", "dist_autograd::", "dist_c10d::", "c10d::", "prim::rpc_"};
  for (const char* o : kOperators) {
    if (op == o) return true;
  }
  for (const char* p : kPrefixes) {
    if (op.rfind(p, 0) == 0) return true;
  }
  return false;
}

}  // namespace

void CheckOperatorPolicy(const torch::jit::Module& module, const std::string& path) {
  ForEachNode(module, [&](const std::string& function, const torch::jit::Node* node) {
    const std::string op = node->kind().toQualString();
    if (!Forbidden(op)) return;
    throw ModelError(109, path + ": " + function + " calls " + op +
                              ", which reaches outside the model (files or the network); Synapse does not run "
                              "such models (docs/security.md)");
  });
}

void CheckStorageBounds(const torch::jit::Module& module, const std::string& path) {
  for (const auto& attribute : module.named_attributes(/*recurse=*/true)) {
    CheckValue(attribute.value, attribute.name, path, 0);
  }
  // Tensor constants baked into the code (constants.pkl).
  ForEachNode(module, [&](const std::string& function, const torch::jit::Node* node) {
    if (node->kind() != c10::prim::Constant) return;
    auto constant = torch::jit::toIValue(node->output());
    if (constant) CheckValue(*constant, "constant in " + function, path, 0);
  });
}

}  // namespace synapse
