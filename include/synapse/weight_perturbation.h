// Scoped changes to a model's weights, restored bit-exactly when the scope ends.
//
//   {
//     synapse::WeightPerturbation w(model);
//     w.ScaleRows("classifier.weight", {2}, 1.5);    // class 2's head weights × 1.5
//     w.AddNoise("bert.encoder.layer.0.output.dense.weight", 0.01, /*seed=*/7);
//     auto result = model.Run(batch);
//   }  // every touched parameter is back to its exact original bytes, even on throw
#ifndef SYNAPSE_WEIGHT_PERTURBATION_H_
#define SYNAPSE_WEIGHT_PERTURBATION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace synapse {

class Model;

class WeightPerturbation {
 public:
  explicit WeightPerturbation(const Model& model);
  ~WeightPerturbation();
  WeightPerturbation(const WeightPerturbation&) = delete;
  WeightPerturbation& operator=(const WeightPerturbation&) = delete;

  /// Sets the parameter to zero. Throws ModelError 107 for an unknown name.
  void Zero(const std::string& parameter);
  /// Multiplies the parameter by `factor`.
  void Scale(const std::string& parameter, double factor);
  /// Adds `shift` to every element (e.g. a class's bias).
  void Add(const std::string& parameter, double shift);
  /// Adds N(0, sigma²) noise; `relative` makes sigma relative to the parameter's std.
  void AddNoise(const std::string& parameter, double sigma, uint64_t seed, bool relative = false);
  /// Multiplies rows (dimension 0) of a matrix or elements of a vector.
  void ScaleRows(const std::string& parameter, const std::vector<int64_t>& rows, double factor);
  /// Multiplies columns (dimension 1) of a matrix.
  void ScaleColumns(const std::string& parameter, const std::vector<int64_t>& columns, double factor);
  /// Multiplies the entries (row, c) of a matrix for every c in `columns` (e.g. one class's
  /// head weights on chosen neurons).
  void ScaleEntries(const std::string& parameter, int64_t row, const std::vector<int64_t>& columns, double factor);
  /// Adds `shift` to rows (dimension 0) of a matrix or elements of a vector (e.g. one
  /// class's bias).
  void AddRows(const std::string& parameter, const std::vector<int64_t>& rows, double shift);
  /// Puts every touched parameter back now (also done by the destructor).
  void Restore();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

/// A hash of every parameter's bytes, to prove a model is unchanged.
uint64_t ParameterHash(const Model& model);

}  // namespace synapse

#endif  // SYNAPSE_WEIGHT_PERTURBATION_H_
