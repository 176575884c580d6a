// Interventions: what to do to a layer's output (or the logits) during a forward pass.
//
//   using synapse::Intervention;
//   std::vector<Intervention> plan = {
//       Intervention::Zero(synapse::Site::Layer(3), synapse::Neurons::Of({1, 5, 9})),
//       Intervention::Scale(synapse::Site::Layer(-1), 2.0).pooled_only(),
//       synapse::ParseIntervention("logits:shift:0,0.5,-0.5"),
//   };
//   auto result = model.Run(examples, plan);
//
// Semantics (the PyTorch oracle in tests/fixtures/make_fixtures.py implements the same):
// - A layer site's output is a [batch, tokens, hidden] tensor (or [tokens, batch, hidden],
//   a nested tensor of [tokens_i, hidden], or [batch, hidden]); the *neurons* are the
//   hidden dimensions. Only real (non-padding) token positions are touched.
// - `Positions::kAll` changes every real position; `kPooled` only the pooled one: the first
//   real token (`Pooling::kFirst`, the [CLS] token) or the last (`Pooling::kLast`).
// - Several interventions at one site apply in the order given; sites compose.
// - Noise is seeded per (seed, layer, example index): results do not depend on batching.
#ifndef SYNAPSE_INTERVENTION_H_
#define SYNAPSE_INTERVENTION_H_

#include <cstdint>
#include <string>
#include <vector>

namespace synapse {

/// Where an intervention applies: a layer (by index or name) or the output logits.
class Site {
 public:
  /// Layer by index; negative counts from the end (-1 is the last layer).
  static Site Layer(int index) { return Site(Kind::kLayerIndex, index, {}); }
  /// Layer by its module path, e.g. "bert.encoder.layer.3".
  static Site Named(std::string name) { return Site(Kind::kLayerName, 0, std::move(name)); }
  /// The model's output logits.
  static Site Logits() { return Site(Kind::kLogits, 0, {}); }

  bool is_logits() const { return kind_ == Kind::kLogits; }
  bool is_layer_index() const { return kind_ == Kind::kLayerIndex; }
  int layer_index() const { return index_; }
  const std::string& layer_name() const { return name_; }
  /// As written in a SPEC: "3", "-1", "bert.encoder.layer.3" or "logits".
  std::string ToString() const;

 private:
  enum class Kind { kLayerIndex, kLayerName, kLogits };
  Site(Kind kind, int index, std::string name) : kind_(kind), index_(index), name_(std::move(name)) {}
  Kind kind_;
  int index_;
  std::string name_;
};

/// Which hidden dimensions an intervention touches.
class Neurons {
 public:
  /// Every neuron of the site.
  static Neurons All() { return Neurons(true, {}); }
  /// These neurons; negative indices count from the end. Duplicates are ignored.
  static Neurons Of(std::vector<int64_t> indices) { return Neurons(false, std::move(indices)); }

  bool all() const { return all_; }
  const std::vector<int64_t>& indices() const { return indices_; }
  /// Sorted, de-duplicated, non-negative indices for a site of `width` neurons.
  /// Throws SpecError 305 naming `site` when an index is out of range.
  std::vector<int64_t> Resolve(int64_t width, const std::string& site) const;
  /// "all" or a compact list such as "1,5,9-12".
  std::string ToString() const;

 private:
  Neurons(bool all, std::vector<int64_t> indices) : all_(all), indices_(std::move(indices)) {}
  bool all_;
  std::vector<int64_t> indices_;
};

/// Which token positions a layer intervention touches.
enum class Positions { kAll, kPooled };

/// Which token stands for the sequence: the pooled position, and what captures return.
enum class Pooling { kFirst, kLast, kMean };

/// "first", "last" or "mean".
const char* PoolingName(Pooling pooling);

/// One operation at one site.
class Intervention {
 public:
  enum class Op { kCapture, kZero, kConstant, kMean, kScale, kNoise, kShift };

  /// Records the pooled vector of each example (RunResult::captures).
  static Intervention Capture(Site site);
  /// Sets the neurons to 0.
  static Intervention Zero(Site site, Neurons neurons = Neurons::All());
  /// Sets the neurons to `value`.
  static Intervention Constant(Site site, double value, Neurons neurons = Neurons::All());
  /// Sets neuron j to `means[j]`; `means` has one value per neuron of the site.
  static Intervention Mean(Site site, std::vector<float> means, Neurons neurons = Neurons::All());
  /// Multiplies the neurons by `factor`.
  static Intervention Scale(Site site, double factor, Neurons neurons = Neurons::All());
  /// Adds N(0, sigma²) noise, seeded by RunOptions::seed, the layer and the example index.
  static Intervention Noise(Site site, double sigma, Neurons neurons = Neurons::All());
  /// Adds N(0, sigmas[j]²) noise to neuron j; `sigmas` has one value per neuron of the site
  /// (e.g. a multiple of each neuron's standard deviation). Same draws as Noise(site, 1.0).
  static Intervention Noise(Site site, std::vector<float> sigmas, Neurons neurons = Neurons::All());
  /// Adds `shift[c]` to the logit of class c. Only at Site::Logits().
  static Intervention Shift(std::vector<float> shift);

  /// Restricts a layer intervention to the pooled position (see Pooling).
  Intervention& pooled_only() {
    positions_ = Positions::kPooled;
    return *this;
  }
  Intervention& positions(Positions p) {
    positions_ = p;
    return *this;
  }

  Op op() const { return op_; }
  const Site& site() const { return site_; }
  const Neurons& neurons() const { return neurons_; }
  Positions positions() const { return positions_; }
  /// The constant, factor or sigma.
  double value() const { return value_; }
  /// The per-neuron means (kMean), per-neuron sigmas (kNoise; empty: `value` for all) or
  /// per-class shift (kShift).
  const std::vector<float>& values() const { return values_; }
  /// In SPEC grammar, e.g. "3:zero:1,5,9" or "-1:scale=2:all:pooled".
  std::string ToString() const;

 private:
  Intervention(Op op, Site site, Neurons neurons, double value, std::vector<float> values)
      : op_(op), site_(std::move(site)), neurons_(std::move(neurons)), value_(value), values_(std::move(values)) {}
  Op op_;
  Site site_;
  Neurons neurons_;
  Positions positions_ = Positions::kAll;
  double value_ = 0;
  std::vector<float> values_;
};

/// Parses `SITE:OP[=ARG]:NEURONS[:POSITIONS]`:
///   SITE       layer index (negative from the end), layer name, or `logits`
///   OP         zero | const=V | scale=F | noise=SIGMA | shift (logits only)
///   NEURONS    all | a list like 1,5,9-12 (for shift: one value per class)
///   POSITIONS  all (default) | pooled
/// Throws SpecError (ids 301-304) naming the part that is wrong.
Intervention ParseIntervention(const std::string& spec);

}  // namespace synapse

#endif  // SYNAPSE_INTERVENTION_H_
