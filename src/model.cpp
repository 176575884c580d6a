#include "synapse/model.h"

#include <fnmatch.h>
#include <sys/stat.h>
#include <torch/version.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>

#include "forward_stages.h"
#include "hook.h"
#include "model_impl.h"
#include "synapse/error.h"
#include "untrusted_model.h"

namespace synapse {
namespace {

const std::set<std::string> kTokenArguments = {"input_ids", "attention_mask", "token_type_ids"};

std::string Trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

std::string TypeName(const torch::jit::Module& m) {
  static const std::regex mangle(R"(___torch_mangle_\d+\.)");
  std::string name = m.type()->name() ? m.type()->name()->qualifiedName() : m.type()->str();
  name = std::regex_replace(name, mangle, "");
  if (name.rfind("__torch__.", 0) == 0) name = name.substr(10);
  return name;
}

bool IsIndexName(const std::string& s) {
  return !s.empty() && s.size() < 9 && std::all_of(s.begin(), s.end(), ::isdigit);
}

// Longest run of same-type siblings named 0..N-1 (N ≥ 2); ties go to the run with more
// submodules, so a model's blocks beat a Sequential of single Linear layers.
std::vector<std::pair<std::string, torch::jit::Module>> DiscoverLayers(const torch::jit::Module& root) {
  std::vector<std::pair<std::string, torch::jit::Module>> best;
  size_t best_size = 0;
  for (const auto& parent : root.named_modules()) {
    std::map<int, torch::jit::Module> numbered;
    for (const auto& child : parent.value.named_children()) {
      if (IsIndexName(child.name)) numbered.emplace(std::stoi(child.name), child.value);
    }
    std::vector<std::pair<std::string, torch::jit::Module>> run;
    for (int i = 0; numbered.count(i); ++i) {
      const torch::jit::Module& m = numbered.at(i);
      if (!run.empty() && TypeName(m) != TypeName(run.front().second)) break;
      std::string prefix = parent.name.empty() ? "" : parent.name + ".";
      run.emplace_back(prefix + std::to_string(i), m);
    }
    if (run.size() < 2) continue;
    size_t size = 0;
    for (const auto& r : run) size += r.second.modules().size();
    if (run.size() > best.size() || (run.size() == best.size() && size > best_size)) {
      best = run;
      best_size = size;
    }
  }
  return best;
}

std::vector<std::string> SplitDots(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot; (dot = s.find('.', start)) != std::string::npos; start = dot + 1) {
    parts.push_back(s.substr(start, dot - start));
  }
  parts.push_back(s.substr(start));
  return parts;
}

// A module path matches a glob component by component: `*` never crosses a dot, so
// "albert.encoder.albert_layer_groups.*" names the groups, not every module inside them.
bool MatchesModulePath(const std::vector<std::string>& glob, const std::string& name) {
  const std::vector<std::string> parts = SplitDots(name);
  if (parts.size() != glob.size()) return false;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (fnmatch(glob[i].c_str(), parts[i].c_str(), 0) != 0) return false;
  }
  return true;
}

std::vector<std::pair<std::string, torch::jit::Module>> GlobLayers(const torch::jit::Module& root,
                                                                   const std::string& glob) {
  std::vector<std::pair<std::string, torch::jit::Module>> out;
  const std::vector<std::string> components = SplitDots(glob);
  for (const auto& m : root.named_modules()) {
    if (!m.name.empty() && MatchesModulePath(components, m.name)) out.emplace_back(m.name, m.value);
  }
  // Order numbered siblings by number (named_modules lists "10" after "1" only by luck).
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    auto split = [](const std::string& n) {
      size_t dot = n.rfind('.');
      std::string last = dot == std::string::npos ? n : n.substr(dot + 1);
      return std::make_pair(dot == std::string::npos ? "" : n.substr(0, dot), last);
    };
    auto [pa, la] = split(a.first);
    auto [pb, lb] = split(b.first);
    if (pa == pb && IsIndexName(la) && IsIndexName(lb)) return std::stoi(la) < std::stoi(lb);
    return false;
  });
  return out;
}

bool HasChildren(const torch::jit::Module& m) { return m.children().size() > 0; }

// The object a value of `graph` (a method of `owner`) holds, when it is `self` followed by
// attribute reads.
c10::intrusive_ptr<c10::ivalue::Object> ResolveAttributes(torch::jit::Value* v, const torch::jit::Graph& graph,
                                                          c10::intrusive_ptr<c10::ivalue::Object> owner) {
  std::vector<std::string> names;
  while (v != graph.inputs().at(0)) {
    if (v->node()->kind() != c10::prim::GetAttr) return {};
    names.push_back(v->node()->s(c10::attr::name));
    v = v->node()->input(0);
  }
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    if (!owner->type()->hasAttribute(*it)) return {};
    c10::IValue attr = owner->getAttr(*it);
    if (!attr.isObject()) return {};
    owner = attr.toObject();
  }
  return owner;
}

// Whether some forward calls `target` from inside a loop (how a scripted weight-shared model
// runs its one layer N times).
bool CalledInLoop(const torch::jit::Module& root, const c10::ivalue::Object* target) {
  for (const auto& owner : root.named_modules()) {
    torch::jit::Function* forward = owner.value.type()->findMethod("forward");
    torch::jit::GraphFunction* function = forward ? torch::jit::tryToGraphFunction(*forward) : nullptr;
    if (function == nullptr) continue;
    const torch::jit::Graph& graph = *function->graph();
    std::function<bool(torch::jit::Block*, bool)> walk = [&](torch::jit::Block* block, bool in_loop) {
      for (torch::jit::Node* n : block->nodes()) {
        if (in_loop && n->kind() == c10::prim::CallMethod &&
            ResolveAttributes(n->input(0), graph, owner.value._ivalue()).get() == target) {
          return true;
        }
        for (torch::jit::Block* b : n->blocks()) {
          if (walk(b, in_loop || n->kind() == c10::prim::Loop)) return true;
        }
      }
      return false;
    };
    if (walk(function->graph()->block(), false)) return true;
  }
  return false;
}

// A weight-shared block: a module with submodules that one forward calls several times.
// Traced, each call is its own method (forward, forward1 …): the module with the most,
// outermost first. Scripted, a module called inside a loop. Empty when there is none.
std::vector<std::pair<std::string, torch::jit::Module>> DiscoverSharedLayer(const torch::jit::Module& root) {
  std::vector<std::pair<std::string, torch::jit::Module>> best;
  size_t best_calls = 1;
  for (const auto& m : root.named_modules()) {
    if (m.name.empty() || !HasChildren(m.value)) continue;
    size_t calls = 0;
    for (torch::jit::Function* method : m.value.type()->methods()) calls += IsForwardMethod(method->name()) ? 1 : 0;
    if (calls > best_calls) {  // named_modules lists parents first: ties keep the outermost
      best = {{m.name, m.value}};
      best_calls = calls;
    }
  }
  if (!best.empty()) return best;
  for (const auto& m : root.named_modules()) {
    if (!m.name.empty() && HasChildren(m.value) && CalledInLoop(root, m.value._ivalue().get())) {
      return {{m.name, m.value}};
    }
  }
  return {};
}

// Drops LibTorch's "nested tensors are a prototype" notice, which every run of
// nn.TransformerEncoder's fast path would print; other warnings stay, on one line each.
class QuietWarnings : public c10::WarningHandler {
 public:
  void process(const c10::SourceLocation&, const std::string& msg, const bool) override {
    if (msg.find("nested tensors is in prototype") != std::string::npos) return;
    std::cerr << "synapse: LibTorch warning: " << SummarizeTorchError(msg) << "\n";
  }
};

QuietWarnings quiet_warnings;

std::string Describe(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// What the dry run sees at one call of a hooked module.
struct ObservedCall {
  Layout layout = Layout::kUnknown;
  int64_t width = -1;
};

// The context one Run installs: resolved ops per layer, and what the kernels need. It
// counts the calls of every hooked module, so that the i-th call of a weight-shared module
// is layer_of_call[m][i]; `calls` says how many each had made before the part of forward
// this context runs (a suffix run starts mid-forward).
class RunContext : public HookContext {
 public:
  RunContext(const Model::Impl& model, std::vector<std::vector<ResolvedOp>> ops, BatchGeometry geometry, bool observe,
             std::vector<int> calls = {})
      : model_(model),
        ops_(std::move(ops)),
        geometry_(std::move(geometry)),
        observe_(observe),
        captures_(model.layers.size()),
        calls_(calls.empty() ? std::vector<int>(model.site_modules.size(), 0) : std::move(calls)),
        observed_(observe ? model.site_modules.size() : 0) {}

  at::Tensor OnModuleOutput(const c10::ivalue::Object* module, const at::Tensor& x) override {
    auto it = model_.sites.module_index.find(module);
    if (it == model_.sites.module_index.end() || error_) return x;
    const size_t m = static_cast<size_t>(it->second);
    const size_t call = static_cast<size_t>(calls_[m]++);
    int layer = -1;
    try {
      if (observe_) {
        observed_[m].push_back(
            {DetectLayout(x, geometry_, Layout::kUnknown), x.is_nested() ? x.unbind(0)[0].size(-1) : x.size(-1)});
        return x;
      }
      const std::vector<int>& layers = model_.sites.layer_of_call[m];
      if (call >= layers.size()) return x;
      layer = layers[call];
      if (ops_[static_cast<size_t>(layer)].empty()) return x;
      const Layout layout = DetectLayout(x, geometry_, model_.layouts[static_cast<size_t>(layer)]);
      return ApplyAtSite(x, layout, layer, ops_[static_cast<size_t>(layer)], geometry_,
                         &captures_[static_cast<size_t>(layer)]);
    } catch (const std::exception& e) {
      const std::string where =
          layer >= 0 ? "layer " + model_.layers[static_cast<size_t>(layer)].name : model_.site_modules[m].first;
      error_ = std::make_exception_ptr(
          ModelError(106, model_.path + ": at " + where + ": " + SummarizeTorchError(e.what())));
      return x;
    }
  }

  void RethrowIfFailed() const {
    if (error_) std::rethrow_exception(error_);
  }
  std::vector<at::Tensor>& captures() { return captures_; }
  /// Per hooked module, what each of its calls returned (observing contexts only).
  const std::vector<std::vector<ObservedCall>>& observed() const { return observed_; }

 private:
  const Model::Impl& model_;
  std::vector<std::vector<ResolvedOp>> ops_;
  BatchGeometry geometry_;
  bool observe_;
  std::vector<at::Tensor> captures_;
  std::vector<int> calls_;
  std::vector<std::vector<ObservedCall>> observed_;
  std::exception_ptr error_;
};

struct PreparedInputs {
  std::vector<c10::IValue> arguments;
  BatchGeometry geometry;
};

PreparedInputs PrepareInputs(const Model::Impl& m, const std::vector<Example>& batch, const RunOptions& options) {
  if (batch.empty()) throw DataError(207, "a batch needs at least one example");
  PreparedInputs out;
  const int64_t n = static_cast<int64_t>(batch.size());
  out.geometry.batch = n;
  out.geometry.pool = options.pool();
  out.geometry.seed = options.seed();
  if (!options.example_indices().empty()) {
    if (static_cast<int64_t>(options.example_indices().size()) != n) {
      throw DataError(207, "example_indices has " + std::to_string(options.example_indices().size()) +
                               " entries for a batch of " + std::to_string(n));
    }
    out.geometry.example_index = options.example_indices();
  } else {
    for (int64_t i = 0; i < n; ++i) out.geometry.example_index.push_back(options.first_example_index() + i);
  }
  at::Tensor ids, mask, types, features;
  if (m.inputs.kind == InputInfo::Kind::kTokens) {
    int64_t t = 0;
    for (int64_t i = 0; i < n; ++i) {
      const Example& e = batch[static_cast<size_t>(i)];
      const int64_t example = out.geometry.example_index[static_cast<size_t>(i)];
      if (e.input_ids.empty()) {
        throw DataError(203, "example " + std::to_string(example) + ": no input_ids (the model takes token ids)",
                        example);
      }
      if (!e.attention_mask.empty() && e.attention_mask.size() != e.input_ids.size()) {
        throw DataError(203,
                        "example " + std::to_string(example) + ": attention_mask has " +
                            std::to_string(e.attention_mask.size()) + " entries, input_ids " +
                            std::to_string(e.input_ids.size()),
                        example);
      }
      if (!e.token_type_ids.empty() && e.token_type_ids.size() != e.input_ids.size()) {
        throw DataError(203,
                        "example " + std::to_string(example) + ": token_type_ids has " +
                            std::to_string(e.token_type_ids.size()) + " entries, input_ids " +
                            std::to_string(e.input_ids.size()),
                        example);
      }
      t = std::max<int64_t>(t, static_cast<int64_t>(e.input_ids.size()));
    }
    ids = at::full({n, t}, options.pad_id(), at::kLong);
    mask = at::zeros({n, t}, at::kLong);
    types = at::zeros({n, t}, at::kLong);
    auto ids_a = ids.accessor<int64_t, 2>();
    auto mask_a = mask.accessor<int64_t, 2>();
    auto types_a = types.accessor<int64_t, 2>();
    for (int64_t i = 0; i < n; ++i) {
      const Example& e = batch[static_cast<size_t>(i)];
      for (size_t j = 0; j < e.input_ids.size(); ++j) {
        ids_a[i][j] = e.input_ids[j];
        mask_a[i][j] = e.attention_mask.empty() ? 1 : e.attention_mask[j];
        types_a[i][j] = e.token_type_ids.empty() ? 0 : e.token_type_ids[j];
      }
    }
    out.geometry.tokens = t;
    out.geometry.real = mask.ne(0);
  } else {
    // Every example must have the model's declared shape, else the first example's.
    auto shape_of = [](const Example& e) {
      return e.feature_shape.empty() ? std::vector<int64_t>{static_cast<int64_t>(e.features.size())} : e.feature_shape;
    };
    const bool declared = !m.options.input_shape().empty();
    const std::vector<int64_t> shape = declared ? m.options.input_shape() : shape_of(batch.front());
    const std::string reference = declared ? "the model expects " : "the batch's first example has ";
    int64_t size = 1;
    for (int64_t d : shape) size *= d;
    std::vector<int64_t> full = {n};
    full.insert(full.end(), shape.begin(), shape.end());
    features = at::empty(full, at::kFloat);
    float* dst = features.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) {
      const Example& e = batch[static_cast<size_t>(i)];
      const int64_t example = out.geometry.example_index[static_cast<size_t>(i)];
      if (shape_of(e) != shape || static_cast<int64_t>(e.features.size()) != size) {
        throw DataError(206,
                        "example " + std::to_string(example) + ": features of shape " + Describe(shape_of(e)) + ", " +
                            reference + Describe(shape),
                        example);
      }
      std::copy(e.features.begin(), e.features.end(), dst + i * size);
    }
    out.geometry.tokens = 1;
    out.geometry.real = at::ones({n, 1}, at::kBool);
  }
  const auto& schema = m.module.get_method("forward").function().getSchema();
  for (size_t a = 1; a < schema.arguments().size(); ++a) {
    const auto& arg = schema.arguments()[a];
    const std::string& name = arg.name();
    if (name == "input_ids")
      out.arguments.emplace_back(ids);
    else if (name == "attention_mask")
      out.arguments.emplace_back(mask);
    else if (name == "token_type_ids")
      out.arguments.emplace_back(types);
    else if (name == m.inputs.float_argument)
      out.arguments.emplace_back(features);
    else
      out.arguments.push_back(*arg.default_value());
  }
  return out;
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

}  // namespace

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

std::vector<std::pair<std::string, std::vector<int64_t>>> Model::parameters() const {
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  for (const auto& p : impl_->module.named_parameters(true)) {
    out.emplace_back(p.name, p.value.sizes().vec());
  }
  return out;
}

Eigen::MatrixXf Model::ParameterValues(const std::string& name) const {
  for (const auto& p : impl_->module.named_parameters(true)) {
    if (p.name != name) continue;
    at::Tensor t = p.value.detach().to(at::kFloat);
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

namespace {

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
          "export it with eager attention (Hugging Face: from_pretrained(..., torchscript=True, "
          "attn_implementation=\"eager\"), see the README, \"Bringing your own model\")";
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

// The dry run's token ids: real tokens, not padding, for any vocabulary of ten or more.
// All-zero ids are all padding to a model that masks `input_ids == 0`; 5..9 avoid the
// special tokens of BERT ([PAD] 0), RoBERTa (<s> 0, <pad> 1, </s> 2, <unk> 3) and
// Synapse's WordPiece vocabularies (0..4).
const std::vector<int64_t> kDryRunIds = {5, 6, 7, 8, 9};

}  // namespace

Model Model::Load(const std::string& path, const ModelOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = options;

  struct stat st {};
  if (stat(path.c_str(), &st) != 0) throw ModelError(101, path + ": no such file");
  if (S_ISDIR(st.st_mode)) throw ModelError(101, path + ": is a directory, not a TorchScript file");
  if (!std::ifstream(path).good()) throw ModelError(101, path + ": cannot be read (permissions?)");
  if (st.st_size == 0) throw ModelError(102, path + ": is empty (0 bytes), not a TorchScript file");
  try {
    impl->module = torch::jit::load(path, c10::kCPU);
  } catch (const std::exception& e) {
    ThrowIfFromNewerPyTorch(path, e.what());
    throw ModelError(102, path + ": not a loadable TorchScript file (save it with torch.jit.save): " +
                              SummarizeTorchError(e.what()));
  }
  CheckStorageBounds(impl->module, path);
  CheckOperatorPolicy(impl->module, path);
  impl->module.eval();

  // Inputs, from forward's signature.
  auto forward = impl->module.find_method("forward");
  if (!forward) throw ModelError(103, path + ": the module has no forward method");
  const auto& schema = forward->function().getSchema();
  std::vector<std::string> unknown_required;
  for (size_t a = 1; a < schema.arguments().size(); ++a) {
    const auto& arg = schema.arguments()[a];
    impl->inputs.argument_names.push_back(arg.name());
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
  const auto& names = impl->inputs.argument_names;
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
    impl->inputs.kind = InputInfo::Kind::kFloat;
    impl->inputs.float_argument = unknown_required.front();
  }

  // Layers: a run of numbered blocks, else one weight-shared block called several times.
  std::vector<std::pair<std::string, torch::jit::Module>> found;
  bool shared = false;
  if (!options.layers_glob().empty()) {
    found = GlobLayers(impl->module, options.layers_glob());
  } else {
    found = DiscoverLayers(impl->module);
    if (found.empty()) {
      found = DiscoverSharedLayer(impl->module);
      shared = !found.empty();
    }
  }
  if (found.empty()) {
    throw ModelError(104, path + (options.layers_glob().empty()
                                      ? ": found no encoder layers (no two or more same-type submodules named "
                                        "0..N-1, no block called several times); name them with --layer-modules GLOB"
                                      : ": no module path matches --layer-modules \"" + options.layers_glob() + "\""));
  }
  // One layer per module until the dry run has counted their calls.
  std::unordered_set<const c10::ClassType*> rewritten;
  impl->site_modules = found;
  for (size_t i = 0; i < found.size(); ++i) {
    LayerInfo info;
    info.index = static_cast<int>(i);
    info.name = found[i].first;
    info.module = found[i].first;
    info.type = TypeName(found[i].second);
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
  for (const auto& p : impl->module.parameters(true)) impl->parameter_count += p.numel();

  // A dry run counts calls and learns widths, layouts and the number of classes. The batch
  // and token counts differ so that the layout of every layer output is unambiguous. When
  // the model cannot run on these ids (a vocabulary under ten, ids it refuses), the first
  // real batch teaches the same; only a discovered weight-shared block needs its calls
  // counted now (its layers are its calls).
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
  return Model(std::move(impl));
}

void Model::Impl::DryRun(const std::vector<Example>& batch) {
  c10::InferenceMode inference;
  c10::Warning::WarningHandlerGuard warnings(&quiet_warnings);
  PreparedInputs prepared = PrepareInputs(*this, batch, RunOptions());
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
    throw ModelError(105, path + ": logits of shape " + Describe(logits.sizes().vec()) + " for a batch of " +
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
      info.type = TypeName(site_modules[m].second);
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

int Model::ResolveLayer(const Site& site) const {
  const int n = static_cast<int>(impl_->layers.size());
  if (site.is_layer_index()) {
    int i = site.layer_index();
    int r = i < 0 ? i + n : i;
    if (r < 0 || r >= n) {
      throw SpecError(304, "layer " + std::to_string(i) + " does not exist: the model has " + std::to_string(n) +
                               " layers (0.." + std::to_string(n - 1) + ", or -1..-" + std::to_string(n) + ")");
    }
    return r;
  }
  for (const LayerInfo& l : impl_->layers) {
    if (l.name == site.layer_name()) return l.index;
  }
  throw SpecError(304, "no layer is named \"" + site.layer_name() + "\" (layers are " + impl_->layers.front().name +
                           " .. " + impl_->layers.back().name + ")");
}

namespace {

// A plan's interventions bound to the model: ops per layer, and the logit shifts.
struct ResolvedPlan {
  std::vector<std::vector<ResolvedOp>> ops;
  std::vector<const Intervention*> shifts;
  /// The layers with ops, in index order.
  std::vector<int> layers;
};

ResolvedPlan ResolvePlan(const Model& model, const Model::Impl& m, const std::vector<Intervention>& interventions,
                         const RunOptions& options) {
  ResolvedPlan plan;
  plan.ops.resize(m.layers.size());
  for (const Intervention& iv : interventions) {
    if (iv.op() == Intervention::Op::kShift) {
      if (static_cast<int64_t>(iv.values().size()) != m.num_classes) {
        throw SpecError(309, "intervention \"" + iv.ToString() + "\": a logit shift needs one value per class (" +
                                 std::to_string(m.num_classes) + "), got " + std::to_string(iv.values().size()));
      }
      plan.shifts.push_back(&iv);
      continue;
    }
    if (!m.options.install_hooks()) {
      throw SpecError(306, "intervention \"" + iv.ToString() + "\": the model was loaded without hooks");
    }
    const int layer = model.ResolveLayer(iv.site());
    const LayerInfo& info = m.layers[static_cast<size_t>(layer)];
    if (iv.positions() == Positions::kPooled && options.pool() == Pooling::kMean) {
      throw SpecError(307, "intervention \"" + iv.ToString() +
                               "\": pooled positions need pooling first or last, "
                               "not mean");
    }
    ResolvedOp op;
    op.op = iv.op();
    op.positions = iv.positions();
    op.value = iv.value();
    std::vector<int64_t> idx = iv.neurons().Resolve(info.hidden_size, "layer " + info.name);
    op.neuron_index = at::tensor(idx, at::kLong);
    op.neuron_mask = at::zeros({info.hidden_size}, at::kBool);
    op.neuron_mask.index_fill_(0, op.neuron_index, true);
    if (iv.op() == Intervention::Op::kMean) {
      if (static_cast<int64_t>(iv.values().size()) != info.hidden_size) {
        throw SpecError(308, "intervention \"" + iv.ToString() + "\": needs one mean per neuron of layer " + info.name +
                                 " (" + std::to_string(info.hidden_size) + "), got " +
                                 std::to_string(iv.values().size()));
      }
      op.means = at::tensor(iv.values(), at::kFloat);
    }
    if (iv.op() == Intervention::Op::kNoise && !iv.values().empty()) {
      if (static_cast<int64_t>(iv.values().size()) != info.hidden_size) {
        throw SpecError(308, "intervention \"" + iv.ToString() + "\": needs one sigma per neuron of layer " +
                                 info.name + " (" + std::to_string(info.hidden_size) + "), got " +
                                 std::to_string(iv.values().size()));
      }
      op.sigmas = at::tensor(iv.values(), at::kFloat).index_select(0, op.neuron_index);
    }
    plan.ops[static_cast<size_t>(layer)].push_back(std::move(op));
  }
  for (size_t l = 0; l < plan.ops.size(); ++l) {
    if (!plan.ops[l].empty()) plan.layers.push_back(static_cast<int>(l));
  }
  return plan;
}

// The logits (after shifts) and captures of a finished forward pass.
RunResult FinishRun(const Model::Impl& m, const c10::IValue& output, const ResolvedPlan& plan, int64_t batch,
                    RunContext& context) {
  context.RethrowIfFailed();
  std::string kind;
  at::Tensor logits = ExtractLogits(output, m.path, &kind).to(at::kFloat);
  if (logits.dim() != 2 || logits.size(0) != batch) {
    throw ModelError(105, m.path + ": logits of shape " + Describe(logits.sizes().vec()) + " for a batch of " +
                              std::to_string(batch));
  }
  for (const Intervention* s : plan.shifts) logits = logits + at::tensor(s->values(), at::kFloat).view({1, -1});
  RunResult result;
  result.logits = ToEigen(logits);
  for (size_t i = 0; i < context.captures().size(); ++i) {
    if (context.captures()[i].defined()) result.captures[static_cast<int>(i)] = ToEigen(context.captures()[i]);
  }
  return result;
}

// The whole forward under `plan`.
RunResult RunFull(Model::Impl& m, const PreparedInputs& prepared, const ResolvedPlan& plan) {
  RunContext context(m, plan.ops, prepared.geometry, false);
  c10::IValue output;
  try {
    ScopedHookContext scope(&context);
    output = m.module.forward(prepared.arguments);
  } catch (const std::exception& e) {
    context.RethrowIfFailed();
    throw ModelError(106, m.path + ": forward failed: " + SummarizeTorchError(e.what()));
  }
  return FinishRun(m, output, plan, prepared.geometry.batch, context);
}

// Segments from..last of the cut forward on `values`, under `context`.
// With `pooled_tail`, the pooled tail stands for the segments after its cut.
c10::IValue RunSegments(const Model::Impl& m, const ForwardStages& stages, int from, std::vector<c10::IValue> values,
                        RunContext& context, const std::vector<bool>& keep = {},
                        std::vector<std::vector<c10::IValue>>* saved = nullptr, bool pooled_tail = false) {
  try {
    ScopedHookContext scope(&context);
    for (int s = from; s <= stages.cuts(); ++s) {
      if (pooled_tail && s == stages.pooled_tail_from() + 1) {
        stages.RunPooledTail(&values);
        break;
      }
      // Keep only the cuts some plan starts from: the others' tensors can be freed.
      if (saved != nullptr && s > 0 && keep[static_cast<size_t>(s - 1)]) {
        (*saved)[static_cast<size_t>(s - 1)] = values;
      }
      stages.RunSegment(s, &values);
    }
  } catch (const std::exception& e) {
    context.RethrowIfFailed();
    throw ModelError(106, m.path + ": forward failed: " + SummarizeTorchError(e.what()));
  }
  return values.at(0);
}

}  // namespace

const ForwardStages& Model::Impl::Stages() const {
  std::lock_guard<std::mutex> lock(stages_mutex);
  if (!stages) {
    // Probe batches for the pooled tail: 3 examples of `tokens` real tokens.
    auto probe = [this](int64_t tokens) -> std::vector<c10::IValue> {
      if (inputs.kind != InputInfo::Kind::kTokens) return {};
      const std::vector<int64_t>& ids = options.dry_run_ids().empty() ? kDryRunIds : options.dry_run_ids();
      std::vector<int64_t> row;
      for (int64_t t = 0; t < tokens; ++t) row.push_back(ids[static_cast<size_t>(t) % ids.size()]);
      const PreparedInputs prepared = PrepareInputs(*this, std::vector<Example>(3, Example::Tokens(row)), RunOptions());
      std::vector<c10::IValue> values = {module._ivalue()};
      values.insert(values.end(), prepared.arguments.begin(), prepared.arguments.end());
      return values;
    };
    stages = std::make_unique<ForwardStages>(module, sites, probe);
  }
  return *stages;
}

const HeadInputGraph& Model::Impl::HeadInput(const std::string& weight, const std::string& bias) const {
  std::lock_guard<std::mutex> lock(head_mutex);
  std::unique_ptr<HeadInputGraph>& graph = heads[{weight, bias}];
  if (!graph) graph = std::make_unique<HeadInputGraph>(module, weight, bias);
  return *graph;
}

at::Tensor Model::Impl::RunToHeadInput(const HeadInputGraph& graph, const std::vector<Example>& batch,
                                       const RunOptions& options) const {
  c10::InferenceMode inference;
  c10::Warning::WarningHandlerGuard warnings(&quiet_warnings);
  const PreparedInputs prepared = PrepareInputs(*this, batch, options);
  std::vector<c10::IValue> inputs = {module._ivalue()};
  inputs.insert(inputs.end(), prepared.arguments.begin(), prepared.arguments.end());
  try {
    return graph.Run(std::move(inputs));
  } catch (const std::exception& e) {
    throw ModelError(106, path + ": forward up to the classification head failed: " + SummarizeTorchError(e.what()));
  }
}

RunResult Model::Run(const std::vector<Example>& batch, const std::vector<Intervention>& interventions,
                     const RunOptions& options) const {
  Impl& m = *impl_;
  c10::InferenceMode inference;
  c10::Warning::WarningHandlerGuard warnings(&quiet_warnings);
  if (m.num_classes < 0) m.DryRun({batch.front()});
  const ResolvedPlan plan = ResolvePlan(*this, m, interventions, options);
  return RunFull(m, PrepareInputs(m, batch, options), plan);
}

struct SuffixCache::State {
  struct Entry {
    std::vector<std::vector<c10::IValue>> saved;  // per cut
    c10::IValue base;                             // forward's unperturbed output
    int64_t bytes = 0;
  };
  std::mutex mutex;
  int64_t max_bytes = 0;
  int64_t bytes = 0;
  int64_t hits = 0;
  int64_t misses = 0;
  const Model::Impl* model = nullptr;
  uint64_t version = 0;
  std::map<std::pair<std::vector<int64_t>, int64_t>, Entry> entries;  // (example indices, pad id)

  // Drops everything when the cache meets another model or changed weights.
  void Validate(const Model::Impl& m) {
    const uint64_t now = m.weights_version.load();
    if (model == &m && version == now) return;
    entries.clear();
    bytes = 0;
    model = &m;
    version = now;
  }
};

SuffixCache::SuffixCache(int64_t max_bytes) : state_(std::make_unique<State>()) { state_->max_bytes = max_bytes; }
SuffixCache::~SuffixCache() = default;
int64_t SuffixCache::bytes() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->bytes;
}
int64_t SuffixCache::hits() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->hits;
}
int64_t SuffixCache::misses() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->misses;
}

namespace {

// The bytes of the tensors in `values`, each storage once; -1 when one cannot be sized
// (a nested tensor).
int64_t TensorBytes(const std::vector<std::vector<c10::IValue>>& values, const c10::IValue& base) {
  std::set<const void*> seen;
  int64_t total = 0;
  bool unknown = false;
  std::function<void(const c10::IValue&)> add = [&](const c10::IValue& v) {
    if (v.isTensor()) {
      const at::Tensor& t = v.toTensor();
      if (t.is_nested() || !t.has_storage()) {
        unknown = true;
        return;
      }
      if (seen.insert(t.storage().data()).second) total += static_cast<int64_t>(t.storage().nbytes());
    } else if (v.isTuple()) {
      for (const c10::IValue& e : v.toTupleRef().elements()) add(e);
    } else if (v.isList()) {
      for (const c10::IValue& e : v.toListRef()) add(e);
    } else if (v.isGenericDict()) {
      for (const auto& e : v.toGenericDict()) add(e.value());
    }
  };
  for (const auto& cut : values) {
    for (const c10::IValue& v : cut) add(v);
  }
  add(base);
  return unknown ? -1 : total;
}

}  // namespace

std::vector<RunResult> Model::RunEach(const std::vector<Example>& batch,
                                      const std::vector<std::vector<Intervention>>& plans, const RunOptions& options,
                                      SuffixCache* cache) const {
  Impl& m = *impl_;
  c10::InferenceMode inference;
  c10::Warning::WarningHandlerGuard warnings(&quiet_warnings);
  if (batch.empty()) throw DataError(207, "a batch needs at least one example");
  if (m.num_classes < 0) m.DryRun({batch.front()});
  std::vector<ResolvedPlan> resolved;
  for (const auto& interventions : plans) resolved.push_back(ResolvePlan(*this, m, interventions, options));
  const PreparedInputs prepared = PrepareInputs(m, batch, options);
  std::vector<RunResult> results;
  if ((plans.size() < 2 && cache == nullptr) || !m.options.install_hooks() || m.Stages().cuts() == 0) {
    for (const ResolvedPlan& plan : resolved) results.push_back(RunFull(m, prepared, plan));
    return results;
  }
  const ForwardStages& stages = m.Stages();
  // Each plan starts at the cut before its first intervened layer; -1: needs the full
  // forward; cuts(): needs no pass (no layer ops).
  std::vector<int> start(resolved.size(), stages.cuts());
  for (size_t p = 0; p < resolved.size(); ++p) {
    for (int layer : resolved[p].layers) {
      const int cut = stages.CutOf(layer);
      if (cut < 0) {
        start[p] = -1;
        break;
      }
      start[p] = std::min(start[p], cut);
    }
  }
  // The unperturbed pass, keeping what crosses every cut (with a cache: every cut, or the
  // cached values of an earlier call on this batch).
  std::vector<std::vector<c10::IValue>> saved(static_cast<size_t>(stages.cuts()));
  c10::IValue base;
  const std::pair<std::vector<int64_t>, int64_t> key = {prepared.geometry.example_index, options.pad_id()};
  bool cached = false;
  if (cache != nullptr) {
    SuffixCache::State& state = *cache->state_;
    std::lock_guard<std::mutex> lock(state.mutex);
    state.Validate(m);
    auto it = state.entries.find(key);
    if (it != state.entries.end()) {
      saved = it->second.saved;
      base = it->second.base;
      cached = true;
      ++state.hits;
    }
  }
  if (!cached) {
    std::vector<c10::IValue> inputs = {m.module._ivalue()};
    inputs.insert(inputs.end(), prepared.arguments.begin(), prepared.arguments.end());
    std::vector<bool> keep(static_cast<size_t>(stages.cuts()), cache != nullptr);
    for (int cut : start) {
      if (cut >= 0 && cut < stages.cuts()) keep[static_cast<size_t>(cut)] = true;
    }
    RunContext base_context(m, std::vector<std::vector<ResolvedOp>>(m.layers.size()), prepared.geometry, false);
    base = RunSegments(m, stages, 0, inputs, base_context, keep, &saved);
    if (cache != nullptr) {
      const int64_t bytes = TensorBytes(saved, base);
      SuffixCache::State& state = *cache->state_;
      std::lock_guard<std::mutex> lock(state.mutex);
      state.Validate(m);
      ++state.misses;
      if (bytes >= 0 && state.bytes + bytes <= state.max_bytes) {
        state.entries[key] = {saved, base, bytes};
        state.bytes += bytes;
      }
    }
  }
  for (size_t p = 0; p < resolved.size(); ++p) {
    if (start[p] < 0) {
      results.push_back(RunFull(m, prepared, resolved[p]));
      continue;
    }
    RunContext context(m, resolved[p].ops, prepared.geometry, false,
                       start[p] < stages.cuts() ? stages.CallsBefore(start[p]) : std::vector<int>{});
    if (start[p] == stages.cuts()) {
      results.push_back(FinishRun(m, base, resolved[p], prepared.geometry.batch, context));
      continue;
    }
    // The pooled tail serves plans that start before it and leave its layer alone.
    const bool pooled = stages.pooled_tail_from() >= 0 && start[p] <= stages.pooled_tail_from() &&
                        resolved[p].ops[static_cast<size_t>(stages.pooled_tail_layer())].empty();
    const c10::IValue output =
        RunSegments(m, stages, start[p] + 1, saved[static_cast<size_t>(start[p])], context, {}, nullptr, pooled);
    results.push_back(FinishRun(m, output, resolved[p], prepared.geometry.batch, context));
  }
  return results;
}

SuffixExecution Model::suffix_execution() const {
  SuffixExecution out;
  if (!impl_->options.install_hooks()) {
    out.fallback_reason = "the model was loaded without hooks";
    return out;
  }
  const ForwardStages& stages = impl_->Stages();
  for (const LayerInfo& l : impl_->layers) {
    if (stages.CutOf(l.index) >= 0) out.layers.push_back(l.index);
  }
  out.fallback_reason = stages.reason();
  if (stages.pooled_tail_from() >= 0) out.pooled_rows_layer = stages.pooled_tail_layer();
  out.pooled_rows = stages.pooled_tail_summary();
  return out;
}

}  // namespace synapse
