// Grouping examples into batches of similar length (private).
#ifndef SYNAPSE_SRC_DATA_BATCHING_H_
#define SYNAPSE_SRC_DATA_BATCHING_H_

#include <cstdint>
#include <vector>

#include "synapse/example.h"

namespace synapse {

/// Example indices sorted by token count (stable), cut into batches of `batch_size`: little
/// compute is spent on padding. Throws SpecError 310 for batch_size < 1.
std::vector<std::vector<int64_t>> LengthSortedBatches(const std::vector<Example>& examples, int64_t batch_size);

/// The examples at `indices`, in that order.
std::vector<Example> Gather(const std::vector<Example>& examples, const std::vector<int64_t>& indices);

}  // namespace synapse

#endif  // SYNAPSE_SRC_DATA_BATCHING_H_
