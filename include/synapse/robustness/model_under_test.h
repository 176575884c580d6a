// A model loaded with its evaluation data, and everything robustness queries share: one
// extraction pass (every queried layer's pooled vectors and the logits), a probe and its
// neuron ranking per layer (fitted on first use), and the result of every query run so far.
// One instance per distinct config is shared by every test in the binary.
//
//   auto model = synapse::robustness::ModelUnderTest::Shared(Config().model("models/spam-tiny"));
//   Outcome top10 = model->Ablate(TopK(10)).AtLayer(-1);
//   std::cout << top10.accuracy.value() << "\n";
//
// RobustnessTest (fixture.h) wraps this for TEST_F.
#ifndef SYNAPSE_ROBUSTNESS_MODEL_UNDER_TEST_H_
#define SYNAPSE_ROBUSTNESS_MODEL_UNDER_TEST_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "synapse/robustness/config.h"
#include "synapse/robustness/outcome.h"
#include "synapse/robustness/queries.h"

namespace synapse::robustness {

/// What one query measured on some examples of the evaluation set, per example, in the
/// order asked (adaptive evaluation reads these batch by batch).
struct ExampleOutcomes {
  /// The share of the query's draws that classified the example right (0 or 1 for one draw).
  std::vector<double> correct;
  /// The share of draws whose label differs from the unperturbed model's.
  std::vector<double> flipped;
  /// The example's class index.
  std::vector<int64_t> labels;
  /// Example-passes the call spent (examples × the share of a forward pass each cost).
  double passes = 0;
};

class ModelUnderTest : public std::enable_shared_from_this<ModelUnderTest> {
 public:
  /// The instance for `config` after ResolveConfig, loading it on first use (model, rows,
  /// tokenizer, labels; the extraction pass runs on the first query). Throws the one-line
  /// synapse::Error of whatever cannot be read.
  static std::shared_ptr<ModelUnderTest> Shared(const Config& config);
  /// Every instance loaded so far, in load order (for the reporters).
  static std::vector<std::shared_ptr<ModelUnderTest>> Loaded();

  ~ModelUnderTest();
  ModelUnderTest(const ModelUnderTest&) = delete;
  ModelUnderTest& operator=(const ModelUnderTest&) = delete;

  /// The resolved config.
  const Config& config() const;
  const std::vector<std::string>& class_names() const;
  int64_t num_examples() const;
  int num_layers() const;
  /// The class index of every example, in the evaluation set's order.
  const std::vector<int64_t>& labels() const;

  Query Baseline();
  Query Ablate(const Selection& selection);
  Query Noise(double sigma);
  Query LogitShift(double budget);
  Query HeadWeightScale(const std::string& class_name, const Selection& columns, double factor);
  ProbeQuery Probe(int layer);

  /// Runs a query, or returns its cached result. Throws SpecError 310 for a query that
  /// does not fit the model (a layer or class it lacks, k above the width).
  Outcome Run(const Query& query);
  ProbeOutcome Run(const ProbeQuery& query);

  /// Runs `query` on the examples at `indices` (into the evaluation set) only, uncached.
  /// What it needs of the whole set (the extraction for a probe's ranking, neuron
  /// statistics, the baseline's predictions) is computed once, as Run does.
  ExampleOutcomes RunOn(const Query& query, const std::vector<int64_t>& indices);
  /// The random control HurtsMoreThanRandom compares an ablation with (the same number of
  /// random neurons at the same layer and positions, Config().random_seeds() draws).
  /// Throws SpecError 311 for a query that is not a TopK / BottomK / NeuronSet ablation.
  Query RandomControlOf(const Query& ablation);
  /// Example-passes a full run of `query` costs per example, on top of the extraction
  /// (docs/gate.md, "Cost"): 1 for a single plan (one whole forward); for several plans
  /// run together, 1 for their shared unperturbed forward plus per plan the share of the
  /// layers after its intervened layer; 0 for what the extraction already holds (Baseline,
  /// LogitShift, probes).
  double PassShare(const Query& query);
  /// Example-passes spent so far: the extraction (one per example, cached or not), then
  /// every query run.
  double passes_spent() const;
  /// Whether the extraction pass over the whole set has run.
  bool extracted() const;

  /// What was measured so far, in the layout of `synapse analyze`'s report
  /// (docs/report-schema.md): model, data, options, baseline, layers (with the probes
  /// fitted and one experiment row per query run), logit_space, queries.
  nlohmann::ordered_json Report() const;

 private:
  class Impl;
  explicit ModelUnderTest(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace synapse::robustness

#endif  // SYNAPSE_ROBUSTNESS_MODEL_UNDER_TEST_H_
