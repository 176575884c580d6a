// The linear layer that produces a classifier's logits, found among its parameters: what
// weight-space experiments and head replay change.
//
//   synapse::ClassificationHead head = synapse::FindClassificationHead(model);  // "classifier.weight"
#ifndef SYNAPSE_CLASSIFICATION_HEAD_H_
#define SYNAPSE_CLASSIFICATION_HEAD_H_

#include <cstdint>
#include <string>

namespace synapse {

class Model;

/// The linear layer that produces the logits.
struct ClassificationHead {
  /// Parameter names, e.g. "classifier.weight" ([classes, inputs]) and "classifier.bias".
  std::string weight;
  std::string bias;  // empty when the layer has none
  int64_t inputs = 0;
};

/// The last parameter named "*.weight" of shape [classes, inputs] (with its "*.bias" of
/// shape [classes] when there is one), or the one named by `weight`. Throws ModelError 108
/// when there is none, naming the candidates.
ClassificationHead FindClassificationHead(const Model& model, const std::string& weight = "");

}  // namespace synapse

#endif  // SYNAPSE_CLASSIFICATION_HEAD_H_
