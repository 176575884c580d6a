#include "synapse/weight_perturbation.h"

#include <ATen/CPUGeneratorImpl.h>

#include <map>
#include <stdexcept>

#include "data/batching.h"
#include "util/hashing.h"
#include "engine/model_impl.h"
#include "synapse/error.h"
#include "synapse/experiments.h"
#include "synapse/extraction.h"

namespace synapse {

class WeightPerturbation::Impl {
 public:
  // `live` (the same model): change the model's parameters (and restore them); null:
  // change copies.
  Impl(const Model::Impl& model, Model::Impl* live) : model_(model), live_(live != nullptr), live_model_(live) {}

  // The tensor to change: the live parameter, its original bytes saved on first touch, or
  // a copy of it.
  at::Tensor Touch(const std::string& name) {
    if (live_) ++live_model_->weights_version;
    auto it = saved_.find(name);
    if (it != saved_.end()) return it->second.first;
    for (const auto& [pname, value] : model_.NamedParameters()) {
      if (pname == name) {
        at::Tensor copy = value.detach().clone();
        if (live_)
          saved_.emplace(name, std::make_pair(value, copy));
        else
          saved_.emplace(name, std::make_pair(copy, at::Tensor()));
        return saved_.at(name).first;
      }
    }
    std::string hint;
    for (const auto& [pname, value] : model_.NamedParameters()) {
      if (pname.find(name) != std::string::npos) {
        hint = " (did you mean \"" + pname + "\"?)";
        break;
      }
    }
    throw ModelError(107, model_.path + ": no parameter named \"" + name + "\"" + hint);
  }

  void Restore() {
    at::NoGradGuard no_grad;
    if (live_) {
      for (auto& entry : saved_) entry.second.first.detach().copy_(entry.second.second);
      if (!saved_.empty()) ++live_model_->weights_version;
    }
    saved_.clear();
  }

  /// The changed value of `name`, or an undefined tensor when it was not touched.
  at::Tensor Changed(const std::string& name) const {
    auto it = saved_.find(name);
    return it == saved_.end() ? at::Tensor() : it->second.first;
  }
  std::vector<std::string> Touched() const {
    std::vector<std::string> out;
    for (const auto& entry : saved_) out.push_back(entry.first);
    return out;
  }
  const Model::Impl& model() const { return model_; }

 private:
  const Model::Impl& model_;
  bool live_;
  Model::Impl* live_model_;
  // name → (the tensor changed, its original bytes when it is the live parameter)
  std::map<std::string, std::pair<at::Tensor, at::Tensor>> saved_;
};

namespace {

at::Tensor IndexTensor(const std::vector<int64_t>& indices, int64_t size, const std::string& name, const char* what) {
  for (int64_t i : indices) {
    if (i < 0 || i >= size) {
      throw SpecError(305, "parameter \"" + name + "\": " + what + " " + std::to_string(i) + " is out of range (size " +
                               std::to_string(size) + ")");
    }
  }
  return at::tensor(indices, at::kLong);
}

}  // namespace

WeightPerturbation::WeightPerturbation(Model& model) : impl_(std::make_unique<Impl>(internal::ModelAccess::Of(model), &internal::ModelAccess::Of(model))) {}
WeightPerturbation::WeightPerturbation(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WeightPerturbation WeightPerturbation::Copies(const Model& model) {
  return WeightPerturbation(std::make_unique<Impl>(internal::ModelAccess::Of(model), nullptr));
}
WeightPerturbation::WeightPerturbation(WeightPerturbation&&) noexcept = default;
WeightPerturbation::~WeightPerturbation() {
  if (impl_) impl_->Restore();
}

void WeightPerturbation::Restore() { impl_->Restore(); }
std::vector<std::string> WeightPerturbation::touched() const { return impl_->Touched(); }

void WeightPerturbation::Zero(const std::string& parameter) {
  at::NoGradGuard no_grad;
  impl_->Touch(parameter).detach().zero_();
}

void WeightPerturbation::Scale(const std::string& parameter, double factor) {
  at::NoGradGuard no_grad;
  impl_->Touch(parameter).detach().mul_(factor);
}

void WeightPerturbation::Add(const std::string& parameter, double shift) {
  at::NoGradGuard no_grad;
  impl_->Touch(parameter).detach().add_(shift);
}

void WeightPerturbation::AddNoise(const std::string& parameter, double sigma, uint64_t seed, bool relative) {
  at::NoGradGuard no_grad;
  at::Tensor p = impl_->Touch(parameter).detach();
  double scale = relative ? sigma * p.to(at::kDouble).std().item<double>() : sigma;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  p.add_(at::randn(p.sizes(), gen, p.options()) * scale);
}

void WeightPerturbation::ScaleRows(const std::string& parameter, const std::vector<int64_t>& rows, double factor) {
  at::NoGradGuard no_grad;
  at::Tensor p = impl_->Touch(parameter).detach();
  at::Tensor idx = IndexTensor(rows, p.size(0), parameter, "row");
  p.index_copy_(0, idx, p.index_select(0, idx) * factor);
}

void WeightPerturbation::ScaleColumns(const std::string& parameter, const std::vector<int64_t>& columns,
                                      double factor) {
  at::NoGradGuard no_grad;
  at::Tensor p = impl_->Touch(parameter).detach();
  if (p.dim() < 2) {
    throw SpecError(305, "parameter \"" + parameter + "\" has " + std::to_string(p.dim()) +
                             " dimension(s); "
                             "columns need a matrix");
  }
  at::Tensor idx = IndexTensor(columns, p.size(1), parameter, "column");
  p.index_copy_(1, idx, p.index_select(1, idx) * factor);
}

void WeightPerturbation::ScaleEntries(const std::string& parameter, int64_t row, const std::vector<int64_t>& columns,
                                      double factor) {
  at::NoGradGuard no_grad;
  at::Tensor p = impl_->Touch(parameter).detach();
  if (p.dim() != 2) {
    throw SpecError(305, "parameter \"" + parameter + "\" has " + std::to_string(p.dim()) +
                             " dimension(s); "
                             "entries need a matrix");
  }
  IndexTensor({row}, p.size(0), parameter, "row");
  at::Tensor idx = IndexTensor(columns, p.size(1), parameter, "column");
  at::Tensor r = p[row];
  r.index_copy_(0, idx, r.index_select(0, idx) * factor);
}

void WeightPerturbation::AddRows(const std::string& parameter, const std::vector<int64_t>& rows, double shift) {
  at::NoGradGuard no_grad;
  at::Tensor p = impl_->Touch(parameter).detach();
  at::Tensor idx = IndexTensor(rows, p.size(0), parameter, "row");
  p.index_copy_(0, idx, p.index_select(0, idx) + shift);
}

class HeadReplay::Impl {
 public:
  const Model::Impl* model = nullptr;
  ClassificationHead head;
  std::string reason;
  std::vector<std::vector<int64_t>> batches;  // example indices, as RunPlans batches them
  std::vector<at::Tensor> inputs;             // per batch: the head's input, batch × inputs
  int64_t examples = 0;

  at::Tensor Live(const std::string& name) const {
    for (const auto& [pname, value] : model->NamedParameters()) {
      if (pname == name) return value.detach();
    }
    throw std::logic_error("HeadReplay: no parameter " + name);
  }
};

HeadReplay::HeadReplay(const Model& model, const std::vector<Example>& examples, const BatchOptions& batching,
                       const ClassificationHead& head)
    : impl_(std::make_unique<Impl>()) {
  Impl& r = *impl_;
  r.model = &internal::ModelAccess::Of(model);
  r.head = head;
  r.examples = static_cast<int64_t>(examples.size());
  if (r.model->package) {
    // The package's head site: what enters its head Linear, when that Linear is the head
    // named here and its output is the logits.
    const aoti::Package& package = *r.model->package;
    const std::string& module = package.head_module();
    if (head.weight != module + ".weight" || (!head.bias.empty() && head.bias != module + ".bias")) {
      r.reason = "the package's head site is the input of " + module + ", not of the head " + head.weight;
      return;
    }
    for (const std::vector<int64_t>& batch : LengthSortedBatches(examples, batching.batch_size())) {
      RunOptions run;
      run.pool(batching.pool()).pad_id(batching.pad_id()).seed(batching.seed()).example_indices(batch);
      at::Tensor logits;
      at::Tensor x = r.model->RunToHeadSite(Gather(examples, batch), run, &logits);
      c10::InferenceMode inference;
      if (x.dim() == 3 && logits.dim() == 2 && x.size(0) == logits.size(0)) {
        // The head runs on every token and the logits are one token's row (GPT-2 picks the
        // last real token after its `score`): keep, per example, the row whose output the
        // logits are; the check below refuses the replay when none is.
        at::Tensor all = at::linear(x, r.Live(head.weight), head.bias.empty() ? at::Tensor() : r.Live(head.bias));
        at::Tensor gap = (all.to(at::kFloat) - logits.to(at::kFloat).unsqueeze(1)).abs().amax(-1);
        at::Tensor token = gap.argmin(1);
        x = x.index({at::arange(x.size(0)), token});
      }
      at::Tensor replayed = at::linear(x, r.Live(head.weight), head.bias.empty() ? at::Tensor() : r.Live(head.bias));
      if (x.dim() != 2 || replayed.sizes() != logits.sizes() ||
          !at::allclose(replayed.to(at::kFloat), logits.to(at::kFloat), 1e-4, 1e-5)) {
        r.reason = "the package's logits are not " + module + " applied to the head site's input";
        r.inputs.clear();
        r.batches.clear();
        return;
      }
      r.batches.push_back(batch);
      r.inputs.push_back(x);
    }
    return;
  }
  const HeadInputGraph& graph = r.model->HeadInput(head.weight, head.bias);
  if (!graph.available()) {
    r.reason = graph.reason();
    return;
  }
  for (const std::vector<int64_t>& batch : LengthSortedBatches(examples, batching.batch_size())) {
    RunOptions run;
    run.pool(batching.pool()).pad_id(batching.pad_id()).seed(batching.seed()).example_indices(batch);
    at::Tensor x = r.model->RunToHeadInput(graph, Gather(examples, batch), run);
    if (x.dim() != 2 || x.size(0) != static_cast<int64_t>(batch.size()) || x.size(1) != head.inputs) {
      r.reason = "the head's input has shape [" +
                 (x.dim() == 2 ? std::to_string(x.size(0)) + ", " + std::to_string(x.size(1)) : std::string("…")) +
                 "], not [batch, " + std::to_string(head.inputs) + "]";
      r.inputs.clear();
      r.batches.clear();
      return;
    }
    r.batches.push_back(batch);
    r.inputs.push_back(x);
  }
}

HeadReplay::~HeadReplay() = default;

bool HeadReplay::available() const { return impl_->reason.empty(); }
const std::string& HeadReplay::reason() const { return impl_->reason; }

bool HeadReplay::Covers(const WeightPerturbation& w) const {
  for (const std::string& name : w.touched()) {
    if (name != impl_->head.weight && (impl_->head.bias.empty() || name != impl_->head.bias)) return false;
  }
  return true;
}

Eigen::MatrixXf HeadReplay::Logits(const WeightPerturbation& w) const {
  const Impl& r = *impl_;
  if (!available()) throw std::logic_error("HeadReplay::Logits: no head input (" + r.reason + ")");
  if (!Covers(w)) throw std::logic_error("HeadReplay::Logits: the perturbation changes more than the head");
  if (&w.impl_->model() != r.model) throw std::logic_error("HeadReplay::Logits: a perturbation of another model");
  c10::InferenceMode inference;
  at::Tensor weight = w.impl_->Changed(r.head.weight);
  if (!weight.defined()) weight = r.Live(r.head.weight);
  at::Tensor bias;
  if (!r.head.bias.empty()) {
    bias = w.impl_->Changed(r.head.bias);
    if (!bias.defined()) bias = r.Live(r.head.bias);
  }
  Eigen::MatrixXf out;
  for (size_t b = 0; b < r.batches.size(); ++b) {
    // The op the head's node runs, on the same rows in the same batches: the same numbers.
    at::Tensor logits = at::linear(r.inputs[b], weight, bias).to(at::kFloat).contiguous();
    if (out.size() == 0) out.resize(r.examples, logits.size(1));
    const float* data = logits.data_ptr<float>();
    for (size_t k = 0; k < r.batches[b].size(); ++k) {
      for (int64_t c = 0; c < logits.size(1); ++c) {
        out(r.batches[b][k], c) = data[static_cast<int64_t>(k) * logits.size(1) + c];
      }
    }
  }
  return out;
}

uint64_t ParameterHash(const Model& model) {
  Fnv1a64 h(Fnv1a64::kParameterHashBasis);
  auto mix = [&h](const void* data, size_t n) { h.Add(data, n); };
  for (const auto& [name, value] : internal::ModelAccess::Of(model).NamedParameters()) {
    mix(name.data(), name.size());
    at::Tensor c = value.detach().contiguous();
    mix(c.data_ptr(), c.numel() * c.element_size());
  }
  return h.value();
}

}  // namespace synapse
