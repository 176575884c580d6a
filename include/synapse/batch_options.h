// How examples are batched, padded and pooled: what extraction, sweeps, the evaluation
// session and the analysis share.
//
//   synapse::BatchOptions batching = synapse::BatchOptions().batch_size(64).pad_id(1);
//   synapse::Extraction x = synapse::Extract(model, examples, batching);
//   synapse::Analyze(model, examples, labels, names, synapse::AnalysisOptions().batching(batching));
#ifndef SYNAPSE_BATCH_OPTIONS_H_
#define SYNAPSE_BATCH_OPTIONS_H_

#include <cstdint>
#include <memory>

#include "synapse/intervention.h"
#include "synapse/options.h"

namespace synapse {

class SuffixCache;

/// How examples are batched and pooled; shared by extraction and sweeps.
struct BatchOptions {
  /// The pooled position and what is captured: first token ([CLS]), last real token, or
  /// the mean over real tokens.
  SYNAPSE_ARG(Pooling, pool) = Pooling::kFirst;
  /// Examples per forward pass. Batches group examples of similar length.
  SYNAPSE_ARG(int64_t, batch_size) = 32;
  /// Token id that pads shorter sequences.
  SYNAPSE_ARG(int64_t, pad_id) = 0;
  /// Seed of noise interventions (noise is also keyed by layer and example index).
  SYNAPSE_ARG(uint64_t, seed) = 0;
  /// Bytes extraction may hold (synapse/memory_budget.h); Extract throws DataError 212
  /// before the first batch when its estimate exceeds it. 0: 80% of physical memory;
  /// negative: no check.
  SYNAPSE_ARG(int64_t, memory_budget) = 0;
  /// Sweeps (RunPlans) run the unperturbed forward once per batch and each configuration
  /// only from its first intervened layer on (Model::RunEach); false runs the whole
  /// forward per configuration. The logits are the same either way.
  SYNAPSE_ARG(bool, suffix_execution) = true;
  /// Keeps each batch's cut values across RunPlans calls (Model::RunEach's cache), so that
  /// single configurations reuse the prefix too; null: each call runs its own unperturbed
  /// pass. Only for one model and one example set.
  SYNAPSE_ARG(std::shared_ptr<SuffixCache>, suffix_cache);
};

}  // namespace synapse

#endif  // SYNAPSE_BATCH_OPTIONS_H_
