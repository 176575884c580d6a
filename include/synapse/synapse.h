// Synapse: robustness unit tests for Transformer classifiers. The umbrella header.
//
//   #include <synapse/synapse.h>
//   auto model = synapse::Model::Load("model.pt");
#ifndef SYNAPSE_SYNAPSE_H_
#define SYNAPSE_SYNAPSE_H_

#include "synapse/activation_cache.h"
#include "synapse/analysis.h"
#include "synapse/batch_options.h"
#include "synapse/classification_metrics.h"
#include "synapse/dataset.h"
#include "synapse/error.h"
#include "synapse/evaluation_session.h"
#include "synapse/example.h"
#include "synapse/experiment.h"
#include "synapse/experiments.h"
#include "synapse/extraction.h"
#include "synapse/intervention.h"
#include "synapse/memory_budget.h"
#include "synapse/model.h"
#include "synapse/probe.h"
#include "synapse/runtime.h"
#include "synapse/stats.h"
#include "synapse/training.h"
#include "synapse/weight_perturbation.h"
#include "synapse/weight_space_options.h"
#include "synapse/wordpiece_trainer.h"

#endif  // SYNAPSE_SYNAPSE_H_
