#include "engine/intervention_kernels.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/DistributionsHelper.h>

#include <stdexcept>

#include "util/hashing.h"

namespace synapse {
namespace {

// Index of the first (or last) real position of every row; 0 for a row with none.
at::Tensor PooledIndex(const at::Tensor& real, Pooling pool) {
  at::Tensor r = real.to(at::kInt);
  if (pool == Pooling::kLast) {
    return (real.size(1) - 1) - r.flip({1}).argmax(1);
  }
  return r.argmax(1);
}

// Positions an op touches: bool [batch, tokens].
at::Tensor PositionMask(const at::Tensor& real, Positions positions, Pooling pool) {
  if (positions == Positions::kAll) return real;
  at::Tensor mask = at::zeros_like(real);
  mask.scatter_(1, PooledIndex(real, pool).unsqueeze(1), true);
  return mask;
}

// One op on a [batch, tokens, hidden] tensor whose row b is batch row `row0 + b`.
at::Tensor ApplyOne(const at::Tensor& x, const at::Tensor& real, const ResolvedOp& op, int64_t site, int64_t row0,
                    const BatchGeometry& g) {
  at::Tensor positions = PositionMask(real, op.positions, g.pool);
  if (op.op == Intervention::Op::kNoise) {
    at::Tensor noise = at::zeros_like(x);
    const int64_t k = op.neuron_index.size(0);
    for (int64_t b = 0; b < x.size(0); ++b) {
      at::Tensor rows = positions[b].nonzero().squeeze(1);
      if (rows.numel() == 0 || k == 0) continue;
      auto gen = at::make_generator<at::CPUGeneratorImpl>(
          NoiseSeed(g.seed, site, g.example_index[static_cast<size_t>(row0 + b)]));
      at::Tensor draw = at::randn({rows.size(0), k}, gen, x.options().dtype(at::kFloat));
      draw = op.sigmas.defined() ? draw * op.sigmas.view({1, -1}) : draw * op.value;
      noise[b].index_put_({rows.unsqueeze(1), op.neuron_index.unsqueeze(0)}, draw.to(x.scalar_type()));
    }
    return x + noise;
  }
  at::Tensor mask = positions.unsqueeze(-1).logical_and(op.neuron_mask.view({1, 1, -1}));
  switch (op.op) {
    case Intervention::Op::kZero:
      return x.masked_fill(mask, 0);
    case Intervention::Op::kConstant:
      return x.masked_fill(mask, op.value);
    case Intervention::Op::kScale:
      return at::where(mask, x * op.value, x);
    case Intervention::Op::kMean:
      return at::where(mask, op.means.to(x.scalar_type()).view({1, 1, -1}).expand_as(x), x);
    default:
      return x;
  }
}

// All ops on a [batch, tokens, hidden] tensor.
at::Tensor ApplyPadded(at::Tensor x, const at::Tensor& real, int64_t site, int64_t row0,
                       const std::vector<ResolvedOp>& ops, const BatchGeometry& g, at::Tensor* capture) {
  for (const ResolvedOp& op : ops) {
    if (op.op == Intervention::Op::kCapture) {
      if (capture) *capture = Pool(x, real, g.pool).to(at::kFloat).contiguous();
      continue;
    }
    if (op.neuron_mask.size(0) != x.size(-1)) {
      throw std::runtime_error("layer " + std::to_string(site) + " output has " + std::to_string(x.size(-1)) +
                               " neurons, the intervention expects " + std::to_string(op.neuron_mask.size(0)));
    }
    x = ApplyOne(x, real, op, site, row0, g);
  }
  return x;
}

}  // namespace

uint64_t NoiseSeed(uint64_t seed, int64_t site, int64_t example) {
  uint64_t mixed = SplitMix64(seed) ^ SplitMix64(static_cast<uint64_t>(site) + 1) ^
                   SplitMix64((static_cast<uint64_t>(example) + 1) << 20);
  return SplitMix64(mixed) >> 1;
}

const char* LayoutName(Layout layout) {
  switch (layout) {
    case Layout::kBatchFirst:
      return "batch_first";
    case Layout::kSequenceFirst:
      return "sequence_first";
    case Layout::kNested:
      return "nested";
    case Layout::kVector:
      return "vector";
    case Layout::kUnknown:
      break;
  }
  return "unknown";
}

Layout DetectLayout(const at::Tensor& x, const BatchGeometry& g, Layout hint) {
  if (x.is_nested()) return Layout::kNested;
  if (x.dim() == 2 && x.size(0) == g.batch) return Layout::kVector;
  if (x.dim() != 3) return Layout::kUnknown;
  const bool batch_first = x.size(0) == g.batch;
  const bool sequence_first = x.size(1) == g.batch;
  if (batch_first && sequence_first) {
    if (hint == Layout::kSequenceFirst || hint == Layout::kBatchFirst) return hint;
    return x.size(1) == g.tokens ? Layout::kBatchFirst : Layout::kSequenceFirst;
  }
  if (batch_first) return Layout::kBatchFirst;
  if (sequence_first) return Layout::kSequenceFirst;
  return Layout::kUnknown;
}

at::Tensor Pool(const at::Tensor& x, const at::Tensor& real, Pooling pool) {
  if (pool == Pooling::kMean) {
    at::Tensor w = real.unsqueeze(-1).to(x.scalar_type());
    return (x * w).sum(1) / w.sum(1).clamp_min(1);
  }
  at::Tensor index = PooledIndex(real, pool).view({-1, 1, 1}).expand({x.size(0), 1, x.size(2)});
  return x.gather(1, index).squeeze(1);
}

at::Tensor ApplyAtSite(const at::Tensor& x, Layout layout, int64_t site, const std::vector<ResolvedOp>& ops,
                       const BatchGeometry& g, at::Tensor* capture) {
  switch (layout) {
    case Layout::kNested: {
      // One component per example, [tokens_i, hidden], no padding.
      std::vector<at::Tensor> parts = x.unbind(0);
      std::vector<at::Tensor> pooled;
      bool changed = false;
      for (size_t b = 0; b < parts.size(); ++b) {
        at::Tensor part = parts[b].unsqueeze(0);
        at::Tensor real = at::ones({1, part.size(1)}, at::kBool);
        at::Tensor cap;
        at::Tensor out = ApplyPadded(part, real, site, static_cast<int64_t>(b), ops, g, capture ? &cap : nullptr);
        if (cap.defined()) pooled.push_back(cap);
        changed = changed || !out.is_same(part);
        parts[b] = out.squeeze(0);
      }
      if (capture && !pooled.empty()) *capture = at::cat(pooled, 0);
      return changed ? at::_nested_tensor_from_tensor_list(parts) : x;
    }
    case Layout::kVector: {
      at::Tensor real = at::ones({x.size(0), 1}, at::kBool);
      return ApplyPadded(x.unsqueeze(1), real, site, 0, ops, g, capture).squeeze(1);
    }
    case Layout::kBatchFirst:
    case Layout::kSequenceFirst: {
      at::Tensor xb = layout == Layout::kSequenceFirst ? x.transpose(0, 1) : x;
      // A layer may emit a different number of positions than the input had (a model
      // that adds tokens of its own); then every position counts as real.
      at::Tensor real = xb.size(1) == g.tokens ? g.real : at::ones({xb.size(0), xb.size(1)}, at::kBool);
      at::Tensor out = ApplyPadded(xb, real, site, 0, ops, g, capture);
      return layout == Layout::kSequenceFirst ? out.transpose(0, 1) : out;
    }
    case Layout::kUnknown:
      break;
  }
  throw std::runtime_error("layer " + std::to_string(site) + " output of shape " + c10::str(x.sizes()) +
                           " does not have the batch size " + std::to_string(g.batch) +
                           " in its first or second dimension");
}

}  // namespace synapse
