#include "synapse/weight_perturbation.h"

#include <ATen/CPUGeneratorImpl.h>

#include <map>

#include "hashing.h"
#include "model_impl.h"
#include "synapse/error.h"

namespace synapse {

class WeightPerturbation::Impl {
 public:
  explicit Impl(const Model& model) : model_(model.impl()) {}

  // The live parameter; its original bytes are saved on first touch.
  at::Tensor Touch(const std::string& name) {
    auto it = saved_.find(name);
    if (it != saved_.end()) return it->second.first;
    for (const auto& p : model_.module.named_parameters(true)) {
      if (p.name == name) {
        saved_.emplace(name, std::make_pair(p.value, p.value.detach().clone()));
        return p.value;
      }
    }
    std::string hint;
    for (const auto& p : model_.module.named_parameters(true)) {
      if (p.name.find(name) != std::string::npos) {
        hint = " (did you mean \"" + p.name + "\"?)";
        break;
      }
    }
    throw ModelError(107, model_.path + ": no parameter named \"" + name + "\"" + hint);
  }

  void Restore() {
    at::NoGradGuard no_grad;
    for (auto& entry : saved_) entry.second.first.detach().copy_(entry.second.second);
    saved_.clear();
  }

 private:
  Model::Impl& model_;
  std::map<std::string, std::pair<at::Tensor, at::Tensor>> saved_;  // name → (live, original)
};

namespace {

at::Tensor IndexTensor(const std::vector<int64_t>& indices, int64_t size, const std::string& name,
                       const char* what) {
  for (int64_t i : indices) {
    if (i < 0 || i >= size) {
      throw SpecError(305, "parameter \"" + name + "\": " + what + " " + std::to_string(i) +
                               " is out of range (size " + std::to_string(size) + ")");
    }
  }
  return at::tensor(indices, at::kLong);
}

}  // namespace

WeightPerturbation::WeightPerturbation(const Model& model) : impl_(std::make_unique<Impl>(model)) {}
WeightPerturbation::~WeightPerturbation() { impl_->Restore(); }

void WeightPerturbation::Restore() { impl_->Restore(); }

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
    throw SpecError(305, "parameter \"" + parameter + "\" has " + std::to_string(p.dim()) + " dimension(s); "
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
    throw SpecError(305, "parameter \"" + parameter + "\" has " + std::to_string(p.dim()) + " dimension(s); "
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

uint64_t ParameterHash(const Model& model) {
  Fnv1a64 h(Fnv1a64::kParameterHashBasis);
  auto mix = [&h](const void* data, size_t n) { h.Add(data, n); };
  for (const auto& p : model.impl().module.named_parameters(true)) {
    mix(p.name.data(), p.name.size());
    at::Tensor c = p.value.detach().contiguous();
    mix(c.data_ptr(), c.numel() * c.element_size());
  }
  return h.value();
}

}  // namespace synapse
