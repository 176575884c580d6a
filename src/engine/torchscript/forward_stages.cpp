// ForwardStages: the inlined forward cut just before each layer's hook into segments.
// The pooled tail is in pooled_tail.cpp, the forward up to the head in head_input_graph.cpp.
#include "engine/torchscript/forward_stages.h"

#include <torch/csrc/jit/ir/alias_analysis.h>
#include <torch/csrc/jit/ir/ir.h>

#include <algorithm>
#include <map>

#include "engine/torchscript/forward_graph.h"

namespace synapse {
namespace {

using torch::jit::Block;
using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

const c10::Symbol kHook = c10::Symbol::fromQualString("synapse::hook");

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

// The top-level nodes of the inlined forward by position; the return counts as position N.
struct TopLevel {
  explicit TopLevel(std::shared_ptr<Graph> g)
      : graph(std::move(g)), nodes(graph->nodes().begin(), graph->nodes().end()), end(static_cast<int>(nodes.size())) {
    for (int i = 0; i < end; ++i) position[nodes[static_cast<size_t>(i)]] = i;
    position[graph->return_node()] = end;
  }
  // The position of the top-level node that holds `n`.
  int Of(Node* n) const {
    while (n->owningBlock() != graph->block()) n = n->owningBlock()->owningNode();
    return position.at(n);
  }

  std::shared_ptr<Graph> graph;
  std::vector<Node*> nodes;
  int end;
  std::unordered_map<Node*, int> position;
};

// Where each layer's hook is; which layers cannot be cut and why.
struct HookSites {
  std::vector<int> hook_at;                      // layer → top-level position, -1: none
  std::map<int, std::string> refused;            // layer → why
  std::vector<std::vector<int>> hook_positions;  // module → top-level position per hook
  std::vector<std::string> in_control_flow;      // module → the control flow around a hook
  bool writes_attributes = false;
  bool unresolved = false;
};

// Each selected module's hooks, in program order, so that the k-th hook of a module called
// several times is its k-th call.
HookSites LocateHooks(const TopLevel& top, const torch::jit::Module& module, const SiteMap& sites) {
  const size_t num_modules = sites.layer_of_call.size();
  const Graph& graph = *top.graph;
  HookSites hooks;
  hooks.hook_at.assign(sites.num_layers, -1);
  hooks.hook_positions.resize(num_modules);
  hooks.in_control_flow.resize(num_modules);
  ForEachNode(top.graph->block(), [&](Node* n) {
    if (n->kind() == c10::prim::SetAttr) hooks.writes_attributes = true;
    if (n->kind() != kHook) return;
    const c10::ivalue::Object* instance = ResolveModule(n->input(1), graph, module);
    if (instance == nullptr) {
      hooks.unresolved = true;
      return;
    }
    auto it = sites.module_index.find(instance);
    if (it == sites.module_index.end()) return;  // a same-type module that is not a selected layer
    const size_t m = static_cast<size_t>(it->second);
    hooks.hook_positions[m].push_back(top.Of(n));
    if (n->owningBlock() != graph.block() && hooks.in_control_flow[m].empty()) {
      hooks.in_control_flow[m] = n->owningBlock()->owningNode()->kind().toQualString();
    }
  });
  return hooks;
}

// Each layer's hook position from its module's hooks; refuses the layers whose hook is in
// control flow, and every layer when a module's calls cannot be told apart.
void AssignHooksToLayers(const SiteMap& sites, HookSites* hooks) {
  const size_t num_layers = sites.num_layers;
  const size_t num_modules = sites.layer_of_call.size();
  const std::vector<std::string>& in_control_flow = hooks->in_control_flow;
  bool ambiguous_calls = false;
  for (size_t m = 0; m < num_modules; ++m) {
    const std::vector<int>& layers = sites.layer_of_call[m];
    const std::vector<int>& at = hooks->hook_positions[m];
    if (layers.empty()) continue;
    if (layers.size() == 1) {
      const int layer = layers[0];
      if (!in_control_flow[m].empty()) {
        hooks->refused[layer] = "its hook is inside control flow (" + in_control_flow[m] + ")";
      } else if (!at.empty()) {
        hooks->hook_at[static_cast<size_t>(layer)] = *std::min_element(at.begin(), at.end());
      }
      continue;
    }
    // One module, several calls: each call needs its own hook in the inlined graph.
    if (!in_control_flow[m].empty() || at.size() != layers.size()) {
      ambiguous_calls = true;
      const std::string why = "its module runs " + std::to_string(layers.size()) + " times under " +
                              (in_control_flow[m].empty() ? std::string("one hook") : in_control_flow[m]) +
                              ", so one point of the graph stands for several calls";
      for (int layer : layers) hooks->refused[layer] = why;
      continue;
    }
    for (size_t k = 0; k < layers.size(); ++k) hooks->hook_at[static_cast<size_t>(layers[k])] = at[k];
  }
  if (ambiguous_calls) {
    // A run started at a cut could not tell how many calls the loop made before it.
    for (size_t layer = 0; layer < num_layers; ++layer) {
      if (!hooks->refused.count(static_cast<int>(layer))) {
        hooks->refused[static_cast<int>(layer)] =
            "a weight-shared module is called in a loop, so its calls cannot be counted from a cut";
      }
    }
  }
}

// Live ranges of top-level values: defined at def (inputs: -1), last used at last.
class LiveRanges {
 public:
  explicit LiveRanges(const TopLevel& top) {
    for (Value* v : top.graph->inputs()) Add(top, v, -1);
    for (int i = 0; i < top.end; ++i) {
      for (Value* v : top.nodes[static_cast<size_t>(i)]->outputs()) Add(top, v, i);
    }
  }
  // The values that cross position p: defined before it, used at or after it.
  std::vector<Value*> Crossing(int p) const {
    std::vector<Value*> out;
    for (Value* v : candidates_) {
      if (range_.at(v).def < p && range_.at(v).last >= p) out.push_back(v);
    }
    return out;
  }

 private:
  struct Range {
    int def = -1;
    int last = -1;
  };
  void Add(const TopLevel& top, Value* v, int def) {
    if (v->node()->kind() == c10::prim::Constant) return;  // cloned into each segment instead
    Range r;
    r.def = def;
    for (const torch::jit::Use& use : v->uses()) r.last = std::max(r.last, top.Of(use.user));
    range_[v] = r;
    candidates_.push_back(v);
  }

  std::vector<Value*> candidates_;  // graph inputs and top-level outputs, in order
  std::unordered_map<Value*, Range> range_;
};

// The cuts (positions, ascending) that no later node can spoil by writing to what crosses
// them; *layer_at gets the layer of every hook position that may be cut, and refused the
// layers whose cut a later write spoils.
std::vector<int> SafeCuts(const TopLevel& top, const LiveRanges& live, HookSites* hooks, std::map<int, int>* layer_at) {
  const size_t num_layers = hooks->hook_at.size();
  torch::jit::AliasDb alias(top.graph);
  std::vector<int> cuts;  // positions, ascending
  for (size_t layer = 0; layer < num_layers; ++layer) {
    if (hooks->hook_at[layer] >= 0 && !hooks->refused.count(static_cast<int>(layer)))
      (*layer_at)[hooks->hook_at[layer]] = static_cast<int>(layer);
  }
  for (const auto& [p, layer] : *layer_at) {
    const std::vector<Value*> values = live.Crossing(p);
    torch::jit::ValueSet set(values.begin(), values.end());
    std::string writer;
    for (int i = p; i < top.end && writer.empty(); ++i) {
      Node* n = top.nodes[static_cast<size_t>(i)];
      auto check = [&](Node* leaf) {
        if (writer.empty() && leaf->kind() != kHook && leaf->blocks().empty() && alias.writesToAlias(leaf, set)) {
          writer = leaf->kind().toQualString();
        }
      };
      check(n);
      for (Block* b : n->blocks()) ForEachNode(b, check);
    }
    if (!writer.empty()) {
      hooks->refused[layer] = "a later node (" + writer + ") may write to a value computed before it";
      continue;
    }
    cuts.push_back(p);
  }
  return cuts;
}

// The segment of top-level positions from..to as a graph of its own. `watch`, when given,
// is the top-level node whose clone is reported in *watched.
std::shared_ptr<Graph> MakeSegment(const TopLevel& top, const LiveRanges& live, int from, int to, Node* watch,
                                   Node** watched) {
  Graph& graph = *top.graph;
  auto segment = std::make_shared<Graph>();
  std::unordered_map<Value*, Value*> env;
  const std::vector<Value*> inputs =
      from == 0 ? std::vector<Value*>(graph.inputs().begin(), graph.inputs().end()) : live.Crossing(from);
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
    Node* n = top.nodes[static_cast<size_t>(i)];
    if (n->kind() == c10::prim::Constant) continue;  // cloned where used
    Node* clone = segment->insertNode(segment->createClone(n, map));
    for (size_t o = 0; o < n->outputs().size(); ++o) env[n->output(o)] = clone->output(o);
    if (n == watch) *watched = clone;
  }
  const std::vector<Value*> outputs =
      to == top.end ? std::vector<Value*>(graph.outputs().begin(), graph.outputs().end()) : live.Crossing(to);
  for (Value* v : outputs) segment->registerOutput(map(v));
  return segment;
}

}  // namespace

// The forward's top-level nodes, the values live across each position, and the cuts.
struct ForwardStages::CutGraph {
  const TopLevel& top;
  const LiveRanges& live;
  const std::vector<std::vector<int>>& hook_positions;  // module → top-level position per hook
  std::vector<int> cuts;                                // positions, ascending
  std::map<int, int> layer_at;                          // position → layer hooked there
};

ForwardStages::ForwardStages(const torch::jit::Module& module, const SiteMap& sites)
    : ForwardStages(module, sites, {}) {}

ForwardStages::ForwardStages(const torch::jit::Module& module, const SiteMap& sites,
                             const std::function<std::vector<c10::IValue>(int64_t tokens)>& probe)
    : cut_of_layer_(sites.num_layers, -1) {
  std::shared_ptr<Graph> graph = InlinedForward(module, &reason_);
  if (!graph) return;
  const TopLevel top(graph);
  HookSites hooks = LocateHooks(top, module, sites);
  AssignHooksToLayers(sites, &hooks);
  if (hooks.writes_attributes) {
    reason_ = "forward sets module attributes (prim::SetAttr)";
    return;
  }
  if (hooks.unresolved) {
    reason_ = "a hooked module is not reached by attribute reads from self";
    return;
  }
  const LiveRanges live(top);
  CutGraph cut{top, live, hooks.hook_positions, {}, {}};
  cut.cuts = SafeCuts(top, live, &hooks, &cut.layer_at);
  BuildSegments(cut);
  TryPooledTail(cut, probe);
  ExplainUncutLayers(hooks.refused);
}

void ForwardStages::BuildSegments(const CutGraph& cut) {
  const std::vector<int>& cuts = cut.cuts;
  const size_t num_modules = cut.hook_positions.size();
  std::vector<int> bounds = {0};
  bounds.insert(bounds.end(), cuts.begin(), cuts.end());
  bounds.push_back(cut.top.end);
  for (size_t s = 0; s + 1 < bounds.size(); ++s) {
    segments_.push_back(std::make_unique<torch::jit::GraphExecutor>(
        MakeSegment(cut.top, cut.live, bounds[s], bounds[s + 1], nullptr, nullptr),
        "synapse_segment_" + std::to_string(s)));
  }
  for (size_t k = 0; k < cuts.size(); ++k) {
    const int layer = cut.layer_at.at(cuts[k]);
    cut_of_layer_[static_cast<size_t>(layer)] = static_cast<int>(k);
    cut_layers_.push_back(layer);
    std::vector<int> before(num_modules, 0);
    for (size_t m = 0; m < num_modules; ++m) {
      for (int p : cut.hook_positions[m]) before[m] += p < cuts[k] ? 1 : 0;
    }
    calls_before_.push_back(std::move(before));
  }
}

void ForwardStages::TryPooledTail(const CutGraph& cut,
                                  const std::function<std::vector<c10::IValue>(int64_t tokens)>& probe) {
  const std::vector<int>& cuts = cut.cuts;
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
        std::shared_ptr<Graph> tail = MakeSegment(cut.top, cut.live, cuts[k - 2], cut.top.end,
                                                  cut.top.nodes[static_cast<size_t>(cuts[k - 1])], &hook_clone);
        int hook_index = 0;
        for (Node* n : tail->nodes()) {
          if (n == hook_clone) break;
          ++hook_index;
        }
        BuildPooledTail(tail, hook_clone ? hook_index : -1, a, b, tokens_a, tokens_b);
        if (pooled_tail_) {
          pooled_tail_from_ = static_cast<int>(k) - 2;
          pooled_tail_layer_ = cut_layers_.empty() ? cut.layer_at.at(cuts[k - 1]) : cut_layers_[k - 1];
        }
      }
    } catch (const std::exception& e) {
      pooled_tail_.reset();
      pooled_tail_summary_ = std::string("a probe run failed: ") + e.what();
      const size_t nl = pooled_tail_summary_.find('\n');
      if (nl != std::string::npos) pooled_tail_summary_.resize(nl);
    }
  }
}

void ForwardStages::ExplainUncutLayers(const std::map<int, std::string>& refused) {
  for (size_t layer = 0; layer < cut_of_layer_.size(); ++layer) {
    if (cut_of_layer_[layer] >= 0) continue;
    if (!reason_.empty()) reason_ += "; ";
    auto it = refused.find(static_cast<int>(layer));
    reason_ += "layer " + std::to_string(layer) + ": " +
               (it != refused.end() ? it->second : std::string("its hook is not in the forward graph"));
  }
}

void ForwardStages::RunSegment(int segment, std::vector<c10::IValue>* values) const {
  segments_.at(static_cast<size_t>(segment))->run(*values);
}

void ForwardStages::RunPooledTail(std::vector<c10::IValue>* values) const { pooled_tail_->run(*values); }

}  // namespace synapse
