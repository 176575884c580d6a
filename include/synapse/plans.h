// Intervention plans (the interventions of one configuration) run over examples in
// batches, each batch's unperturbed prefix once for every plan.
//
//   std::vector<synapse::Plan> plans = {
//       {synapse::Intervention::Zero(synapse::Site::Layer(3), synapse::Neurons::Of(top10))},
//       {synapse::Intervention::Noise(synapse::Site::Layer(3), sigmas)},
//   };
//   std::vector<Eigen::MatrixXf> logits = synapse::RunPlans(model, examples, plans);
#ifndef SYNAPSE_PLANS_H_
#define SYNAPSE_PLANS_H_

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "synapse/batch_options.h"
#include "synapse/example.h"
#include "synapse/extraction.h"
#include "synapse/intervention.h"

namespace synapse {

class Model;

/// The interventions of one configuration, applied together.
using Plan = std::vector<Intervention>;

/// The logits (examples × classes, in example order) of every plan. Batches are the outer
/// loop and plans the inner one: each batch's unperturbed forward runs once, and each plan
/// only from its first intervened layer on (Model::RunEach; options.suffix_execution()).
/// `progress` counts finished (plan, batch) pairs in examples: total = plans × examples.
std::vector<Eigen::MatrixXf> RunPlans(const Model& model, const std::vector<Example>& examples,
                                      const std::vector<Plan>& plans, const BatchOptions& options = {},
                                      const ProgressCallback& progress = {});

/// RunPlans on the examples at `indices` only (rows in the order of `indices`). Noise is
/// keyed by each example's index in `examples`, so a subset sees the noise the whole run
/// gives those examples (adaptive evaluation visits the set in batches this way).
std::vector<Eigen::MatrixXf> RunPlansOn(const Model& model, const std::vector<Example>& examples,
                                        const std::vector<int64_t>& indices, const std::vector<Plan>& plans,
                                        const BatchOptions& options = {});

}  // namespace synapse

#endif  // SYNAPSE_PLANS_H_
