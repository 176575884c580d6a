// Queries and selections as a test writes them (synapse/robustness/queries.h): builders,
// their checks, and ToString, which is also each query's cache key.
#include "synapse/robustness/queries.h"

#include "util/number_text.h"
#include "synapse/error.h"
#include "synapse/robustness/model_under_test.h"

namespace synapse::robustness {

Selection Selection::OfClass(std::string name) const {
  if (kind_ != Kind::kTop) throw SpecError(311, ToString() + ".OfClass(): only TopK has a per-class ranking");
  Selection s = *this;
  s.class_name_ = std::move(name);
  return s;
}

Selection Selection::Global() const {
  Selection s = *this;
  s.class_name_.clear();
  return s;
}

Selection Selection::Seeds(int draws) const {
  if (kind_ != Kind::kRandom) throw SpecError(311, ToString() + ".Seeds(): only RandomK draws");
  if (draws < 1) throw SpecError(311, ToString() + ".Seeds(" + std::to_string(draws) + "): at least 1 draw");
  Selection s = *this;
  s.draws_ = draws;
  return s;
}

std::string Selection::ToString() const {
  std::string s;
  switch (kind_) {
    case Kind::kTop:
      s = "TopK(" + std::to_string(k_) + ")";
      if (!class_name_.empty()) s += ".OfClass(\"" + class_name_ + "\")";
      break;
    case Kind::kBottom:
      s = "BottomK(" + std::to_string(k_) + ")";
      break;
    case Kind::kRandom:
      s = "RandomK(" + std::to_string(k_) + ")";
      if (draws_ != 1) s += ".Seeds(" + std::to_string(draws_) + ")";
      break;
    case Kind::kExplicit: {
      s = "NeuronSet({";
      for (size_t i = 0; i < neurons_.size(); ++i) s += (i ? ", " : "") + std::to_string(neurons_[i]);
      s += "})";
      break;
    }
  }
  return s;
}

Selection TopK(int64_t k) { return Selection(Selection::Kind::kTop, k); }
Selection BottomK(int64_t k) { return Selection(Selection::Kind::kBottom, k); }
Selection RandomK(int64_t k) { return Selection(Selection::Kind::kRandom, k); }
Selection NeuronSet(std::vector<int64_t> neurons) {
  Selection s(Selection::Kind::kExplicit, static_cast<int64_t>(neurons.size()));
  s.neurons_ = std::move(neurons);
  return s;
}

template <typename R>
void BasicQuery<R>::Require(bool ok, const char* method, const char* kinds) const {
  if (!ok) throw SpecError(311, ToString() + "." + method + ": only " + kinds + " queries take it");
}

template <typename R>
BasicQuery<R> BasicQuery<R>::AtLayer(int layer) const {
  Require(kind_ == Kind::kAblate || kind_ == Kind::kNoise, "AtLayer()", "Ablate and Noise");
  BasicQuery q = *this;
  q.layer_ = layer;
  return q;
}

template <typename R>
BasicQuery<R> BasicQuery<R>::PooledOnly() const {
  Require(kind_ == Kind::kAblate || kind_ == Kind::kNoise, "PooledOnly()", "Ablate and Noise");
  BasicQuery q = *this;
  q.pooled_only_ = true;
  return q;
}

template <typename R>
BasicQuery<R> BasicQuery<R>::ToMean() const {
  Require(kind_ == Kind::kAblate, "ToMean()", "Ablate");
  BasicQuery q = *this;
  q.to_mean_ = true;
  return q;
}

template <typename R>
BasicQuery<R> BasicQuery<R>::Seeds(int draws) const {
  Require(kind_ == Kind::kNoise, "Seeds()", "Noise (random neuron sets take RandomK(k).Seeds(n))");
  if (draws < 1) throw SpecError(311, ToString() + ".Seeds(" + std::to_string(draws) + "): at least 1 draw");
  BasicQuery q = *this;
  q.draws_ = draws;
  return q;
}

template <typename R>
R BasicQuery<R>::outcome() const {
  return model_->Run(*this);
}

template <typename R>
std::string BasicQuery<R>::ToString() const {
  std::string s;
  switch (kind_) {
    case Kind::kBaseline:
      return "Baseline()";
    case Kind::kAblate:
      s = "Ablate(" + selection_.ToString() + ")";
      break;
    case Kind::kNoise:
      s = "Noise(" + Shortest(amount_) + ")";
      break;
    case Kind::kLogitShift:
      return "LogitShift(" + Shortest(amount_) + ")";
    case Kind::kHeadWeightScale:
      return "HeadWeightScale(\"" + class_name_ + "\", " + selection_.ToString() + ", " + Shortest(amount_) + ")";
  }
  s += ".AtLayer(" + std::to_string(layer_) + ")";
  if (pooled_only_) s += ".PooledOnly()";
  if (to_mean_) s += ".ToMean()";
  if (draws_ != 1) s += ".Seeds(" + std::to_string(draws_) + ")";
  return s;
}

template <typename R>
R BasicProbeQuery<R>::outcome() const {
  return model_->Run(*this);
}

template class BasicQuery<Outcome>;
template class BasicProbeQuery<ProbeOutcome>;

}  // namespace synapse::robustness
