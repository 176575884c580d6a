// HeadInputGraph: the forward graph up to the input of the classification head.
#include <torch/csrc/jit/ir/alias_analysis.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include "engine/torchscript/forward_graph.h"
#include "engine/torchscript/forward_stages.h"

namespace synapse {
namespace {

using torch::jit::Block;
using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

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

// The one aten::linear at the top level that the head's parameters feed, with `bias` as
// its bias; null, with *reason, when there is none or anything else reads them.
Node* FindHead(Graph& graph, const std::string& weight, const std::string& bias, std::string* reason) {
  // Every read of the head's parameters, and the one aten::linear they must feed.
  Node* head = nullptr;
  std::string problem;
  ForEachNode(graph.block(), [&](Node* n) {
    if (n->kind() != c10::prim::GetAttr || !problem.empty()) return;
    const std::string path = AttributePath(n->output(), graph);
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
    *reason = problem;
    return nullptr;
  }
  if (head == nullptr) {
    *reason = "\"" + weight + "\" does not feed an aten::linear in forward";
    return nullptr;
  }
  if (head->owningBlock() != graph.block()) {
    *reason = "the head runs inside control flow";
    return nullptr;
  }
  Value* bias_input = head->input(2);
  if (bias.empty() ? bias_input->type()->kind() != c10::TypeKind::NoneType : AttributePath(bias_input, graph) != bias) {
    *reason = bias.empty() ? "the head's aten::linear has a bias the head was not given"
                           : "\"" + bias + "\" is not the bias of the head's aten::linear";
    return nullptr;
  }
  return head;
}

// The logits forward returns must be the head's output, or rows of it: selecting rows
// (aten::index, select, slice over leading dimensions) commutes with a row-wise linear
// map, so the same selection applies to the head's input. *rows gets those selections;
// false, with *reason, when something else comes between.
bool RowSelectionsToLogits(Graph& graph, Node* head, std::vector<Node*>* rows, std::string* reason) {
  Value* out = graph.outputs().at(0);
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
  Value* logits = head->output();
  while (!is_output(logits)) {
    Node* next = logits->uses().size() == 1 ? logits->uses()[0].user : nullptr;
    const bool row_selection =
        next != nullptr && logits->uses()[0].offset == 0 && next->owningBlock() == graph.block() &&
        (next->kind() == c10::aten::index || ((next->kind() == c10::aten::select || next->kind() == c10::aten::slice) &&
                                              ConstantInt(next->input(1)).value_or(-1) >= 0));
    if (!row_selection) {
      Node* producer = out->node();
      if (producer->kind() == c10::prim::TupleConstruct && producer->inputs().size() > 0) {
        producer = producer->input(0)->node();
      }
      *reason = std::string("the logits forward returns are not the head's output (") +
                (next != nullptr ? next : producer)->kind().toQualString() + " comes after it)";
      return false;
    }
    rows->push_back(next);
    logits = next->output();
  }
  return true;
}

// The kind of a node after the head that may write to the head's input; empty when none.
std::string WriterAfterHead(const std::shared_ptr<Graph>& graph, Node* head) {
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
  return writer;
}

// Makes `graph` return the head's input under the same row selections as the logits.
void ReturnHeadInput(std::shared_ptr<Graph>& graph, Node* head, const std::vector<Node*>& rows) {
  Value* selected = head->input(0);
  for (Node* n : rows) {
    Value* from = n->input(0);
    Node* clone = graph->createClone(n, [&](Value* v) { return v == from ? selected : v; });
    clone->insertAfter(n);
    selected = clone->output();
  }
  while (!graph->outputs().empty()) graph->eraseOutput(0);
  graph->registerOutput(selected);
  torch::jit::EliminateDeadCode(graph);
}

}  // namespace

HeadInputGraph::HeadInputGraph(const torch::jit::Module& module, const std::string& weight, const std::string& bias) {
  std::shared_ptr<Graph> graph = InlinedForward(module, &reason_);
  if (!graph) return;
  Node* head = FindHead(*graph, weight, bias, &reason_);
  if (head == nullptr) return;
  std::vector<Node*> rows;  // the row selections between the head and the output
  if (!RowSelectionsToLogits(*graph, head, &rows, &reason_)) return;
  // Nothing after the head may change what it read.
  const std::string writer = WriterAfterHead(graph, head);
  if (!writer.empty()) {
    reason_ = "a node after the head (" + writer + ") may write to its input";
    return;
  }
  // The same row selections, on the head's input.
  ReturnHeadInput(graph, head, rows);
  executor_ = std::make_unique<torch::jit::GraphExecutor>(graph, "synapse_head_input");
}

at::Tensor HeadInputGraph::Run(std::vector<c10::IValue> inputs) const {
  executor_->run(inputs);
  return inputs.at(0).toTensor();
}

}  // namespace synapse
