// The one rule for naming an encoder layer by number (private): 0..N-1 from the first, -1..-N
// from the last. The model, the robustness tests' configuration and queries, and the
// outcomes read back from report.json all resolve layer numbers here, so they accept the
// same numbers and say the same thing about the others.
//
//   const int index = synapse::LayerIndex(-1, 4);  // 3
//   if (index < 0) throw SpecError(304, synapse::NoSuchLayerText(7, 4, "the model"));
#ifndef SYNAPSE_SRC_ENGINE_LAYER_INDEX_H_
#define SYNAPSE_SRC_ENGINE_LAYER_INDEX_H_

#include <string>

namespace synapse {

/// The 0-based index of `layer` (negative counts from the last) among `count` layers, or -1
/// when there is no such layer.
inline int LayerIndex(int layer, int count) {
  const int index = layer < 0 ? count + layer : layer;
  return index >= 0 && index < count ? index : -1;
}

/// "no layer 7: the model has 4 layers (0..3, or -1..-4)"; `owner` is what holds the layers.
inline std::string NoSuchLayerText(int layer, int count, const std::string& owner) {
  return "no layer " + std::to_string(layer) + ": " + owner + " has " + std::to_string(count) + " layers (0.." +
         std::to_string(count - 1) + ", or -1..-" + std::to_string(count) + ")";
}

}  // namespace synapse

#endif  // SYNAPSE_SRC_ENGINE_LAYER_INDEX_H_
