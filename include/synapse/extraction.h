// One pass over the evaluation set that keeps every layer's pooled vector and the logits.
//
//   synapse::Extraction x = synapse::Extract(model, examples,
//                                            synapse::ExtractOptions().pool(synapse::Pooling::kFirst));
//   const Eigen::MatrixXf& cls3 = x.activations.at(3);   // examples × hidden, layer 3's [CLS]
//   std::vector<int64_t> base = x.Predictions();
//   synapse::SaveActivations(x, model, labels, "acts/");  // layer_03.npy, labels.npy, ...
#ifndef SYNAPSE_EXTRACTION_H_
#define SYNAPSE_EXTRACTION_H_

#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "synapse/batch_options.h"
#include "synapse/example.h"
#include "synapse/intervention.h"
#include "synapse/options.h"

namespace synapse {

class Model;
struct Split;

/// Called as work advances: `done` of `total` units (examples, or configurations).
using ProgressCallback = std::function<void(int64_t done, int64_t total)>;

struct Extraction {
  Pooling pool = Pooling::kFirst;
  /// Layer index → examples × hidden pooled vectors, in example order.
  std::map<int, Eigen::MatrixXf> activations;
  /// examples × classes, unperturbed.
  Eigen::MatrixXf logits;
  /// Wall time of the pass, seconds.
  double seconds = 0;

  /// The arg-max class of every example.
  std::vector<int64_t> Predictions() const;
};

/// Runs every example once, capturing the pooled vector of each layer in `layers`
/// (empty: every layer) and the logits. Results are in example order whatever the
/// batching.
Extraction Extract(const Model& model, const std::vector<Example>& examples, const BatchOptions& options = {},
                   const std::vector<int>& layers = {}, const ProgressCallback& progress = {});

/// Writes NumPy files into `dir` (created if missing): `layer_NN.npy` (float32, examples ×
/// hidden) per captured layer, `logits.npy` (float32), `labels.npy` (int64), with `split`
/// non-null `train_index.npy` and `test_index.npy` (int64), and `index.json` naming every
/// file with its layer and shape. Throws DataError 208 when a file cannot be written.
void SaveActivations(const Extraction& extraction, const Model& model, const std::vector<int64_t>& labels,
                     const std::string& dir, const Split* split = nullptr);

/// The arg-max of every row (the first maximum on ties).
std::vector<int64_t> ArgMaxRows(const Eigen::MatrixXf& logits);

}  // namespace synapse

#endif  // SYNAPSE_EXTRACTION_H_
