#include "data/batching.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "synapse/error.h"

namespace synapse {

std::vector<std::vector<int64_t>> LengthSortedBatches(const std::vector<Example>& examples, int64_t batch_size) {
  if (batch_size < 1) throw SpecError(310, "batch_size must be at least 1, got " + std::to_string(batch_size));
  std::vector<int64_t> order(examples.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return examples[static_cast<size_t>(a)].input_ids.size() < examples[static_cast<size_t>(b)].input_ids.size();
  });
  std::vector<std::vector<int64_t>> batches;
  for (size_t first = 0; first < order.size(); first += static_cast<size_t>(batch_size)) {
    const size_t last = std::min(order.size(), first + static_cast<size_t>(batch_size));
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(first),
                         order.begin() + static_cast<std::ptrdiff_t>(last));
  }
  return batches;
}

std::vector<Example> Gather(const std::vector<Example>& examples, const std::vector<int64_t>& indices) {
  std::vector<Example> out;
  out.reserve(indices.size());
  for (int64_t i : indices) out.push_back(examples[static_cast<size_t>(i)]);
  return out;
}

}  // namespace synapse
