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

}  // namespace

ForwardStages::ForwardStages(const torch::jit::Module& module, const SiteMap& sites)
    : cut_of_layer_(sites.num_layers, -1) {
  const size_t num_layers = sites.num_layers;
  const size_t num_modules = sites.layer_of_call.size();
  std::shared_ptr<Graph> graph;
  try {
    torch::jit::GraphFunction* forward = torch::jit::tryToGraphFunction(module.get_method("forward").function());
    if (forward == nullptr) {
      reason_ = "forward is not a TorchScript graph";
      return;
    }
    graph = forward->optimized_graph()->copy();
    torch::jit::Inline(*graph);
  } catch (const std::exception& e) {
    reason_ = "the forward graph could not be inlined";
    return;
  }

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
  std::map<int, std::string> refused;  // layer → why
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

  // Segments between consecutive cuts.
  std::vector<int> bounds = {0};
  bounds.insert(bounds.end(), cuts.begin(), cuts.end());
  bounds.push_back(end);
  for (size_t s = 0; s + 1 < bounds.size(); ++s) {
    auto segment = std::make_shared<Graph>();
    std::unordered_map<Value*, Value*> env;
    const std::vector<Value*> inputs =
        s == 0 ? std::vector<Value*>(graph->inputs().begin(), graph->inputs().end()) : crossing(bounds[s]);
    for (Value* v : inputs) env[v] = segment->addInput()->setType(v->type());
    auto map = [&](Value* v) -> Value* {
      auto it = env.find(v);
      if (it != env.end()) return it->second;
      // Only constants are not carried across cuts.
      Node* clone = segment->insertNode(segment->createClone(v->node(), [](Value*) -> Value* { return nullptr; }));
      env[v] = clone->output();
      return clone->output();
    };
    for (int i = bounds[s]; i < bounds[s + 1]; ++i) {
      Node* n = top[static_cast<size_t>(i)];
      if (n->kind() == c10::prim::Constant) continue;  // cloned where used
      Node* clone = segment->insertNode(segment->createClone(n, map));
      for (size_t o = 0; o < n->outputs().size(); ++o) env[n->output(o)] = clone->output(o);
    }
    const bool last = s + 2 == bounds.size();
    const std::vector<Value*> outputs =
        last ? std::vector<Value*>(graph->outputs().begin(), graph->outputs().end()) : crossing(bounds[s + 1]);
    for (Value* v : outputs) segment->registerOutput(map(v));
    segments_.push_back(std::make_unique<torch::jit::GraphExecutor>(segment, "synapse_segment_" + std::to_string(s)));
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
  for (size_t layer = 0; layer < num_layers; ++layer) {
    if (cut_of_layer_[layer] >= 0) continue;
    if (!reason_.empty()) reason_ += "; ";
    auto it = refused.find(static_cast<int>(layer));
    reason_ += "layer " + std::to_string(layer) + ": " +
               (it != refused.end() ? it->second : std::string("its hook is not in the forward graph"));
  }
}

HeadInputGraph::HeadInputGraph(const torch::jit::Module& module, const std::string& weight,
                               const std::string& bias) {
  std::shared_ptr<Graph> graph;
  try {
    torch::jit::GraphFunction* forward = torch::jit::tryToGraphFunction(module.get_method("forward").function());
    if (forward == nullptr) {
      reason_ = "forward is not a TorchScript graph";
      return;
    }
    graph = forward->optimized_graph()->copy();
    torch::jit::Inline(*graph);
  } catch (const std::exception& e) {
    reason_ = "the forward graph could not be inlined";
    return;
  }
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
        (next->kind() == c10::aten::index ||
         ((next->kind() == c10::aten::select || next->kind() == c10::aten::slice) &&
          torch::jit::constant_as<int64_t>(next->input(1)).value_or(-1) >= 0));
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
