// Finding a model's encoder layers among its submodules (private).
//
//   std::vector<std::pair<std::string, torch::jit::Module>> layers = DiscoverLayers(module);
//   if (layers.empty()) layers = DiscoverSharedLayer(module);  // one block called N times
//   // or, named by the user: GlobLayers(module, "encoder.layer.*")
#ifndef SYNAPSE_SRC_ENGINE_TORCHSCRIPT_LAYER_DISCOVERY_H_
#define SYNAPSE_SRC_ENGINE_TORCHSCRIPT_LAYER_DISCOVERY_H_

#include <torch/script.h>

#include <string>
#include <utility>
#include <vector>

namespace synapse {

/// A module's class name without TorchScript's "__torch__." prefix and mangling.
std::string ModuleTypeName(const torch::jit::Module& m);

/// The longest run of same-type siblings named 0..N-1 (N >= 2), as (path, module).
std::vector<std::pair<std::string, torch::jit::Module>> DiscoverLayers(const torch::jit::Module& root);

/// The modules whose path matches `glob` component by component, numbered siblings in
/// number order.
std::vector<std::pair<std::string, torch::jit::Module>> GlobLayers(const torch::jit::Module& root,
                                                                   const std::string& glob);

/// A weight-shared block (a module with submodules that one forward calls several times),
/// or nothing.
std::vector<std::pair<std::string, torch::jit::Module>> DiscoverSharedLayer(const torch::jit::Module& root);

}  // namespace synapse

#endif  // SYNAPSE_SRC_ENGINE_TORCHSCRIPT_LAYER_DISCOVERY_H_
