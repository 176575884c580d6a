// Running the model: binding interventions to layers (ResolvePlan), Model::Run's full
// forward, RunEach's suffix execution from the cuts of ForwardStages (with SuffixCache),
// the forward up to the classification head, and the hook context of every run.
#include <algorithm>
#include <functional>
#include <set>

#include "engine/torchscript/forward_stages.h"
#include "engine/torchscript/hook.h"
#include "engine/layer_index.h"
#include "engine/model_impl.h"
#include "engine/run_context.h"
#include "synapse/error.h"
#include "synapse/model.h"

namespace synapse {

at::Tensor RunContext::OnModuleOutput(const c10::ivalue::Object* module, const at::Tensor& x) {
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
    error_ =
        std::make_exception_ptr(ModelError(106, model_.path + ": at " + where + ": " + SummarizeTorchError(e.what())));
    return x;
  }
}

at::Tensor PackageSites::OnSite(const at::Tensor& x, int64_t index) {
  if (error_) return x;
  const size_t layer = static_cast<size_t>(index);
  try {
    if (saved_ != nullptr && layer < saved_->size()) (*saved_)[layer] = x.clone();
    if (layer >= model_.layers.size()) return x;  // the head's input
    if (observe_) {
      observed_[layer] = {DetectLayout(x, geometry_, Layout::kUnknown), x.size(-1)};
      return x;
    }
    if (ops_ == nullptr || (*ops_)[layer].empty()) return x;
    const Layout layout = DetectLayout(x, geometry_, model_.layouts[layer]);
    at::Tensor capture;
    at::Tensor y = ApplyAtSite(x, layout, index, (*ops_)[layer], geometry_, &capture);
    // The compiled program may reuse x's buffer after the call: keep a copy.
    if (capture.defined()) captures_[layer] = capture.clone();
    return y;
  } catch (const std::exception& e) {
    const std::string where =
        layer < model_.layers.size() ? "layer " + model_.layers[layer].name : "site " + std::to_string(index);
    error_ =
        std::make_exception_ptr(ModelError(106, model_.path + ": at " + where + ": " + SummarizeTorchError(e.what())));
    return x;
  }
}

std::vector<at::Tensor> PackageInputs(const PreparedInputs& prepared) {
  std::vector<at::Tensor> out;
  for (const c10::IValue& v : prepared.arguments) out.push_back(v.toTensor().contiguous());
  return out;
}

int Model::ResolveLayer(const Site& site) const {
  const int n = static_cast<int>(impl_->layers.size());
  if (site.is_layer_index()) {
    const int r = LayerIndex(site.layer_index(), n);
    if (r < 0) throw SpecError(304, NoSuchLayerText(site.layer_index(), n, "the model"));
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
                    const std::vector<at::Tensor>& captures) {
  std::string kind;
  at::Tensor logits = ExtractLogits(output, m.path, &kind).to(at::kFloat);
  if (logits.dim() != 2 || logits.size(0) != batch) {
    throw ModelError(105, m.path + ": logits of shape " + DescribeShape(logits.sizes().vec()) + " for a batch of " +
                              std::to_string(batch));
  }
  for (const Intervention* s : plan.shifts) logits = logits + at::tensor(s->values(), at::kFloat).view({1, -1});
  RunResult result;
  result.logits = ToEigen(logits);
  for (size_t i = 0; i < captures.size(); ++i) {
    if (captures[i].defined()) result.captures[static_cast<int>(i)] = ToEigen(captures[i]);
  }
  return result;
}

RunResult FinishRun(const Model::Impl& m, const c10::IValue& output, const ResolvedPlan& plan, int64_t batch,
                    RunContext& context) {
  context.RethrowIfFailed();
  return FinishRun(m, output, plan, batch, context.captures());
}

// The whole forward of a .pt2 package under `plan`.
RunResult RunFullPackage(const Model::Impl& m, const PreparedInputs& prepared, const ResolvedPlan& plan) {
  PackageSites sites(m, &plan.ops, prepared.geometry);
  at::Tensor logits;
  try {
    aoti::ScopedSiteHandler scope(&sites);
    logits = m.package->Forward(PackageInputs(prepared));
  } catch (const std::exception& e) {
    sites.RethrowIfFailed();
    throw ModelError(106, m.path + ": forward failed: " + SummarizeTorchError(e.what()));
  }
  sites.RethrowIfFailed();
  return FinishRun(m, c10::IValue(logits), plan, prepared.geometry.batch, sites.captures());
}

// A .pt2 package's programs from what enters site `from` (saved by the baseline) to the
// logits, intervening at each site on the way.
RunResult RunPackageFrom(const Model::Impl& m, const PreparedInputs& prepared, const ResolvedPlan& plan, int from,
                         const std::vector<at::Tensor>& inputs, at::Tensor x) {
  PackageSites sites(m, &plan.ops, prepared.geometry);
  const aoti::Package& package = *m.package;
  const int head = package.head_site();
  // The pooled-row program serves plans that leave the last layer alone.
  const bool pooled = package.has_pooled_tail() && from <= package.pooled_tail_from() &&
                      plan.ops[static_cast<size_t>(package.pooled_tail_layer())].empty();
  try {
    for (int s = from; s <= head; ++s) {
      x = sites.OnSite(x, s);
      sites.RethrowIfFailed();
      if (pooled && s == package.pooled_tail_from()) {
        x = package.PooledTail(x, inputs);
        s = head - 1;  // on to the head site: x is what enters it
        continue;
      }
      x = package.Segment(s, x, inputs);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw ModelError(106, m.path + ": forward failed: " + SummarizeTorchError(e.what()));
  }
  return FinishRun(m, c10::IValue(x), plan, prepared.geometry.batch, sites.captures());
}

// The whole forward under `plan`.
RunResult RunFull(Model::Impl& m, const PreparedInputs& prepared, const ResolvedPlan& plan) {
  if (m.package) return RunFullPackage(m, prepared, plan);
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
  torch_compat::WarningHandlerGuard warnings(QuietTorchWarnings());
  const PreparedInputs prepared = PrepareInputs(*this, batch, options);
  std::vector<c10::IValue> inputs = {module._ivalue()};
  inputs.insert(inputs.end(), prepared.arguments.begin(), prepared.arguments.end());
  try {
    return graph.Run(std::move(inputs));
  } catch (const std::exception& e) {
    throw ModelError(106, path + ": forward up to the classification head failed: " + SummarizeTorchError(e.what()));
  }
}

at::Tensor Model::Impl::RunToHeadSite(const std::vector<Example>& batch, const RunOptions& options,
                                      at::Tensor* logits) const {
  c10::InferenceMode inference;
  torch_compat::WarningHandlerGuard warnings(QuietTorchWarnings());
  const PreparedInputs prepared = PrepareInputs(*this, batch, options);
  std::vector<at::Tensor> entering;
  PackageSites sites(*this, nullptr, prepared.geometry);
  sites.SaveAll(&entering);
  try {
    aoti::ScopedSiteHandler scope(&sites);
    *logits = package->Forward(PackageInputs(prepared));
  } catch (const std::exception& e) {
    sites.RethrowIfFailed();
    throw ModelError(106, path + ": forward failed: " + SummarizeTorchError(e.what()));
  }
  sites.RethrowIfFailed();
  return entering.back();
}

RunResult Model::Run(const std::vector<Example>& batch, const std::vector<Intervention>& interventions,
                     const RunOptions& options) const {
  Impl& m = *impl_;
  c10::InferenceMode inference;
  torch_compat::WarningHandlerGuard warnings(QuietTorchWarnings());
  if (m.num_classes < 0) m.DryRun({batch.front()});
  const ResolvedPlan plan = ResolvePlan(*this, m, interventions, options);
  return RunFull(m, PrepareInputs(m, batch, options), plan);
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

struct SuffixCache::State {
  using Key = std::pair<std::vector<int64_t>, int64_t>;  // (example indices, pad id)
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
  std::map<Key, Entry> entries;

  // Drops everything when the cache meets another model or changed weights.
  void Validate(const Model::Impl& m) {
    const uint64_t now = m.weights_version.load();
    if (model == &m && version == now) return;
    entries.clear();
    bytes = 0;
    model = &m;
    version = now;
  }

  // The cut values and output of an earlier unperturbed pass on this batch, if held.
  bool Find(const Model::Impl& m, const Key& key, std::vector<std::vector<c10::IValue>>* saved, c10::IValue* base) {
    std::lock_guard<std::mutex> lock(mutex);
    Validate(m);
    auto it = entries.find(key);
    if (it == entries.end()) return false;
    *saved = it->second.saved;
    *base = it->second.base;
    ++hits;
    return true;
  }

  // Counts a miss and keeps this pass's values when they fit.
  void Store(const Model::Impl& m, const Key& key, const std::vector<std::vector<c10::IValue>>& saved,
             const c10::IValue& base) {
    const int64_t size = TensorBytes(saved, base);
    std::lock_guard<std::mutex> lock(mutex);
    Validate(m);
    ++misses;
    if (size >= 0 && bytes + size <= max_bytes) {
      entries[key] = {saved, base, size};
      bytes += size;
    }
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

// Each plan starts at the cut before its first intervened layer; -1: needs the full
// forward; cuts(): needs no pass (no layer ops).
std::vector<int> PlanStarts(const ForwardStages& stages, const std::vector<ResolvedPlan>& resolved) {
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
  return start;
}

// The unperturbed pass, keeping in *saved what crosses the cuts some plan starts from
// (every cut with `keep_all`); returns forward's output.
c10::IValue RunBaseline(const Model::Impl& m, const ForwardStages& stages, const PreparedInputs& prepared,
                        const std::vector<int>& start, bool keep_all, std::vector<std::vector<c10::IValue>>* saved) {
  std::vector<c10::IValue> inputs = {m.module._ivalue()};
  inputs.insert(inputs.end(), prepared.arguments.begin(), prepared.arguments.end());
  std::vector<bool> keep(static_cast<size_t>(stages.cuts()), keep_all);
  for (int cut : start) {
    if (cut >= 0 && cut < stages.cuts()) keep[static_cast<size_t>(cut)] = true;
  }
  RunContext base_context(m, std::vector<std::vector<ResolvedOp>>(m.layers.size()), prepared.geometry, false);
  return RunSegments(m, stages, 0, inputs, base_context, keep, saved);
}

}  // namespace

std::vector<RunResult> Model::RunEach(const std::vector<Example>& batch,
                                      const std::vector<std::vector<Intervention>>& plans, const RunOptions& options,
                                      SuffixCache* cache) const {
  Impl& m = *impl_;
  c10::InferenceMode inference;
  torch_compat::WarningHandlerGuard warnings(QuietTorchWarnings());
  if (batch.empty()) throw DataError(207, "a batch needs at least one example");
  if (m.num_classes < 0) m.DryRun({batch.front()});
  std::vector<ResolvedPlan> resolved;
  for (const auto& interventions : plans) resolved.push_back(ResolvePlan(*this, m, interventions, options));
  const PreparedInputs prepared = PrepareInputs(m, batch, options);
  std::vector<RunResult> results;
  if (m.package && (plans.size() >= 2 || cache != nullptr)) {
    // The unperturbed forward keeps what enters every site; a plan then runs the package's
    // programs from its first intervened layer on.
    const std::vector<at::Tensor> inputs = PackageInputs(prepared);
    std::vector<std::vector<c10::IValue>> saved;
    c10::IValue base;
    const SuffixCache::State::Key key = {prepared.geometry.example_index, options.pad_id()};
    if (cache == nullptr || !cache->state_->Find(m, key, &saved, &base)) {
      std::vector<at::Tensor> entering;
      PackageSites sites(m, nullptr, prepared.geometry);
      sites.SaveAll(&entering);
      try {
        aoti::ScopedSiteHandler scope(&sites);
        base = c10::IValue(m.package->Forward(inputs));
      } catch (const std::exception& e) {
        sites.RethrowIfFailed();
        throw ModelError(106, m.path + ": forward failed: " + SummarizeTorchError(e.what()));
      }
      sites.RethrowIfFailed();
      saved.clear();
      for (const at::Tensor& t : entering) saved.push_back({c10::IValue(t)});
      if (cache != nullptr) cache->state_->Store(m, key, saved, base);
    }
    for (const ResolvedPlan& plan : resolved) {
      if (plan.layers.empty()) {
        results.push_back(FinishRun(m, base, plan, prepared.geometry.batch, std::vector<at::Tensor>{}));
        continue;
      }
      const int from = plan.layers.front();
      results.push_back(RunPackageFrom(m, prepared, plan, from, inputs, saved.at(static_cast<size_t>(from)).at(0).toTensor()));
    }
    return results;
  }
  if (m.package || (plans.size() < 2 && cache == nullptr) || !m.options.install_hooks() || m.Stages().cuts() == 0) {
    for (const ResolvedPlan& plan : resolved) results.push_back(RunFull(m, prepared, plan));
    return results;
  }
  const ForwardStages& stages = m.Stages();
  const std::vector<int> start = PlanStarts(stages, resolved);
  // The unperturbed pass, keeping what crosses every cut (with a cache: every cut, or the
  // cached values of an earlier call on this batch).
  std::vector<std::vector<c10::IValue>> saved(static_cast<size_t>(stages.cuts()));
  c10::IValue base;
  const SuffixCache::State::Key key = {prepared.geometry.example_index, options.pad_id()};
  const bool cached = cache != nullptr && cache->state_->Find(m, key, &saved, &base);
  if (!cached) {
    base = RunBaseline(m, stages, prepared, start, cache != nullptr, &saved);
    if (cache != nullptr) cache->state_->Store(m, key, saved, base);
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
  if (impl_->package) {
    for (const LayerInfo& l : impl_->layers) out.layers.push_back(l.index);
    if (impl_->package->has_pooled_tail()) out.pooled_rows_layer = impl_->package->pooled_tail_layer();
    out.pooled_rows = impl_->package->pooled_tail_summary();
    return out;
  }
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
