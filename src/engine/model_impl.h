// Model::Impl, shared by the sources that need the TorchScript module (private): model.cpp
// (the object, shared helpers), model_load.cpp, model_inputs.cpp and model_run.cpp.
//
//   const PreparedInputs prepared = PrepareInputs(impl, batch, RunOptions());
//   c10::IValue output = impl.module.forward(prepared.arguments);
#ifndef SYNAPSE_SRC_ENGINE_MODEL_IMPL_H_
#define SYNAPSE_SRC_ENGINE_MODEL_IMPL_H_

#include <torch/script.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/aoti/package.h"
#include "engine/torchscript/forward_stages.h"
#include "engine/torchscript/hook.h"
#include "engine/intervention_kernels.h"
#include "engine/torch_compat.h"
#include "synapse/model.h"

namespace synapse {

class Model::Impl {
 public:
  /// The TorchScript module; unused when `package` is set.
  torch::jit::Module module;
  /// The AOTInductor package, for a .pt2 model; null for TorchScript.
  std::unique_ptr<aoti::Package> package;
  std::string path;
  ModelOptions options;
  InputInfo inputs;
  std::vector<LayerInfo> layers;
  std::vector<Layout> layouts;
  /// The selected modules (path, module), in layer order; SiteMap's module indices.
  std::vector<std::pair<std::string, torch::jit::Module>> site_modules;
  SiteMap sites;
  int64_t num_classes = -1;
  int64_t parameter_count = 0;
  std::string output_kind;
  /// Bumped by every change to the live parameters (SuffixCache entries go stale).
  std::atomic<uint64_t> weights_version{0};

  /// The parameters by name (TorchScript's named_parameters, or the package's weights):
  /// the live tensors the model computes with.
  std::vector<std::pair<std::string, at::Tensor>> NamedParameters() const;

  /// Runs the model with no interventions to count the calls of each selected module
  /// (one layer per call) and learn each layer's layout and width and the number of
  /// classes.
  void DryRun(const std::vector<Example>& batch);

  /// The forward graph cut at the hook sites, built on first use.
  const ForwardStages& Stages() const;

  /// The forward graph up to the input of the head with these parameters, built on first
  /// use.
  const HeadInputGraph& HeadInput(const std::string& weight, const std::string& bias) const;
  /// Runs `graph` on one batch (padded and fed as Run feeds it): the head's input, one row
  /// per example in batch order. Never changes the model.
  at::Tensor RunToHeadInput(const HeadInputGraph& graph, const std::vector<Example>& batch,
                            const RunOptions& options) const;
  /// For a package: runs the forward on one batch and returns what enters the head site,
  /// one row per example in batch order, and (in *logits) the logits.
  at::Tensor RunToHeadSite(const std::vector<Example>& batch, const RunOptions& options, at::Tensor* logits) const;

 private:
  mutable std::mutex stages_mutex;  // guards stages, which a deferred dry run resets
  mutable std::unique_ptr<ForwardStages> stages;
  mutable std::mutex head_mutex;  // guards heads
  mutable std::map<std::pair<std::string, std::string>, std::unique_ptr<HeadInputGraph>> heads;
};

/// The first line of a LibTorch error that says what went wrong, without the C++ or
/// TorchScript traceback.
std::string SummarizeTorchError(const std::string& what);

/// The handler every run installs: drops LibTorch's nested-tensor prototype notice and
/// prints other warnings on one line each.
c10::WarningHandler* QuietTorchWarnings();

/// "[2, 3]".
std::string DescribeShape(const std::vector<int64_t>& shape);

/// The logits in forward's output (a tensor, the first of a tuple, or a dict's "logits");
/// *kind says which. ModelError 105 when there are none.
at::Tensor ExtractLogits(const c10::IValue& output, const std::string& path, std::string* kind);

/// A 2-d tensor as a float matrix.
Eigen::MatrixXf ToEigen(const at::Tensor& t);

/// The dry run's token ids (model_load.cpp says why these).
extern const std::vector<int64_t> kDryRunIds;

/// A batch as forward's arguments, and the geometry the kernels need.
struct PreparedInputs {
  std::vector<c10::IValue> arguments;
  BatchGeometry geometry;
};

/// Pads or stacks `batch` into forward's arguments (after `self`). DataError 203, 206 or
/// 207 when an example does not fit the model or the options.
PreparedInputs PrepareInputs(const Model::Impl& m, const std::vector<Example>& batch, const RunOptions& options);

namespace internal {

// The implementation behind a Model, for the engine's own sources. Through a const Model it
// is const: whatever changes the model (WeightPerturbation on the live parameters) needs a
// Model&.
struct ModelAccess {
  static const Model::Impl& Of(const Model& model) { return *model.impl_; }
  static Model::Impl& Of(Model& model) { return *model.impl_; }
};

}  // namespace internal

}  // namespace synapse

#endif  // SYNAPSE_SRC_ENGINE_MODEL_IMPL_H_
