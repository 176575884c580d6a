// An evaluation session: one model, one labelled evaluation set, and what experiments on
// them need, computed on first use and kept: the extraction (through the activation
// cache), the baseline, the probes' split, each layer's probe, ranking and neuron
// statistics, the head's captured input. A batch of experiments runs through one RunPlans
// (each batch's unperturbed prefix once for all of them). `synapse analyze`, the
// robustness tests, `synapse gate` and the suite all run their experiments here.
//
//   synapse::EvaluationSession session(model, examples, labels, {"ham", "spam"},
//                                      synapse::SessionOptions().seed(0));
//   std::vector<synapse::ExperimentResult> r = session.Run({
//       synapse::Experiment::Ablate(3, synapse::Experiment::Selection::kTop, 10),
//       synapse::Experiment::Noise(3, 0.5)});
//   r[0].pooled.accuracy, r[1].pooled.flip_rate ...
#ifndef SYNAPSE_EVALUATION_SESSION_H_
#define SYNAPSE_EVALUATION_SESSION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "synapse/activation_cache.h"
#include "synapse/experiment.h"
#include "synapse/experiments.h"
#include "synapse/extraction.h"
#include "synapse/options.h"
#include "synapse/probe.h"

namespace synapse {

class Model;

/// How a session extracts, probes and seeds.
struct SessionOptions {
  /// Pooling, batch size, pad id, memory budget, suffix execution; its seed is replaced by
  /// seed() below.
  SYNAPSE_ARG(BatchOptions, batching);
  /// The seed every draw derives from: the probes' split, random neuron sets and head
  /// columns, noise.
  SYNAPSE_ARG(uint64_t, seed) = 0;
  /// The layers to capture (indices; empty: every layer). Experiments must be at one.
  SYNAPSE_ARG(std::vector<int>, layers);
  SYNAPSE_ARG(ProbeOptions, probe);
  SYNAPSE_ARG(double, test_fraction) = 0.2;
  /// Of the Wilson intervals in every Metrics.
  SYNAPSE_ARG(double, confidence) = 0.95;
  /// The activation cache's directory (empty: none).
  SYNAPSE_ARG(std::string, cache_dir);
};

/// A layer's probe, its neuron ranking and how long the fit took.
struct LayerProbe {
  ProbeFit fit;
  NeuronRanking ranking;
  double seconds = 0;
};

class EvaluationSession {
 public:
  /// `labels[i]` is example i's class (0 .. class_names − 1). The model is used, not owned:
  /// it must outlive the session, and a head-weight experiment that cannot be scored from
  /// the head's input changes it for the duration of its pass.
  EvaluationSession(Model& model, std::vector<Example> examples, std::vector<int64_t> labels,
                    std::vector<std::string> class_names, SessionOptions options);
  ~EvaluationSession();
  EvaluationSession(const EvaluationSession&) = delete;
  EvaluationSession& operator=(const EvaluationSession&) = delete;

  Model& model() const;
  const std::vector<Example>& examples() const;
  const std::vector<int64_t>& labels() const;
  const std::vector<std::string>& class_names() const;
  const SessionOptions& options() const;
  /// The captured layers, sorted.
  const std::vector<int>& layers() const;

  /// The extraction (the first call runs it, reporting `progress`).
  const Extraction& Extract(const ProgressCallback& progress = {});
  bool extracted() const;
  /// How the activation cache answered (status "off" before the extraction).
  const CacheLookup& cache() const;
  /// The unperturbed predictions and their metrics.
  const std::vector<int64_t>& base_predictions();
  const Metrics& baseline();
  /// The unperturbed predictions of `indices` only: the extraction's, or, before it has
  /// run, a forward over those examples (kept for later calls).
  std::vector<int64_t> BasePredictionsOf(const std::vector<int64_t>& indices);
  /// The probes' stratified train/test split.
  const Split& split();
  const LayerProbe& Probe(int layer);
  /// The layer's probe if it has been fitted, else nullptr.
  const LayerProbe* probed(int layer) const;
  const NeuronStats& Stats(int layer);
  /// The logit budgets that flip each example, from the extraction's logits.
  const FlipBudgets& flip_budgets();
  /// The classification head (found on first use).
  const ClassificationHead& head();
  /// Whether head weight changes are scored from the head's captured input (no pass).
  bool head_input_available();

  /// Runs the experiments on every example: the plans of all of them through one RunPlans
  /// per noise seed (the first noise draw shares the batch with every other plan). Each is
  /// checked first; a bad one throws SpecError 311 naming it (Experiment::name, or its
  /// description) before anything runs.
  std::vector<ExperimentResult> Run(const std::vector<Experiment>& experiments, const ProgressCallback& progress = {});
  /// The same on the examples at `indices` (results in that order). Noise is keyed by each
  /// example's index in the whole set, so a subset sees what the whole run gives it.
  std::vector<ExperimentResult> RunOn(const std::vector<Experiment>& experiments, const std::vector<int64_t>& indices);

  /// The cost model of docs/gate.md, in passes per example: one plan runs one whole forward;
  /// several share one unperturbed forward and each runs only the layers after its own
  /// (logit shifts and head changes scored from the head's input cost none).
  double PassShare(const Experiment& e);
  /// Example-passes spent so far under that model (the extraction counts one per example).
  double passes_spent() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace synapse

#endif  // SYNAPSE_EVALUATION_SESSION_H_
