#include "forward_stages.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/alias_analysis.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <unordered_set>

namespace synapse {
namespace {

using torch::jit::Block;
using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

const c10::Symbol kHook = c10::Symbol::fromQualString("synapse::hook");

void ForEachNode(Block* block, const std::function<void(Node*)>& f) {
  for (Node* n : block->nodes()) {
    f(n);
    for (Block* b : n->blocks()) ForEachNode(b, f);
  }
}

// The module instance a value holds, when it is `self` followed by attribute reads.
const c10::ivalue::Object* ResolveModule(Value* v, const Graph& graph, const torch::jit::Module& root) {
  std::vector<std::string> names;
  while (v != graph.inputs().at(0)) {
    Node* n = v->node();
    if (n->kind() != c10::prim::GetAttr) return nullptr;
    names.push_back(n->s(c10::attr::name));
    v = n->input(0);
  }
  c10::intrusive_ptr<c10::ivalue::Object> object = root._ivalue();
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    if (!object->type()->hasAttribute(*it)) return nullptr;
    c10::IValue attr = object->getAttr(*it);
    if (!attr.isObject()) return nullptr;
    object = attr.toObject();
  }
  return object.get();
}

// The dotted attribute path ("classifier.weight") of a value read from `self` by attribute
// reads; empty when it is something else.
std::string AttributePath(Value* v, const Graph& graph) {
  std::vector<std::string> names;
  while (v != graph.inputs().at(0)) {
    Node* n = v->node();
    if (n->kind() != c10::prim::GetAttr) return "";
    names.push_back(n->s(c10::attr::name));
    v = n->input(0);
  }
  std::string path;
  for (auto it = names.rbegin(); it != names.rend(); ++it) path += (path.empty() ? "" : ".") + *it;
  return path;
}

using Shapes = std::unordered_map<Value*, std::vector<int64_t>>;

// A constant int input (constant_as asserts on a constant of another type, such as None).
c10::optional<int64_t> ConstantInt(Value* v) {
  const c10::optional<c10::IValue> c = torch::jit::toIValue(v);
  if (c && c->isInt()) return c->toInt();
  return c10::nullopt;
}

// Runs `graph` on `inputs` with every top-level tensor value as an extra output: the shape
// each value had (nested tensors have none).
Shapes ProbeShapes(Graph& graph, std::vector<c10::IValue> inputs) {
  std::shared_ptr<Graph> copy = graph.copy();
  std::vector<Value*> original, copied;
  for (size_t i = 0; i < graph.inputs().size(); ++i) {
    original.push_back(graph.inputs()[i]);
    copied.push_back(copy->inputs()[i]);
  }
  auto it = copy->nodes().begin();
  for (Node* n : graph.nodes()) {
    Node* c = *it;
    ++it;
    for (size_t o = 0; o < n->outputs().size(); ++o) {
      original.push_back(n->output(o));
      copied.push_back(c->output(o));
    }
  }
  const size_t first = copy->outputs().size();
  std::vector<Value*> watched;
  for (size_t i = 0; i < copied.size(); ++i) {
    if (copied[i]->type()->kind() != c10::TypeKind::TensorType) continue;
    copy->registerOutput(copied[i]);
    watched.push_back(original[i]);
  }
  torch::jit::GraphExecutor executor(copy, "synapse_probe");
  executor.run(inputs);
  Shapes out;
  for (size_t i = 0; i < watched.size(); ++i) {
    const c10::IValue& v = inputs.at(first + i);
    if (v.isTensor() && !v.toTensor().is_nested()) out[watched[i]] = v.toTensor().sizes().vec();
  }
  return out;
}

// Every tensor in an output value (tuples and lists flattened, dict values in order).
void Tensors(const c10::IValue& v, std::vector<at::Tensor>* out) {
  if (v.isTensor()) {
    out->push_back(v.toTensor());
  } else if (v.isTuple()) {
    for (const c10::IValue& e : v.toTupleRef().elements()) Tensors(e, out);
  } else if (v.isList()) {
    for (const c10::IValue& e : v.toListRef()) Tensors(e, out);
  } else if (v.isGenericDict()) {
    for (const auto& e : v.toGenericDict()) Tensors(e.value(), out);
  }
}

const std::set<c10::Symbol>& UnaryRowWise() {
  static const std::set<c10::Symbol> kinds = {
      c10::aten::gelu,  c10::aten::relu, c10::aten::tanh,       c10::aten::sigmoid, c10::aten::erf,
      c10::aten::neg,   c10::aten::sqrt, c10::aten::rsqrt,      c10::aten::exp,     c10::aten::contiguous,
      c10::aten::silu,  c10::aten::abs,  c10::aten::leaky_relu, c10::aten::elu,     c10::aten::hardtanh,
      c10::aten::clone, c10::aten::to,   c10::aten::type_as};
  return kinds;
}

const std::set<c10::Symbol>& ElementwiseRowWise() {
  static const std::set<c10::Symbol> kinds = {c10::aten::add,     c10::aten::sub,     c10::aten::mul,
                                              c10::aten::div,     c10::aten::pow,     c10::aten::where,
                                              c10::aten::maximum, c10::aten::minimum, c10::aten::masked_fill};
  return kinds;
}

// A copy of `module`'s optimized forward graph with every call inlined; null, with the
// reason, when forward is not a graph or cannot be inlined.
std::shared_ptr<Graph> InlinedForward(const torch::jit::Module& module, std::string* reason) {
  try {
    torch::jit::GraphFunction* forward = torch::jit::tryToGraphFunction(module.get_method("forward").function());
    if (forward == nullptr) {
      *reason = "forward is not a TorchScript graph";
      return nullptr;
    }
    std::shared_ptr<Graph> graph = forward->optimized_graph()->copy();
    torch::jit::Inline(*graph);
    return graph;
  } catch (const std::exception& e) {
    *reason = "the forward graph could not be inlined";
    return nullptr;
  }
}

}  // namespace

ForwardStages::ForwardStages(const torch::jit::Module& module, const SiteMap& sites)
    : ForwardStages(module, sites, {}) {}

ForwardStages::ForwardStages(const torch::jit::Module& module, const SiteMap& sites,
                             const std::function<std::vector<c10::IValue>(int64_t tokens)>& probe)
    : cut_of_layer_(sites.num_layers, -1) {
  const size_t num_layers = sites.num_layers;
  const size_t num_modules = sites.layer_of_call.size();
  std::shared_ptr<Graph> graph = InlinedForward(module, &reason_);
  if (!graph) return;

  // Top-level positions; the return counts as position N.
  std::vector<Node*> top(graph->nodes().begin(), graph->nodes().end());
  const int end = static_cast<int>(top.size());
  std::unordered_map<Node*, int> position;
  for (int i = 0; i < end; ++i) position[top[static_cast<size_t>(i)]] = i;
  position[graph->return_node()] = end;
  auto top_position = [&](Node* n) {
    while (n->owningBlock() != graph->block()) n = n->owningBlock()->owningNode();
    return position.at(n);
  };

  // Where each layer's hook is; which layers cannot be cut and why. Hooks are visited in
  // program order, so the k-th hook of a module called several times is its k-th call.
  std::vector<int> hook_at(num_layers, -1);
  std::map<int, std::string> refused;                         // layer → why
  std::vector<std::vector<int>> hook_positions(num_modules);  // module → top-level position per hook
  std::vector<std::string> in_control_flow(num_modules);      // module → the control flow around a hook
  bool writes_attributes = false;
  bool unresolved = false;
  ForEachNode(graph->block(), [&](Node* n) {
    if (n->kind() == c10::prim::SetAttr) writes_attributes = true;
    if (n->kind() != kHook) return;
    const c10::ivalue::Object* instance = ResolveModule(n->input(1), *graph, module);
    if (instance == nullptr) {
      unresolved = true;
      return;
    }
    auto it = sites.module_index.find(instance);
    if (it == sites.module_index.end()) return;  // a same-type module that is not a selected layer
    const size_t m = static_cast<size_t>(it->second);
    hook_positions[m].push_back(top_position(n));
    if (n->owningBlock() != graph->block() && in_control_flow[m].empty()) {
      in_control_flow[m] = n->owningBlock()->owningNode()->kind().toQualString();
    }
  });
  bool ambiguous_calls = false;
  for (size_t m = 0; m < num_modules; ++m) {
    const std::vector<int>& layers = sites.layer_of_call[m];
    const std::vector<int>& at = hook_positions[m];
    if (layers.empty()) continue;
    if (layers.size() == 1) {
      const int layer = layers[0];
      if (!in_control_flow[m].empty()) {
        refused[layer] = "its hook is inside control flow (" + in_control_flow[m] + ")";
      } else if (!at.empty()) {
        hook_at[static_cast<size_t>(layer)] = *std::min_element(at.begin(), at.end());
      }
      continue;
    }
    // One module, several calls: each call needs its own hook in the inlined graph.
    if (!in_control_flow[m].empty() || at.size() != layers.size()) {
      ambiguous_calls = true;
      const std::string why = "its module runs " + std::to_string(layers.size()) + " times under " +
                              (in_control_flow[m].empty() ? std::string("one hook") : in_control_flow[m]) +
                              ", so one point of the graph stands for several calls";
      for (int layer : layers) refused[layer] = why;
      continue;
    }
    for (size_t k = 0; k < layers.size(); ++k) hook_at[static_cast<size_t>(layers[k])] = at[k];
  }
  if (ambiguous_calls) {
    // A run started at a cut could not tell how many calls the loop made before it.
    for (size_t layer = 0; layer < num_layers; ++layer) {
      if (!refused.count(static_cast<int>(layer))) {
        refused[static_cast<int>(layer)] =
            "a weight-shared module is called in a loop, so its calls cannot be counted from a cut";
      }
    }
  }
  if (writes_attributes) {
    reason_ = "forward sets module attributes (prim::SetAttr)";
    return;
  }
  if (unresolved) {
    reason_ = "a hooked module is not reached by attribute reads from self";
    return;
  }

  // Live ranges of top-level values: defined at def (inputs: -1), last used at last.
  struct Range {
    int def = -1;
    int last = -1;
  };
  std::vector<Value*> candidates;  // graph inputs and top-level outputs, in order
  std::unordered_map<Value*, Range> range;
  auto add_value = [&](Value* v, int def) {
    if (v->node()->kind() == c10::prim::Constant) return;  // cloned into each segment instead
    Range r;
    r.def = def;
    for (const torch::jit::Use& use : v->uses()) r.last = std::max(r.last, top_position(use.user));
    range[v] = r;
    candidates.push_back(v);
  };
  for (Value* v : graph->inputs()) add_value(v, -1);
  for (int i = 0; i < end; ++i) {
    for (Value* v : top[static_cast<size_t>(i)]->outputs()) add_value(v, i);
  }
  auto crossing = [&](int p) {
    std::vector<Value*> out;
    for (Value* v : candidates) {
      if (range[v].def < p && range[v].last >= p) out.push_back(v);
    }
    return out;
  };

  // Keep the cuts that no later node can spoil by writing to what crosses them.
  torch::jit::AliasDb alias(graph);
  std::vector<int> cuts;  // positions, ascending
  std::map<int, int> layer_at;
  for (size_t layer = 0; layer < num_layers; ++layer) {
    if (hook_at[layer] >= 0 && !refused.count(static_cast<int>(layer)))
      layer_at[hook_at[layer]] = static_cast<int>(layer);
  }
  for (const auto& [p, layer] : layer_at) {
    const std::vector<Value*> values = crossing(p);
    torch::jit::ValueSet set(values.begin(), values.end());
    std::string writer;
    for (int i = p; i < end && writer.empty(); ++i) {
      Node* n = top[static_cast<size_t>(i)];
      auto check = [&](Node* leaf) {
        if (writer.empty() && leaf->kind() != kHook && leaf->blocks().empty() && alias.writesToAlias(leaf, set)) {
          writer = leaf->kind().toQualString();
        }
      };
      check(n);
      for (Block* b : n->blocks()) ForEachNode(b, check);
    }
    if (!writer.empty()) {
      refused[layer] = "a later node (" + writer + ") may write to a value computed before it";
      continue;
    }
    cuts.push_back(p);
  }

  // Segments between consecutive cuts. `watch`, when given, is the top-level node whose
  // clone make_segment reports in *watched.
  std::vector<int> bounds = {0};
  bounds.insert(bounds.end(), cuts.begin(), cuts.end());
  bounds.push_back(end);
  auto make_segment = [&](int from, int to, Node* watch, Node** watched) {
    auto segment = std::make_shared<Graph>();
    std::unordered_map<Value*, Value*> env;
    const std::vector<Value*> inputs =
        from == 0 ? std::vector<Value*>(graph->inputs().begin(), graph->inputs().end()) : crossing(from);
    for (Value* v : inputs) env[v] = segment->addInput()->setType(v->type());
    auto map = [&](Value* v) -> Value* {
      auto it = env.find(v);
      if (it != env.end()) return it->second;
      // Only constants are not carried across cuts.
      Node* clone = segment->insertNode(segment->createClone(v->node(), [](Value*) -> Value* { return nullptr; }));
      env[v] = clone->output();
      return clone->output();
    };
    for (int i = from; i < to; ++i) {
      Node* n = top[static_cast<size_t>(i)];
      if (n->kind() == c10::prim::Constant) continue;  // cloned where used
      Node* clone = segment->insertNode(segment->createClone(n, map));
      for (size_t o = 0; o < n->outputs().size(); ++o) env[n->output(o)] = clone->output(o);
      if (n == watch) *watched = clone;
    }
    const std::vector<Value*> outputs =
        to == end ? std::vector<Value*>(graph->outputs().begin(), graph->outputs().end()) : crossing(to);
    for (Value* v : outputs) segment->registerOutput(map(v));
    return segment;
  };
  for (size_t s = 0; s + 1 < bounds.size(); ++s) {
    segments_.push_back(std::make_unique<torch::jit::GraphExecutor>(
        make_segment(bounds[s], bounds[s + 1], nullptr, nullptr), "synapse_segment_" + std::to_string(s)));
  }
  for (size_t k = 0; k < cuts.size(); ++k) {
    const int layer = layer_at.at(cuts[k]);
    cut_of_layer_[static_cast<size_t>(layer)] = static_cast<int>(k);
    cut_layers_.push_back(layer);
    std::vector<int> before(num_modules, 0);
    for (size_t m = 0; m < num_modules; ++m) {
      for (int p : hook_positions[m]) before[m] += p < cuts[k] ? 1 : 0;
    }
    calls_before_.push_back(std::move(before));
  }
  // The pooled tail: segments K-1 and K as one graph, from the second-to-last cut.
  const size_t k = cuts.size();
  if (!probe) {
    pooled_tail_summary_ = "not tried";
  } else if (k < 2) {
    pooled_tail_summary_ = "needs cuts at the last two layers";
  } else {
    try {
      const int64_t tokens_a = 7, tokens_b = 11;
      std::vector<c10::IValue> a = probe(tokens_a), b = probe(tokens_b);
      if (a.empty() || b.empty()) {
        pooled_tail_summary_ = "the model does not take tokens";
      } else {
        c10::InferenceMode inference;
        ScopedHookContext no_hooks(nullptr);
        for (int s = 0; s + 1 < static_cast<int>(k); ++s) {
          RunSegment(s, &a);
          RunSegment(s, &b);
        }
        Node* hook_clone = nullptr;
        std::shared_ptr<Graph> tail =
            make_segment(cuts[k - 2], end, top[static_cast<size_t>(cuts[k - 1])], &hook_clone);
        int hook_index = 0;
        for (Node* n : tail->nodes()) {
          if (n == hook_clone) break;
          ++hook_index;
        }
        BuildPooledTail(tail, hook_clone ? hook_index : -1, a, b, tokens_a, tokens_b);
        if (pooled_tail_) {
          pooled_tail_from_ = static_cast<int>(k) - 2;
          pooled_tail_layer_ = cut_layers_.empty() ? layer_at.at(cuts[k - 1]) : cut_layers_[k - 1];
        }
      }
    } catch (const std::exception& e) {
      pooled_tail_.reset();
      pooled_tail_summary_ = std::string("a probe run failed: ") + e.what();
      const size_t nl = pooled_tail_summary_.find('\n');
      if (nl != std::string::npos) pooled_tail_summary_.resize(nl);
    }
  }
  for (size_t layer = 0; layer < num_layers; ++layer) {
    if (cut_of_layer_[layer] >= 0) continue;
    if (!reason_.empty()) reason_ += "; ";
    auto it = refused.find(static_cast<int>(layer));
    reason_ += "layer " + std::to_string(layer) + ": " +
               (it != refused.end() ? it->second : std::string("its hook is not in the forward graph"));
  }
}

void ForwardStages::BuildPooledTail(const std::shared_ptr<Graph>& tail, int hook_index,
                                    const std::vector<c10::IValue>& probe_a, const std::vector<c10::IValue>& probe_b,
                                    int64_t tokens_a, int64_t tokens_b) {
  const Shapes sa = ProbeShapes(*tail, probe_a);
  const Shapes sb = ProbeShapes(*tail, probe_b);
  std::vector<Node*> nodes(tail->nodes().begin(), tail->nodes().end());
  Node* hook =
      hook_index >= 0 && hook_index < static_cast<int>(nodes.size()) ? nodes[static_cast<size_t>(hook_index)] : nullptr;
  // The rank of a value (-1: not a tensor with one shape on both probes).
  auto rank = [&](Value* v) -> int64_t {
    auto a = sa.find(v), b = sb.find(v);
    if (a == sa.end() || b == sb.end() || a->second.size() != b->second.size()) return -1;
    return static_cast<int64_t>(a->second.size());
  };
  // Dimension i of v is the token dimension: the probes' token counts there.
  auto token_at = [&](Value* v, int64_t i) {
    if (i < 0 || i >= rank(v)) return false;
    return sa.at(v)[static_cast<size_t>(i)] == tokens_a && sb.at(v)[static_cast<size_t>(i)] == tokens_b;
  };
  auto token_free = [&](Value* v) {
    if (v->type()->kind() != c10::TypeKind::TensorType) return true;
    const int64_t r = rank(v);
    if (r < 0) return v->node()->kind() == c10::prim::Constant;  // None is no tensor
    for (int64_t i = 0; i < r; ++i) {
      if (token_at(v, i)) return false;
    }
    return true;
  };
  // Whether `n` is row-wise along dimension t of its output; *reads gets each input index
  // that carries the token dimension, with that input's token dimension.
  auto row_wise = [&](Node* n, int64_t t, std::vector<std::pair<size_t, int64_t>>* reads) -> bool {
    reads->clear();
    if (n->outputs().size() != 1 || !n->blocks().empty()) return false;
    Value* out = n->output();
    const int64_t r = rank(out);
    if (r < 0 || !token_at(out, t)) return false;
    const c10::Symbol kind = n->kind();
    auto rest_token_free = [&](size_t from) {
      for (size_t j = from; j < n->inputs().size(); ++j) {
        if (!token_free(n->input(j))) return false;
      }
      return true;
    };
    if (n == hook || UnaryRowWise().count(kind) || kind == c10::aten::dropout || kind == c10::aten::linear ||
        kind == c10::aten::layer_norm || kind == c10::aten::softmax || kind == c10::aten::log_softmax) {
      if (rank(n->input(0)) != r || !token_at(n->input(0), t) || !rest_token_free(1)) return false;
      if (kind == c10::aten::dropout && [&] {
            // Model::Load puts every module in eval mode: `self.training` reads false.
            Node* flag = n->input(2)->node();
            if (flag->kind() == c10::prim::GetAttr && flag->s(c10::attr::name) == "training") return false;
            const c10::optional<c10::IValue> train = torch::jit::toIValue(n->input(2));
            return !train || !train->isBool() || train->toBool();
          }()) {
        return false;
      }
      if (kind == c10::aten::linear && t >= r - 1) return false;
      if (kind == c10::aten::layer_norm) {
        Node* shape = n->input(1)->node();
        int64_t m = -1;
        if (shape->kind() == c10::prim::ListConstruct) m = static_cast<int64_t>(shape->inputs().size());
        if (auto list = torch::jit::toIValue(n->input(1))) {
          if (list->isIntList()) m = static_cast<int64_t>(list->toIntList().size());
        }
        if (m < 1 || t >= r - m) return false;
      }
      if (kind == c10::aten::softmax || kind == c10::aten::log_softmax) {
        c10::optional<int64_t> dim = ConstantInt(n->input(1));
        if (!dim) return false;
        if (*dim < 0) *dim += r;
        if (*dim == t) return false;
      }
      reads->push_back({0, t});
      return true;
    }
    // The query side of attention: rows of A in A @ B are rows of the product; B (the
    // keys or values) is read whole.
    if (kind == c10::aten::matmul) {
      if (r < 2 || t != r - 2 || rank(n->input(0)) != r || !token_at(n->input(0), t)) return false;
      reads->push_back({0, t});
      return true;
    }
    if (kind == c10::aten::transpose || kind == c10::aten::permute) {
      if (rank(n->input(0)) != r) return false;
      int64_t from = t;
      if (kind == c10::aten::transpose) {
        c10::optional<int64_t> d0 = ConstantInt(n->input(1)), d1 = ConstantInt(n->input(2));
        if (!d0 || !d1) return false;
        if (*d0 < 0) *d0 += r;
        if (*d1 < 0) *d1 += r;
        from = t == *d0 ? *d1 : t == *d1 ? *d0 : t;
      } else {
        std::vector<int64_t> dims;
        Node* list = n->input(1)->node();
        if (list->kind() == c10::prim::ListConstruct) {
          for (Value* v : list->inputs()) {
            const c10::optional<int64_t> d = ConstantInt(v);
            if (!d) return false;
            dims.push_back(*d < 0 ? *d + r : *d);
          }
        } else if (auto c = torch::jit::toIValue(n->input(1)); c && c->isIntList()) {
          for (int64_t d : c->toIntVector()) dims.push_back(d < 0 ? d + r : d);
        }
        if (static_cast<int64_t>(dims.size()) != r) return false;
        from = dims[static_cast<size_t>(t)];
      }
      if (!token_at(n->input(0), from)) return false;
      reads->push_back({0, from});
      return true;
    }
    // A view or reshape that keeps every dimension up to the token one (it splits or merges
    // heads behind it): the same on one row, with the token size in its list set to 1.
    if (kind == c10::aten::view || kind == c10::aten::reshape) {
      Value* x = n->input(0);
      Node* list = n->input(1)->node();
      if (list->kind() != c10::prim::ListConstruct || static_cast<int64_t>(list->inputs().size()) != r ||
          rank(x) <= t || !token_at(x, t)) {
        return false;
      }
      for (int64_t i = 0; i <= t; ++i) {
        if (sa.at(x)[static_cast<size_t>(i)] != sa.at(out)[static_cast<size_t>(i)] ||
            sb.at(x)[static_cast<size_t>(i)] != sb.at(out)[static_cast<size_t>(i)]) {
          return false;
        }
      }
      // The leading sizes must not be inferred (-1 would be; only the token one may be).
      for (int64_t i = 0; i < t; ++i) {
        if (ConstantInt(list->input(static_cast<size_t>(i))).value_or(0) == -1) return false;
      }
      reads->push_back({0, t});
      return true;
    }
    if (ElementwiseRowWise().count(kind)) {
      for (size_t j = 0; j < n->inputs().size(); ++j) {
        Value* u = n->input(j);
        if (u->type()->kind() != c10::TypeKind::TensorType) continue;  // a scalar
        const int64_t ru = rank(u);
        if (ru < 0) {
          if (u->node()->kind() == c10::prim::Constant) continue;
          return false;
        }
        const int64_t aligned = t - (r - ru);
        if (aligned >= 0 && token_at(u, aligned)) {
          reads->push_back({j, aligned});
        } else if (aligned >= 0 &&
                   (sa.at(u)[static_cast<size_t>(aligned)] != 1 || sb.at(u)[static_cast<size_t>(aligned)] != 1)) {
          // Broadcasting pairs dimensions by position: an operand of size 1 (or none) at
          // the token position is the same for every row (attention's key mask is one).
          return false;
        }
      }
      return !reads->empty();
    }
    return false;
  };

  // Candidates: select(dim d, index c) of a token dimension, behind full slices of
  // earlier dimensions (`h[:, 0]` traces to slice(h, 0, 0, max, 1) then select(·, 1, 0)).
  struct Plan {
    Node* entry = nullptr;  // the node reading the source
    Node* select = nullptr;
    Value* source = nullptr;
    int64_t dim = 0, index = 0;
    std::vector<Node*> rows;  // nodes run on the row, in program order
    std::unordered_map<Node*, std::vector<std::pair<size_t, int64_t>>> reads;
  };
  std::unordered_map<Node*, size_t> position;
  for (size_t i = 0; i < nodes.size(); ++i) position[nodes[i]] = i;
  Plan best;
  for (Node* select : nodes) {
    if (select->kind() != c10::aten::select) continue;
    const c10::optional<int64_t> d = ConstantInt(select->input(1));
    const c10::optional<int64_t> c = ConstantInt(select->input(2));
    if (!d || !c || *d < 0 || *c < 0) continue;
    Node* entry = select;
    Value* source = select->input(0);
    while (source->node()->kind() == c10::aten::slice && source->uses().size() == 1 && position.count(source->node())) {
      Node* sl = source->node();
      const c10::optional<int64_t> sd = ConstantInt(sl->input(1));
      auto is_none = [](Value* v) { return v->type()->kind() == c10::TypeKind::NoneType; };
      const c10::optional<int64_t> start = ConstantInt(sl->input(2));
      const c10::optional<int64_t> stop = ConstantInt(sl->input(3));
      const c10::optional<int64_t> step = ConstantInt(sl->input(4));
      const bool from_first = is_none(sl->input(2)) || start.value_or(-1) == 0;
      const bool to_last = is_none(sl->input(3)) || stop.value_or(0) >= (int64_t{1} << 62);
      if (!sd || *sd < 0 || *sd >= *d || !from_first || !to_last || step.value_or(0) != 1) break;
      entry = sl;
      source = sl->input(0);
    }
    if (!token_at(source, *d)) continue;
    Plan plan;
    plan.entry = entry;
    plan.select = select;
    plan.source = source;
    plan.dim = *d;
    plan.index = *c;
    // From the selection upwards: a node runs on the row when everything that reads its
    // output reads it on the row, and it is row-wise.
    std::unordered_map<Value*, std::vector<int64_t>> row_reads;  // value → token dim per row read
    row_reads[source].push_back(*d);
    for (size_t i = position.at(entry); i-- > 0;) {
      Node* n = nodes[i];
      if (n->outputs().size() != 1) continue;
      auto it = row_reads.find(n->output());
      if (it == row_reads.end() || it->second.size() != n->output()->uses().size()) continue;
      const int64_t t = it->second.front();
      if (std::any_of(it->second.begin(), it->second.end(), [&](int64_t x) { return x != t; })) continue;
      std::vector<std::pair<size_t, int64_t>> reads;
      if (!row_wise(n, t, &reads)) continue;
      plan.rows.push_back(n);
      plan.reads[n] = reads;
      for (const auto& [j, tu] : reads) row_reads[n->input(j)].push_back(tu);
    }
    std::reverse(plan.rows.begin(), plan.rows.end());
    if (plan.rows.size() > best.rows.size()) best = std::move(plan);
  }
  if (best.rows.empty()) {
    pooled_tail_summary_ = "no row-wise node feeds a selection of one token";
    return;
  }

  // The rewrite, in place: the row nodes' outputs keep their rank with one row; what they
  // read from outside gets sliced to that row; the selection takes row 0 of it.
  const std::shared_ptr<Graph> original = tail->copy();
  std::unordered_set<Node*> on_row(best.rows.begin(), best.rows.end());
  std::map<std::pair<Value*, int64_t>, Value*> sliced;
  std::map<std::string, int> stopped;  // kinds the push stopped at
  auto slice_of = [&](Value* u, int64_t dim) {
    auto it = sliced.find({u, dim});
    if (it != sliced.end()) return it->second;
    Node* def = u->node();
    Node* point = def->kind() == c10::prim::Param ? tail->block()->nodes().front() : def->next();
    torch::jit::WithInsertPoint guard(point);
    Value* d = tail->insertConstant(dim);
    Value* start = tail->insertConstant(best.index);
    Value* stop = tail->insertConstant(best.index + 1);
    Value* step = tail->insertConstant(int64_t{1});
    Node* s = tail->insertNode(tail->create(c10::aten::slice, {u, d, start, stop, step}));
    s->output()->setType(c10::TensorType::get());
    stopped[def->kind() == c10::prim::Param ? std::string("the tail's start") : def->kind().toQualString()]++;
    return sliced[{u, dim}] = s->output();
  };
  std::map<std::string, int> counts;
  for (Node* n : best.rows) {
    if (n->kind() == c10::aten::view || n->kind() == c10::aten::reshape) {
      // A list of its own, with 1 at the token position.
      const int64_t t = best.reads.at(n).front().second;
      Node* list = n->input(1)->node();
      torch::jit::WithInsertPoint guard(n);
      std::vector<Value*> sizes(list->inputs().begin(), list->inputs().end());
      sizes[static_cast<size_t>(t)] = tail->insertConstant(int64_t{1});
      Node* own = tail->insertNode(tail->createList(c10::IntType::get(), sizes));
      n->replaceInput(1, own->output());
    }
    ++counts[n == hook ? "the last layer's hook" : n->kind().toQualString()];
    for (const auto& [j, tu] : best.reads.at(n)) {
      Value* u = n->input(j);
      if (!on_row.count(u->node())) n->replaceInput(j, slice_of(u, tu));
    }
  }
  if (!on_row.count(best.source->node())) {
    best.entry->replaceInputWith(best.source, slice_of(best.source, best.dim));
  }
  {
    torch::jit::WithInsertPoint guard(best.select);
    best.select->replaceInput(2, tail->insertConstant(int64_t{0}));
  }
  tail->lint();

  // The check: the same outputs as the untouched tail on both probes.
  torch::jit::GraphExecutor reference(original, "synapse_tail_reference");
  auto executor = std::make_unique<torch::jit::GraphExecutor>(tail, "synapse_pooled_tail");
  for (const std::vector<c10::IValue>* probe : {&probe_a, &probe_b}) {
    std::vector<c10::IValue> want = *probe, got = *probe;
    reference.run(want);
    executor->run(got);
    std::vector<at::Tensor> w, g;
    for (const c10::IValue& v : want) Tensors(v, &w);
    for (const c10::IValue& v : got) Tensors(v, &g);
    if (w.size() != g.size()) {
      pooled_tail_summary_ = "refused: the rewritten tail returns other outputs";
      return;
    }
    for (size_t i = 0; i < w.size(); ++i) {
      if (w[i].sizes() != g[i].sizes()) {
        pooled_tail_summary_ = "refused: the rewritten tail returns other shapes";
        return;
      }
      const double scale = 1.0 + w[i].abs().max().item<double>();
      const double diff = (w[i].to(at::kDouble) - g[i].to(at::kDouble)).abs().max().item<double>();
      if (!(diff <= 1e-5 * scale)) {
        pooled_tail_summary_ = "refused: the rewritten tail's outputs differ by " + std::to_string(diff);
        return;
      }
    }
  }
  pooled_tail_ = std::move(executor);
  pooled_tail_nodes_ = static_cast<int>(best.rows.size());
  std::string ran, at;
  for (const auto& [kind, count] : counts) ran += (ran.empty() ? "" : ", ") + kind + " ×" + std::to_string(count);
  for (const auto& [kind, count] : stopped) at += (at.empty() ? "" : ", ") + kind;
  pooled_tail_summary_ = std::to_string(best.rows.size()) + " nodes on token " + std::to_string(best.index) +
                         " only (" + ran + "); every token up to " + at;
}

void ForwardStages::RunPooledTail(std::vector<c10::IValue>* values) const { pooled_tail_->run(*values); }

HeadInputGraph::HeadInputGraph(const torch::jit::Module& module, const std::string& weight, const std::string& bias) {
  std::shared_ptr<Graph> graph = InlinedForward(module, &reason_);
  if (!graph) return;
  // Every read of the head's parameters, and the one aten::linear they must feed.
  Node* head = nullptr;
  std::string problem;
  ForEachNode(graph->block(), [&](Node* n) {
    if (n->kind() != c10::prim::GetAttr || !problem.empty()) return;
    const std::string path = AttributePath(n->output(), *graph);
    if (path.empty() || (path != weight && path != bias)) return;
    for (const torch::jit::Use& use : n->output()->uses()) {
      const bool as_weight = use.user->kind() == c10::aten::linear && use.offset == (path == weight ? 1u : 2u);
      if (!as_weight) {
        problem = "\"" + path + "\" is read by " + std::string(use.user->kind().toQualString()) +
                  ", not only as the head's aten::linear parameter";
        return;
      }
      if (head != nullptr && head != use.user) {
        problem = "the head's parameters feed more than one aten::linear";
        return;
      }
      head = use.user;
    }
  });
  if (!problem.empty()) {
    reason_ = problem;
    return;
  }
  if (head == nullptr) {
    reason_ = "\"" + weight + "\" does not feed an aten::linear in forward";
    return;
  }
  if (head->owningBlock() != graph->block()) {
    reason_ = "the head runs inside control flow";
    return;
  }
  Value* bias_input = head->input(2);
  if (bias.empty() ? bias_input->type()->kind() != c10::TypeKind::NoneType
                   : AttributePath(bias_input, *graph) != bias) {
    reason_ = bias.empty() ? "the head's aten::linear has a bias the head was not given"
                           : "\"" + bias + "\" is not the bias of the head's aten::linear";
    return;
  }
  // The logits forward returns must be the head's output, or rows of it: selecting rows
  // (aten::index, select, slice over leading dimensions) commutes with a row-wise linear
  // map, so the same selection applies to the head's input.
  Value* out = graph->outputs().at(0);
  auto is_output = [&](Value* v) {
    if (out == v) return true;
    Node* o = out->node();
    if (o->kind() == c10::prim::TupleConstruct && o->inputs().size() > 0) return o->input(0) == v;
    if (o->kind() == c10::prim::DictConstruct) {
      const auto& in = o->inputs();
      for (size_t i = 0; i + 1 < in.size(); i += 2) {
        const c10::optional<c10::IValue> key = torch::jit::toIValue(in[i]);
        if (key && key->isString() && key->toStringRef() == "logits") return in[i + 1] == v;
      }
    }
    return false;
  };
  std::vector<Node*> rows;  // the row selections between the head and the output
  Value* logits = head->output();
  while (!is_output(logits)) {
    Node* next = logits->uses().size() == 1 ? logits->uses()[0].user : nullptr;
    const bool row_selection =
        next != nullptr && logits->uses()[0].offset == 0 && next->owningBlock() == graph->block() &&
        (next->kind() == c10::aten::index || ((next->kind() == c10::aten::select || next->kind() == c10::aten::slice) &&
                                              ConstantInt(next->input(1)).value_or(-1) >= 0));
    if (!row_selection) {
      Node* producer = out->node();
      if (producer->kind() == c10::prim::TupleConstruct && producer->inputs().size() > 0) {
        producer = producer->input(0)->node();
      }
      reason_ = std::string("the logits forward returns are not the head's output (") +
                (next != nullptr ? next : producer)->kind().toQualString() + " comes after it)";
      return;
    }
    rows.push_back(next);
    logits = next->output();
  }
  // Nothing after the head may change what it read.
  Value* x = head->input(0);
  torch::jit::AliasDb alias(graph);
  std::string writer;
  for (Node* n = head->next(); n != graph->return_node() && writer.empty(); n = n->next()) {
    auto check = [&](Node* leaf) {
      if (writer.empty() && leaf->blocks().empty() && alias.writesToAlias(leaf, {x})) {
        writer = leaf->kind().toQualString();
      }
    };
    check(n);
    for (Block* b : n->blocks()) ForEachNode(b, check);
  }
  if (!writer.empty()) {
    reason_ = "a node after the head (" + writer + ") may write to its input";
    return;
  }
  // The same row selections, on the head's input.
  Value* selected = x;
  for (Node* n : rows) {
    Value* from = n->input(0);
    Node* clone = graph->createClone(n, [&](Value* v) { return v == from ? selected : v; });
    clone->insertAfter(n);
    selected = clone->output();
  }
  while (!graph->outputs().empty()) graph->eraseOutput(0);
  graph->registerOutput(selected);
  torch::jit::EliminateDeadCode(graph);
  executor_ = std::make_unique<torch::jit::GraphExecutor>(graph, "synapse_head_input");
}

at::Tensor HeadInputGraph::Run(std::vector<c10::IValue> inputs) const {
  executor_->run(inputs);
  return inputs.at(0).toTensor();
}

void ForwardStages::RunSegment(int segment, std::vector<c10::IValue>* values) const {
  segments_.at(static_cast<size_t>(segment))->run(*values);
}

}  // namespace synapse
