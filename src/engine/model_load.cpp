// Model::Load: reading a TorchScript file, its inputs and layers, hooking the layers, and
// the dry run that counts their calls and learns their widths and layouts.
#include <sys/stat.h>
#include <torch/version.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <unordered_set>

#include "engine/torchscript/hook.h"
#include "engine/torchscript/layer_discovery.h"
#include "engine/model_impl.h"
#include "engine/run_context.h"
#include "synapse/error.h"
#include "synapse/model.h"
#include "engine/torchscript/untrusted_model.h"

namespace synapse {

// The dry run's token ids: real tokens, not padding, for any vocabulary of ten or more.
// All-zero ids are all padding to a model that masks `input_ids == 0`; 5..9 avoid the
// special tokens of BERT ([PAD] 0), RoBERTa (<s> 0, <pad> 1, </s> 2, <unk> 3) and
// Synapse's WordPiece vocabularies (0..4).
const std::vector<int64_t> kDryRunIds = {5, 6, 7, 8, 9};

namespace {

const std::set<std::string> kTokenArguments = {"input_ids", "attention_mask", "token_type_ids"};

const std::string kLibTorchVersion = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) +
                                     "." + std::to_string(TORCH_VERSION_PATCH);

// ModelError 110 when torch::jit::load failed because the archive needs a newer runtime:
// an operator this LibTorch lacks (aten::scaled_dot_product_attention, added in 2.0, is what
// Hugging Face's default attention traces to), or a newer file format.
void ThrowIfFromNewerPyTorch(const std::string& path, const std::string& what) {
  static const std::regex unknown_op(R"(Unknown builtin op: ([A-Za-z_][A-Za-z0-9_]*::[A-Za-z0-9_.]*[A-Za-z0-9_]))");
  static const std::regex version(R"(version (\d+), but the maximum supported version for reading is (\d+))");
  std::smatch match;
  if (std::regex_search(what, match, unknown_op)) {
    const std::string op = match[1];
    std::string advice = "export it again without it";
    if (op == "aten::scaled_dot_product_attention") {
      advice =
          "export it with eager attention (`synapse-export SAVED_DIR OUT_DIR --attn eager`; by hand: "
          "from_pretrained(..., attn_implementation=\"eager\"), README \"Bringing your own model\")";
    }
    throw ModelError(110, path + ": calls " + op + ", an operator LibTorch " + kLibTorchVersion +
                              " does not have (the model was exported by a newer PyTorch); " + advice +
                              ", or build Synapse against a LibTorch that has it");
  }
  if (std::regex_search(what, match, version)) {
    throw ModelError(110, path + ": written in TorchScript file format " + match[1].str() + ", LibTorch " +
                              kLibTorchVersion + " reads up to " + match[2].str() +
                              " (the model was saved by a newer PyTorch); save it again with a PyTorch whose "
                              "format this LibTorch reads, or build Synapse against a newer LibTorch");
  }
}

// The module in `path`, loaded on the CPU, checked for hostile storage and operators, in
// eval mode.
torch::jit::Module LoadModuleFile(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) throw ModelError(101, path + ": no such file");
  if (S_ISDIR(st.st_mode)) throw ModelError(101, path + ": is a directory holding no model.pt or model.pt2, not a model file");
  if (!std::ifstream(path).good()) throw ModelError(101, path + ": cannot be read (permissions?)");
  if (st.st_size == 0) throw ModelError(102, path + ": is empty (0 bytes), not a TorchScript file");
  torch::jit::Module module;
  torch_compat::UseUnfusedExecutor();  // before any graph of this model is optimized
  try {
    module = torch::jit::load(path, c10::kCPU);
  } catch (const std::exception& e) {
    ThrowIfFromNewerPyTorch(path, e.what());
    throw ModelError(102, path + ": not a loadable TorchScript file (save it with torch.jit.save): " +
                              SummarizeTorchError(e.what()));
  }
  CheckStorageBounds(module, path);
  CheckOperatorPolicy(module, path);
  module.eval();
  return module;
}

// Inputs, from forward's signature: token ids (with mask and types), or one float tensor.
InputInfo ReadInputs(const torch::jit::Module& module, const std::string& path) {
  InputInfo inputs;
  auto forward = module.find_method("forward");
  if (!forward) throw ModelError(103, path + ": the module has no forward method");
  const auto& schema = forward->function().getSchema();
  std::vector<std::string> unknown_required;
  for (size_t a = 1; a < schema.arguments().size(); ++a) {
    const auto& arg = schema.arguments()[a];
    inputs.argument_names.push_back(arg.name());
    const bool tensor_like =
        arg.type()->isSubtypeOf(*c10::TensorType::get()) || arg.type()->isSubtypeOf(*c10::OptionalType::ofTensor());
    if (kTokenArguments.count(arg.name()) || !arg.default_value()) {
      if (!tensor_like) {
        throw ModelError(103, path + ": forward takes \"" + arg.name() + "\" as " + arg.type()->repr_str() +
                                  "; Synapse feeds tensors (input_ids, attention_mask, token_type_ids, "
                                  "or one float tensor)");
      }
    }
    if (!kTokenArguments.count(arg.name()) && !arg.default_value()) unknown_required.push_back(arg.name());
  }
  const auto& names = inputs.argument_names;
  const bool has_ids = std::find(names.begin(), names.end(), "input_ids") != names.end();
  if (has_ids && !unknown_required.empty()) {
    throw ModelError(103, path + ": forward needs \"" + unknown_required.front() +
                              "\", which Synapse cannot supply next to input_ids");
  }
  if (!has_ids) {
    if (unknown_required.size() != 1) {
      throw ModelError(103, path + ": forward takes " + std::to_string(unknown_required.size()) +
                                " required inputs and no input_ids; Synapse supports token models "
                                "(input_ids, ...) or models with one float tensor input");
    }
    inputs.kind = InputInfo::Kind::kFloat;
    inputs.float_argument = unknown_required.front();
  }
  return inputs;
}

// Layers: the modules --layer-modules names, else a run of numbered blocks, else one
// weight-shared block called several times (*shared).
std::vector<std::pair<std::string, torch::jit::Module>> FindLayers(const torch::jit::Module& module,
                                                                   const ModelOptions& options, const std::string& path,
                                                                   bool* shared) {
  std::vector<std::pair<std::string, torch::jit::Module>> found;
  if (!options.layers_glob().empty()) {
    found = GlobLayers(module, options.layers_glob());
  } else {
    found = DiscoverLayers(module);
    if (found.empty()) {
      found = DiscoverSharedLayer(module);
      *shared = !found.empty();
    }
  }
  if (found.empty()) {
    throw ModelError(104, path + (options.layers_glob().empty()
                                      ? ": found no encoder layers (no two or more same-type submodules named "
                                        "0..N-1, no block called several times); name them with --layer-modules GLOB"
                                      : ": no module path matches --layer-modules \"" + options.layers_glob() + "\""));
  }
  return found;
}

// One layer per module until the dry run has counted their calls; hooks them unless the
// options say not to.
void SelectLayers(Model::Impl* impl, const std::vector<std::pair<std::string, torch::jit::Module>>& found) {
  const ModelOptions& options = impl->options;
  const std::string& path = impl->path;
  std::unordered_set<const c10::ClassType*> rewritten;
  impl->site_modules = found;
  for (size_t i = 0; i < found.size(); ++i) {
    LayerInfo info;
    info.index = static_cast<int>(i);
    info.name = found[i].first;
    info.module = found[i].first;
    info.type = ModuleTypeName(found[i].second);
    impl->layers.push_back(info);
    impl->sites.module_index[found[i].second._ivalue().get()] = static_cast<int>(i);
    impl->sites.layer_of_call.push_back({static_cast<int>(i)});
    if (options.install_hooks()) {
      try {
        InsertHook(found[i].second, found[i].first, &rewritten);
      } catch (const ModelError&) {
        throw;
      } catch (const std::exception& e) {
        throw ModelError(105, path + ": cannot hook layer " + found[i].first + ": " + SummarizeTorchError(e.what()));
      }
    }
  }
  impl->sites.num_layers = impl->layers.size();
  impl->layouts.assign(impl->layers.size(), Layout::kUnknown);
  if (options.install_hooks()) ClearOptimizedGraphs(impl->module);
}

// A dry run counts calls and learns widths, layouts and the number of classes. The batch
// and token counts differ so that the layout of every layer output is unambiguous. When
// the model cannot run on these ids (a vocabulary under ten, ids it refuses), the first
// real batch teaches the same; only a discovered weight-shared block (`shared`) needs its
// calls counted now (its layers are its calls).
void DryRunAtLoad(Model::Impl* impl, bool shared) {
  const ModelOptions& options = impl->options;
  if (impl->inputs.kind == InputInfo::Kind::kTokens) {
    const std::vector<int64_t>& ids = options.dry_run_ids().empty() ? kDryRunIds : options.dry_run_ids();
    try {
      impl->DryRun(std::vector<Example>(ids.size() == 2 ? 3 : 2, Example::Tokens(ids)));
    } catch (const ModelError& e) {
      if (e.id() != 106 || (shared && options.install_hooks())) throw;
    }
  } else if (!options.input_shape().empty()) {
    int64_t size = 1;
    for (int64_t d : options.input_shape()) size *= d;
    Example e = Example::Features(std::vector<float>(static_cast<size_t>(size), 0.f), options.input_shape());
    impl->DryRun({e, e, e});
  }
}

}  // namespace

namespace {

// A .pt2 package: its sites are the layers (and the head's input); the dry run learns the
// number of classes and each layer's layout.
void LoadPackage(Model::Impl* impl) {
  if (!impl->options.layers_glob().empty()) {
    throw ModelError(104, impl->path +
                              ": the layers of a .pt2 package are the sites it was exported with; "
                              "--layer-modules applies to TorchScript models only");
  }
  impl->package = aoti::Package::Open(impl->path);
  impl->inputs.kind = InputInfo::Kind::kTokens;
  impl->inputs.argument_names = impl->package->inputs();
  for (const aoti::Site& site : impl->package->sites()) {
    if (site.head) continue;
    LayerInfo info;
    info.index = site.index;
    info.name = site.call < 0 ? site.module : site.module + "@" + std::to_string(site.call);
    info.module = site.module;
    info.call = site.call;
    info.type = site.type;
    info.hidden_size = site.width;
    impl->layers.push_back(std::move(info));
    impl->layouts.push_back(Layout::kBatchFirst);
  }
  impl->parameter_count = impl->package->parameter_count();
  DryRunAtLoad(impl, /*shared=*/false);
}

}  // namespace

Model Model::Load(const std::string& given, const ModelOptions& options) {
  // A model directory: its model.pt, else its model.pt2 (as FindModelFiles picks).
  std::string path = given;
  struct stat st {};
  if (stat(given.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    const std::string dir = given + (given.back() == '/' ? "" : "/");
    for (const char* name : {"model.pt", "model.pt2"}) {
      struct stat file {};
      if (stat((dir + name).c_str(), &file) == 0 && S_ISREG(file.st_mode)) {
        path = dir + name;
        break;
      }
    }
  }
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = options;
  if (aoti::IsPackagePath(path)) {
    LoadPackage(impl.get());
    return Model(std::move(impl));
  }
  impl->module = LoadModuleFile(path);
  impl->inputs = ReadInputs(impl->module, path);
  bool shared = false;
  SelectLayers(impl.get(), FindLayers(impl->module, options, path, &shared));
  for (const auto& p : impl->module.parameters(true)) impl->parameter_count += p.numel();
  DryRunAtLoad(impl.get(), shared);
  return Model(std::move(impl));
}

void Model::Impl::DryRun(const std::vector<Example>& batch) {
  c10::InferenceMode inference;
  torch_compat::WarningHandlerGuard warnings(QuietTorchWarnings());
  PreparedInputs prepared = PrepareInputs(*this, batch, RunOptions());
  if (package) {
    PackageSites sites(*this, nullptr, prepared.geometry);
    sites.Observe();
    at::Tensor logits;
    try {
      aoti::ScopedSiteHandler scope(&sites);
      logits = package->Forward(PackageInputs(prepared));
    } catch (const std::exception& e) {
      throw ModelError(106, path + ": a dry run of forward failed: " + SummarizeTorchError(e.what()));
    }
    sites.RethrowIfFailed();
    output_kind = "tensor";
    if (logits.dim() != 2 || logits.size(0) != prepared.geometry.batch) {
      throw ModelError(105, path + ": logits of shape " + DescribeShape(logits.sizes().vec()) + " for a batch of " +
                                std::to_string(prepared.geometry.batch) + "; expected [batch, classes]");
    }
    num_classes = logits.size(1);
    for (size_t l = 0; l < layers.size(); ++l) {
      const ObservedCall& seen = sites.observed()[l];
      if (seen.width < 0) throw ModelError(105, path + ": the package never ran the site of layer " + layers[l].name);
      layers[l].hidden_size = seen.width;
      layers[l].layout = LayoutName(seen.layout);
      layouts[l] = seen.layout;
    }
    return;
  }
  RunContext context(*this, std::vector<std::vector<ResolvedOp>>(layers.size()), prepared.geometry, true);
  c10::IValue output;
  try {
    ScopedHookContext scope(&context);
    output = module.forward(prepared.arguments);
  } catch (const std::exception& e) {
    throw ModelError(106, path + ": a dry run of forward failed: " + SummarizeTorchError(e.what()));
  }
  context.RethrowIfFailed();
  at::Tensor logits = ExtractLogits(output, path, &output_kind);
  if (logits.dim() != 2 || logits.size(0) != prepared.geometry.batch) {
    throw ModelError(105, path + ": logits of shape " + DescribeShape(logits.sizes().vec()) + " for a batch of " +
                              std::to_string(prepared.geometry.batch) + "; expected [batch, classes]");
  }
  num_classes = logits.size(1);
  if (!options.install_hooks()) return;
  // One layer per call, in module order, then call order.
  std::vector<LayerInfo> built;
  std::vector<Layout> built_layouts;
  std::vector<std::vector<int>> layer_of_call(site_modules.size());
  for (size_t m = 0; m < site_modules.size(); ++m) {
    const std::vector<ObservedCall>& calls = context.observed()[m];
    if (calls.empty())
      throw ModelError(105, path + ": layer " + site_modules[m].first + " was never called by forward");
    for (size_t k = 0; k < calls.size(); ++k) {
      LayerInfo info;
      info.index = static_cast<int>(built.size());
      info.module = site_modules[m].first;
      info.call = calls.size() == 1 ? -1 : static_cast<int>(k);
      info.name = info.call < 0 ? info.module : info.module + "@" + std::to_string(k);
      info.type = ModuleTypeName(site_modules[m].second);
      info.hidden_size = calls[k].width;
      info.layout = LayoutName(calls[k].layout);
      layer_of_call[m].push_back(info.index);
      built.push_back(std::move(info));
      built_layouts.push_back(calls[k].layout);
    }
  }
  std::lock_guard<std::mutex> lock(stages_mutex);
  if (built.size() != layers.size()) stages.reset();  // cut for the layers of before
  layers = std::move(built);
  layouts = std::move(built_layouts);
  sites.layer_of_call = std::move(layer_of_call);
  sites.num_layers = layers.size();
}

}  // namespace synapse
