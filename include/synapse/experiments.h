// Everything a sweep of experiments uses, in one include: intervention plans and running
// them (plans.h), scoring them (metrics.h), logit-space flip budgets (flip_budgets.h),
// neuron statistics (neuron_stats.h) and the classification head (classification_head.h).
// One experiment and its result are described in experiment.h.
//
//   std::vector<Eigen::MatrixXf> logits = synapse::RunPlans(model, examples, plans);
//   synapse::Metrics m = synapse::Score(synapse::ArgMaxRows(logits[0]), labels, base, 3);
#ifndef SYNAPSE_EXPERIMENTS_H_
#define SYNAPSE_EXPERIMENTS_H_

#include "synapse/classification_head.h"
#include "synapse/flip_budgets.h"
#include "synapse/metrics.h"
#include "synapse/neuron_stats.h"
#include "synapse/plans.h"

#endif  // SYNAPSE_EXPERIMENTS_H_
