// Scoped changes to a model's weights, restored bit-exactly when the scope ends.
//
//   {
//     synapse::WeightPerturbation w(model);
//     w.ScaleRows("classifier.weight", {2}, 1.5);    // class 2's head weights × 1.5
//     w.AddNoise("bert.encoder.layer.0.output.dense.weight", 0.01, /*seed=*/7);
//     auto result = model.Run(batch);
//   }  // every touched parameter is back to its exact original bytes, even on throw
//
// Changes to the classification head alone need no forward pass: HeadReplay captures the
// head's input once, and scores perturbations made on copies of the parameters.
//
//   synapse::HeadReplay replay(model, examples, batching, synapse::FindClassificationHead(model));
//   auto w = synapse::WeightPerturbation::Copies(model);   // the model is never touched
//   w.ScaleRows("classifier.weight", {2}, 1.5);
//   Eigen::MatrixXf logits = replay.Logits(w);              // = RunPlans under the change
#ifndef SYNAPSE_WEIGHT_PERTURBATION_H_
#define SYNAPSE_WEIGHT_PERTURBATION_H_

#include <Eigen/Core>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "synapse/example.h"

namespace synapse {

class Model;
struct BatchOptions;
struct ClassificationHead;

class WeightPerturbation {
 public:
  /// Changes the model's own parameters until the scope ends. Every run of the model in
  /// the meantime sees the change, so no other thread may use the model meanwhile.
  explicit WeightPerturbation(Model& model);
  /// Changes copies of the parameters and never the model (HeadReplay scores them); safe
  /// while other threads run the model.
  static WeightPerturbation Copies(const Model& model);
  ~WeightPerturbation();
  WeightPerturbation(WeightPerturbation&&) noexcept;
  WeightPerturbation& operator=(WeightPerturbation&&) = delete;
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
  /// The names of the parameters changed so far.
  std::vector<std::string> touched() const;

 private:
  class Impl;
  friend class HeadReplay;
  explicit WeightPerturbation(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The classification head's input over a data set, captured by one pass of the forward
/// graph up to the head, so that a change to the head's own weight or bias is scored with
/// no further pass: the logits are the head's aten::linear on the captured input and the
/// changed parameters, in the batches RunPlans would run (the same numbers as
/// RunPlans(model, examples, {Plan{}}, batching) under the change). Where the logits are
/// not the head's output (see reason()), available() is false and nothing is captured.
class HeadReplay {
 public:
  HeadReplay(const Model& model, const std::vector<Example>& examples, const BatchOptions& batching,
             const ClassificationHead& head);
  ~HeadReplay();
  HeadReplay(const HeadReplay&) = delete;
  HeadReplay& operator=(const HeadReplay&) = delete;

  /// Whether the head's input was captured.
  bool available() const;
  /// Why not, when it was not.
  const std::string& reason() const;
  /// Whether `w` changed nothing but the head's weight and bias (else its logits need a
  /// forward pass).
  bool Covers(const WeightPerturbation& w) const;
  /// examples × classes: the logits with the head's parameters as `w` has them. Throws
  /// std::logic_error when !available() or !Covers(w).
  Eigen::MatrixXf Logits(const WeightPerturbation& w) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

/// A hash of every parameter's bytes, to prove a model is unchanged.
uint64_t ParameterHash(const Model& model);

}  // namespace synapse

#endif  // SYNAPSE_WEIGHT_PERTURBATION_H_
