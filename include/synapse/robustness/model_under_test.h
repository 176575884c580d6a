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
