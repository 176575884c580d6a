// Applying resolved interventions to one site's output tensor (private).
#ifndef SYNAPSE_SRC_ENGINE_INTERVENTION_KERNELS_H_
#define SYNAPSE_SRC_ENGINE_INTERVENTION_KERNELS_H_

#include <torch/script.h>

#include <cstdint>
#include <vector>

#include "synapse/intervention.h"

namespace synapse {

/// An intervention bound to a layer of known width.
struct ResolvedOp {
  Intervention::Op op = Intervention::Op::kZero;
  Positions positions = Positions::kAll;
  double value = 0;
  at::Tensor neuron_index;  // int64 [K], sorted
  at::Tensor neuron_mask;   // bool [H]
  at::Tensor means;         // float [H], for kMean
  at::Tensor sigmas;        // float [K], for kNoise with per-neuron sigmas
};

/// How a site's output is laid out.
enum class Layout { kUnknown, kBatchFirst, kSequenceFirst, kNested, kVector };
const char* LayoutName(Layout layout);

/// What the kernels need to know about the batch.
struct BatchGeometry {
  int64_t batch = 0;
  int64_t tokens = 0;
  at::Tensor real;                     // bool [batch, tokens]: true at non-padding positions
  std::vector<int64_t> example_index;  // data-set index of each row
  Pooling pool = Pooling::kFirst;
  uint64_t seed = 0;
};

/// The seed of the noise added to `example` at `site`; equal to noise_seed() in
/// tests/fixtures/make_fixtures.py so the PyTorch oracle draws the same numbers.
uint64_t NoiseSeed(uint64_t seed, int64_t site, int64_t example);

/// Works out the layout of `x` for this batch; `hint` (from the load-time dry run, whose
/// batch and token counts differ) settles the case batch == tokens.
Layout DetectLayout(const at::Tensor& x, const BatchGeometry& geometry, Layout hint);

/// Applies `ops` in order to `x`, the output of layer `site`, and returns the result
/// (never modifies `x`). When `capture` is non-null and a kCapture op is present, stores
/// the pooled vectors [batch, hidden] there. Throws std::runtime_error on a shape the
/// layout cannot explain.
at::Tensor ApplyAtSite(const at::Tensor& x, Layout layout, int64_t site, const std::vector<ResolvedOp>& ops,
                       const BatchGeometry& geometry, at::Tensor* capture);

/// Pooled vectors [batch, hidden] of a [batch, tokens, hidden] tensor.
at::Tensor Pool(const at::Tensor& x, const at::Tensor& real, Pooling pool);

}  // namespace synapse

#endif  // SYNAPSE_SRC_ENGINE_INTERVENTION_KERNELS_H_
