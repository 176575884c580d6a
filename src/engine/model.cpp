// The Model object: its accessors and parameters, and the helpers every part of the
// engine that runs it shares (LibTorch errors and warnings, logits, tensor conversion).
// Loading is in model_load.cpp, inputs in model_inputs.cpp, running in model_run.cpp.
#include "synapse/model.h"

#include <iostream>
#include <sstream>

#include "engine/model_impl.h"
#include "synapse/error.h"

namespace synapse {
namespace {

std::string Trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

// Drops LibTorch's "nested tensors are a prototype" notice, which every run of
// nn.TransformerEncoder's fast path would print; other warnings stay, on one line each.
class QuietWarnings : public torch_compat::MessageWarningHandler {
 public:
  void OnWarning(const std::string& msg) override {
    if (msg.find("nested tensors is in prototype") != std::string::npos) return;
    std::cerr << "synapse: LibTorch warning: " << SummarizeTorchError(msg) << "\n";
  }
};

QuietWarnings quiet_warnings;

}  // namespace

c10::WarningHandler* QuietTorchWarnings() { return &quiet_warnings; }

std::string DescribeShape(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

at::Tensor ExtractLogits(const c10::IValue& output, const std::string& path, std::string* kind) {
  if (output.isTensor()) {
    *kind = "tensor";
    return output.toTensor();
  }
  if (output.isTuple()) {
    const auto& elements = output.toTupleRef().elements();
    if (!elements.empty() && elements[0].isTensor()) {
      *kind = "tuple[0]";
      return elements[0].toTensor();
    }
  }
  if (output.isGenericDict()) {
    for (const auto& entry : output.toGenericDict()) {
      if (entry.key().isString() && entry.key().toStringRef() == "logits" && entry.value().isTensor()) {
        *kind = "dict[logits]";
        return entry.value().toTensor();
      }
    }
  }
  throw ModelError(105, path + ": forward returns " + output.tagKind() +
                            "; expected logits as a Tensor, a tuple starting with one, or a dict with \"logits\"");
}

Eigen::MatrixXf ToEigen(const at::Tensor& t) {
  at::Tensor c = t.to(at::kFloat).contiguous();
  Eigen::MatrixXf out(c.size(0), c.size(1));
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  out = Eigen::Map<const RowMajor>(c.data_ptr<float>(), c.size(0), c.size(1));
  return out;
}

std::string SummarizeTorchError(const std::string& what) {
  // TorchScript errors end with the Python-style line that says what failed
  // ("RuntimeError: mat1 and mat2 shapes cannot be multiplied ..."); C++ errors start with it.
  std::vector<std::string> lines;
  std::istringstream in(what);
  for (std::string line; std::getline(in, line);) {
    line = Trim(line);
    if (!line.empty()) lines.push_back(line);
  }
  if (lines.empty()) return "unknown error";
  std::string chosen = lines.front();
  for (const std::string& l : lines) {
    if (l.find("Error: ") != std::string::npos && l.rfind("File ", 0) != 0) chosen = l;
  }
  if (chosen.rfind("Exception raised from", 0) == 0) chosen = lines.front();
  if (chosen.size() > 300) chosen = chosen.substr(0, 297) + "...";
  return chosen;
}

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

const std::string& Model::path() const { return impl_->path; }
const InputInfo& Model::inputs() const { return impl_->inputs; }
const std::vector<LayerInfo>& Model::layers() const { return impl_->layers; }
int64_t Model::num_classes() const { return impl_->num_classes; }
int64_t Model::parameter_count() const { return impl_->parameter_count; }
const std::string& Model::output_kind() const { return impl_->output_kind; }

std::vector<std::pair<std::string, at::Tensor>> Model::Impl::NamedParameters() const {
  if (package) return package->parameters();
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& p : module.named_parameters(true)) out.emplace_back(p.name, p.value);
  return out;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> Model::parameters() const {
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  for (const auto& [name, value] : impl_->NamedParameters()) out.emplace_back(name, value.sizes().vec());
  return out;
}

Eigen::MatrixXf Model::ParameterValues(const std::string& name) const {
  for (const auto& [pname, value] : impl_->NamedParameters()) {
    if (pname != name) continue;
    at::Tensor t = value.detach().to(at::kFloat);
    if (t.dim() == 0)
      t = t.view({1, 1});
    else if (t.dim() == 1)
      t = t.view({-1, 1});
    else
      t = t.reshape({t.size(0), -1});
    return ToEigen(t);
  }
  throw ModelError(107, impl_->path + ": no parameter named \"" + name + "\"");
}

}  // namespace synapse
