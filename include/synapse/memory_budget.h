// How much memory an extraction will take, estimated before it runs, and the budget it must
// fit. Extract() checks BatchOptions::memory_budget itself; the estimate is public so a tool
// can show it.
//
//   synapse::MemoryEstimate e = synapse::EstimateExtractionMemory(model, examples, batching);
//   std::cout << e.Describe();  // "1.2 GiB: 950 MiB pooled activations (…) + …"
#ifndef SYNAPSE_MEMORY_BUDGET_H_
#define SYNAPSE_MEMORY_BUDGET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "synapse/example.h"
#include "synapse/intervention.h"

namespace synapse {

class Model;
struct BatchOptions;

struct MemoryEstimate {
  /// The pooled vectors of every captured layer and the logits, twice: the extraction and
  /// the probes' standardized copy.
  int64_t activation_bytes = 0;
  /// One forward pass over the largest batch: batch × tokens × widest layer × 4 bytes × 24
  /// (a Transformer layer's intermediates), plus batch × tokens² × 4 bytes × 16 heads.
  int64_t batch_bytes = 0;
  /// The model's parameters, as float32.
  int64_t parameter_bytes = 0;
  /// What suffix execution keeps for one batch of a sweep: the values crossing each cut a
  /// configuration starts from, about one hidden state (batch × tokens × width × 4 bytes)
  /// per such layer (`cuts`).
  int64_t cut_bytes = 0;

  int64_t total() const { return activation_bytes + batch_bytes + parameter_bytes + cut_bytes; }
  /// "1.2 GiB (950.0 MiB activations of 887 examples × 4 layers × 128, 300.0 MiB for one batch …)".
  std::string Describe() const;

  int64_t examples = 0;
  int64_t layers = 0;
  int64_t widest_layer = 0;
  int64_t longest_example = 0;
  int64_t cuts = 0;
};

/// Estimates what Extract(model, examples, options, layers) holds at its peak.
MemoryEstimate EstimateExtractionMemory(const Model& model, const std::vector<Example>& examples,
                                        const BatchOptions& options, const std::vector<int>& layers = {});

/// Estimates what RunPlans(model, examples, plans, options) holds at its peak: the
/// parameters, one batch's intermediates and, with suffix execution, the cut values kept
/// per batch (one per distinct first intervened layer). RunPlans checks it against
/// options.memory_budget before the first batch.
MemoryEstimate EstimateSweepMemory(const Model& model, const std::vector<Example>& examples,
                                   const BatchOptions& options, const std::vector<std::vector<Intervention>>& plans);

/// 80% of this machine's physical memory: the budget when none is given.
int64_t DefaultMemoryBudget();

/// Throws DataError 212 when `estimate` exceeds `budget_bytes`, saying by how much and what
/// to lower. `budget_bytes` 0 means DefaultMemoryBudget(); a negative budget disables the check.
/// `what` names the stage in the message ("extraction", "the sweep").
void CheckMemoryBudget(const MemoryEstimate& estimate, int64_t budget_bytes, const std::string& what = "extraction");

}  // namespace synapse

#endif  // SYNAPSE_MEMORY_BUDGET_H_
