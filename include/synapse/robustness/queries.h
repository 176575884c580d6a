// Queries: what a robustness test does to the model, written the way it reads.
//
//   Baseline()                                         // no intervention
//   Ablate(TopK(10).OfClass("spam")).AtLayer(-1)       // zero spam's 10 strongest neurons
//   Ablate(TopK(20).Global()).AtLayer(2).PooledOnly()  // at the pooled token only
//   Ablate(RandomK(20).Seeds(5))                       // 5 random draws, pooled
//   Ablate(BottomK(64)).AtLayer(0).ToMean()            // set to their mean instead of 0
//   Noise(0.5).AtLayer(3)                              // Gaussian, 0.5 × each neuron's std
//   LogitShift(0.5)                                    // the worst L∞ logit change of 0.5
//   HeadWeightScale("spam", TopK(10), 1.5)             // spam's 10 largest head weights × 1.5
//   Probe(3)                                           // a linear probe on layer 3
//
// A query runs when it is first read as an Outcome (or ProbeOutcome), and its result is
// cached for every later test in the binary. Neurons are ranked by the layer's probe
// (SYNAPSE's global importance Σ_c |w_cj| and per-class weight w_cj).
#ifndef SYNAPSE_ROBUSTNESS_QUERIES_H_
#define SYNAPSE_ROBUSTNESS_QUERIES_H_

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "synapse/robustness/outcome.h"

namespace synapse::robustness {

class ModelUnderTest;

/// Which neurons (or head columns) a query touches.
class Selection {
 public:
  enum class Kind { kTop, kBottom, kRandom, kExplicit };

  /// The top-k of class `name` (the k largest probe weights of that class) instead of the
  /// global top-k. TopK only.
  Selection OfClass(std::string name) const;
  /// The global ranking (the default; reads well next to OfClass).
  Selection Global() const;
  /// Random draws pooled into one outcome (default 1). RandomK only.
  Selection Seeds(int draws) const;

  Kind kind() const { return kind_; }
  int64_t k() const { return k_; }
  const std::string& class_name() const { return class_name_; }
  int draws() const { return draws_; }
  const std::vector<int64_t>& neurons() const { return neurons_; }
  /// As written: "TopK(10).OfClass(\"spam\")".
  std::string ToString() const;

 private:
  friend Selection TopK(int64_t k);
  friend Selection BottomK(int64_t k);
  friend Selection RandomK(int64_t k);
  friend Selection NeuronSet(std::vector<int64_t> neurons);
  Selection(Kind kind, int64_t k) : kind_(kind), k_(k) {}
  Kind kind_;
  int64_t k_ = 0;
  std::string class_name_;
  int draws_ = 1;
  std::vector<int64_t> neurons_;
};

/// The k most important neurons by the layer's probe.
Selection TopK(int64_t k);
/// The k least important neurons.
Selection BottomK(int64_t k);
/// k neurons drawn at random (the control), seeded by the config's seed, the layer and k.
Selection RandomK(int64_t k);
/// These neurons.
Selection NeuronSet(std::vector<int64_t> neurons);

// Query and ProbeQuery are class templates instantiated once (BasicQuery<Outcome>,
// BasicProbeQuery<ProbeOutcome>, in model_under_test.cpp) for one reason: GoogleMock
// prints "(of type T)" after every "Actual:" value whose type name is short or template-free,
// and a query's printout (its outcome) says all there is.
template <typename Result>
class BasicQuery;
template <typename Result>
class BasicProbeQuery;

/// An intervention (or none) whose result is an Outcome. Copyable and cheap; the model
/// under test runs it once and caches the result.
using Query = BasicQuery<Outcome>;
/// A linear probe at one layer; read as a ProbeOutcome.
using ProbeQuery = BasicProbeQuery<ProbeOutcome>;

template <typename Result>
class BasicQuery {
 public:
  enum class Kind { kBaseline, kAblate, kNoise, kLogitShift, kHeadWeightScale };

  /// The layer (negative counts from the end; default −1, the last). Ablate and Noise only.
  BasicQuery AtLayer(int layer) const;
  /// Only the pooled token ([CLS]) instead of every token. Ablate and Noise only.
  BasicQuery PooledOnly() const;
  /// Ablated neurons take their mean over the evaluation set instead of 0. Ablate only.
  BasicQuery ToMean() const;
  /// Noise draws pooled into one outcome (default 1). Noise only.
  BasicQuery Seeds(int draws) const;

  /// Runs the query (or reads the cached result).
  Result outcome() const;
  operator Result() const { return outcome(); }  // NOLINT: queries read as outcomes

  Kind kind() const { return kind_; }
  const Selection& selection() const { return selection_; }
  int layer() const { return layer_; }
  bool pooled_only() const { return pooled_only_; }
  bool to_mean() const { return to_mean_; }
  int draws() const { return draws_; }
  double amount() const { return amount_; }
  const std::string& class_name() const { return class_name_; }
  /// As written in a test: "Ablate(TopK(10)).AtLayer(-1).PooledOnly()". Also the cache key.
  std::string ToString() const;
  /// The model under test it runs on.
  const std::shared_ptr<ModelUnderTest>& model() const { return model_; }

 private:
  friend class ModelUnderTest;
  BasicQuery(std::shared_ptr<ModelUnderTest> model, Kind kind, Selection selection)
      : model_(std::move(model)), kind_(kind), selection_(std::move(selection)) {}
  void Require(bool ok, const char* method, const char* kinds) const;

  std::shared_ptr<ModelUnderTest> model_;
  Kind kind_;
  Selection selection_;
  int layer_ = -1;
  bool pooled_only_ = false;
  bool to_mean_ = false;
  int draws_ = 1;
  double amount_ = 0;       // noise σ, logit budget, or head factor
  std::string class_name_;  // HeadWeightScale's class
};

template <typename Result>
class BasicProbeQuery {
 public:
  Result outcome() const;
  operator Result() const { return outcome(); }  // NOLINT
  int layer() const { return layer_; }
  std::string ToString() const { return "Probe(" + std::to_string(layer_) + ")"; }

 private:
  friend class ModelUnderTest;
  BasicProbeQuery(std::shared_ptr<ModelUnderTest> model, int layer) : model_(std::move(model)), layer_(layer) {}
  std::shared_ptr<ModelUnderTest> model_;
  int layer_;
};

extern template class BasicQuery<Outcome>;
extern template class BasicProbeQuery<ProbeOutcome>;

/// How gtest prints a query in "Actual:": what it is and what it measured.
void PrintTo(const Query& query, std::ostream* os);
void PrintTo(const ProbeQuery& query, std::ostream* os);
void PrintTo(const ProbeOutcome& outcome, std::ostream* os);

}  // namespace synapse::robustness

#endif  // SYNAPSE_ROBUSTNESS_QUERIES_H_
