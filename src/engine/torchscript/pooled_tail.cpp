// The pooled tail of ForwardStages: the last two segments rewritten so that the nodes
// between the last layer and the head's selection of one token run on that row only.
#include <torch/csrc/jit/ir/ir.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_set>

#include "engine/torchscript/forward_graph.h"
#include "engine/torchscript/forward_stages.h"

namespace synapse {
namespace {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

using Shapes = std::unordered_map<Value*, std::vector<int64_t>>;

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

// Which dimension of each tail value carries the tokens, from the shapes two probe runs
// with different token counts gave it.
class TokenDims {
 public:
  TokenDims(Graph& tail, const std::vector<c10::IValue>& probe_a, const std::vector<c10::IValue>& probe_b,
            int64_t tokens_a, int64_t tokens_b)
      : sa_(ProbeShapes(tail, probe_a)), sb_(ProbeShapes(tail, probe_b)), tokens_a_(tokens_a), tokens_b_(tokens_b) {}

  // The rank of a value (-1: not a tensor with one shape on both probes).
  int64_t Rank(Value* v) const {
    auto a = sa_.find(v), b = sb_.find(v);
    if (a == sa_.end() || b == sb_.end() || a->second.size() != b->second.size()) return -1;
    return static_cast<int64_t>(a->second.size());
  }
  // Dimension i of v is the token dimension: the probes' token counts there.
  bool TokenAt(Value* v, int64_t i) const {
    if (i < 0 || i >= Rank(v)) return false;
    return sa_.at(v)[static_cast<size_t>(i)] == tokens_a_ && sb_.at(v)[static_cast<size_t>(i)] == tokens_b_;
  }
  bool TokenFree(Value* v) const {
    if (v->type()->kind() != c10::TypeKind::TensorType) return true;
    const int64_t r = Rank(v);
    if (r < 0) return v->node()->kind() == c10::prim::Constant;  // None is no tensor
    for (int64_t i = 0; i < r; ++i) {
      if (TokenAt(v, i)) return false;
    }
    return true;
  }
  // v's shape on the first and on the second probe.
  const std::vector<int64_t>& ShapeA(Value* v) const { return sa_.at(v); }
  const std::vector<int64_t>& ShapeB(Value* v) const { return sb_.at(v); }

 private:
  const Shapes sa_;
  const Shapes sb_;
  const int64_t tokens_a_;
  const int64_t tokens_b_;
};

// Each input index of a row-wise node that carries the token dimension, with that input's
// token dimension.
using RowReads = std::vector<std::pair<size_t, int64_t>>;

// Whether a node is row-wise along dimension t of its output (runs the same on one row).
class RowWise {
 public:
  RowWise(const TokenDims& dims, Node* hook) : dims_(dims), hook_(hook) {}

  // Whether `n` is row-wise along dimension t of its output; *reads gets each input index
  // that carries the token dimension, with that input's token dimension.
  bool operator()(Node* n, int64_t t, RowReads* reads) const {
    reads->clear();
    if (n->outputs().size() != 1 || !n->blocks().empty()) return false;
    Value* out = n->output();
    const int64_t r = dims_.Rank(out);
    if (r < 0 || !dims_.TokenAt(out, t)) return false;
    const c10::Symbol kind = n->kind();
    if (n == hook_ || UnaryRowWise().count(kind) || kind == c10::aten::dropout || kind == c10::aten::linear ||
        kind == c10::aten::layer_norm || kind == c10::aten::softmax || kind == c10::aten::log_softmax) {
      return Pointwise(n, t, r, reads);
    }
    // The query side of attention: rows of A in A @ B are rows of the product; B (the
    // keys or values) is read whole.
    if (kind == c10::aten::matmul) {
      if (r < 2 || t != r - 2 || dims_.Rank(n->input(0)) != r || !dims_.TokenAt(n->input(0), t)) return false;
      reads->push_back({0, t});
      return true;
    }
    // By name: LibTorch 1.13 has no such operator (nor the interned symbol).
    static const c10::Symbol sdpa = c10::Symbol::fromQualString("aten::scaled_dot_product_attention");
    if (kind == sdpa) return Attention(n, t, r, reads);
    if (kind == c10::aten::transpose || kind == c10::aten::permute) return Permuted(n, t, r, reads);
    if (kind == c10::aten::view || kind == c10::aten::reshape) return Reshaped(n, t, r, reads);
    if (ElementwiseRowWise().count(kind)) return Elementwise(n, t, r, reads);
    return false;
  }

 private:
  bool RestTokenFree(Node* n, size_t from) const {
    for (size_t j = from; j < n->inputs().size(); ++j) {
      if (!dims_.TokenFree(n->input(j))) return false;
    }
    return true;
  }

  // The last layer's hook, activations, dropout in eval mode, linear, layer_norm and
  // softmax over another dimension: row-wise in their first input.
  bool Pointwise(Node* n, int64_t t, int64_t r, RowReads* reads) const {
    const c10::Symbol kind = n->kind();
    if (dims_.Rank(n->input(0)) != r || !dims_.TokenAt(n->input(0), t) || !RestTokenFree(n, 1)) return false;
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

  // Fused attention (LibTorch 2.x, Hugging Face's default "sdpa"): each query row's output
  // reads that query row, every key and value, and that row of the mask, so rows of the
  // query (its token dimension is the one before the head size) are rows of the output.
  // Only without dropout and without the causal flag, whose mask depends on where the row
  // sits; an explicit mask is sliced with the query, or read whole where it broadcasts.
  bool Attention(Node* n, int64_t t, int64_t r, RowReads* reads) const {
    if (r < 2 || t != r - 2 || n->inputs().size() < 6 || dims_.Rank(n->input(0)) != r ||
        !dims_.TokenAt(n->input(0), t)) {
      return false;
    }
    const c10::optional<c10::IValue> dropout = torch::jit::toIValue(n->input(4));
    const c10::optional<c10::IValue> causal = torch::jit::toIValue(n->input(5));
    if (!dropout || !dropout->isDouble() || dropout->toDouble() != 0.0) return false;
    if (!causal || !causal->isBool() || causal->toBool()) return false;
    reads->push_back({0, t});
    Value* mask = n->input(3);
    if (mask->type()->kind() == c10::TypeKind::NoneType) return true;
    const int64_t rm = dims_.Rank(mask);
    if (rm < 0) return mask->node()->kind() == c10::prim::Constant;
    const int64_t aligned = t - (r - rm);
    if (aligned >= 0 && dims_.TokenAt(mask, aligned)) {
      reads->push_back({3, aligned});
    } else if (aligned >= 0 && (dims_.ShapeA(mask)[static_cast<size_t>(aligned)] != 1 ||
                                dims_.ShapeB(mask)[static_cast<size_t>(aligned)] != 1)) {
      return false;
    }
    return true;
  }

  // transpose and permute: the token dimension moves.
  bool Permuted(Node* n, int64_t t, int64_t r, RowReads* reads) const {
    if (dims_.Rank(n->input(0)) != r) return false;
    int64_t from = t;
    if (n->kind() == c10::aten::transpose) {
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
    if (!dims_.TokenAt(n->input(0), from)) return false;
    reads->push_back({0, from});
    return true;
  }

  // A view or reshape that keeps every dimension up to the token one (it splits or merges
  // heads behind it): the same on one row, with the token size in its list set to 1.
  bool Reshaped(Node* n, int64_t t, int64_t r, RowReads* reads) const {
    Value* out = n->output();
    Value* x = n->input(0);
    Node* list = n->input(1)->node();
    if (list->kind() != c10::prim::ListConstruct || static_cast<int64_t>(list->inputs().size()) != r ||
        dims_.Rank(x) <= t || !dims_.TokenAt(x, t)) {
      return false;
    }
    for (int64_t i = 0; i <= t; ++i) {
      if (dims_.ShapeA(x)[static_cast<size_t>(i)] != dims_.ShapeA(out)[static_cast<size_t>(i)] ||
          dims_.ShapeB(x)[static_cast<size_t>(i)] != dims_.ShapeB(out)[static_cast<size_t>(i)]) {
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

  // Element-wise arithmetic whose operands have the token dimension, or size 1 there.
  bool Elementwise(Node* n, int64_t t, int64_t r, RowReads* reads) const {
    for (size_t j = 0; j < n->inputs().size(); ++j) {
      Value* u = n->input(j);
      if (u->type()->kind() != c10::TypeKind::TensorType) continue;  // a scalar
      const int64_t ru = dims_.Rank(u);
      if (ru < 0) {
        if (u->node()->kind() == c10::prim::Constant) continue;
        return false;
      }
      const int64_t aligned = t - (r - ru);
      if (aligned >= 0 && dims_.TokenAt(u, aligned)) {
        reads->push_back({j, aligned});
      } else if (aligned >= 0 && (dims_.ShapeA(u)[static_cast<size_t>(aligned)] != 1 ||
                                  dims_.ShapeB(u)[static_cast<size_t>(aligned)] != 1)) {
        // Broadcasting pairs dimensions by position: an operand of size 1 (or none) at
        // the token position is the same for every row (attention's key mask is one).
        return false;
      }
    }
    return !reads->empty();
  }

  const TokenDims& dims_;
  Node* hook_;
};

// A selection of one token row, and the nodes above it that can run on that row only.
struct RowPlan {
  Node* entry = nullptr;  // the node reading the source
  Node* select = nullptr;
  Value* source = nullptr;
  int64_t dim = 0, index = 0;
  std::vector<Node*> rows;  // nodes run on the row, in program order
  std::unordered_map<Node*, RowReads> reads;
};

// Whether `select` is select(dim d, index c) of a token dimension, behind full slices of
// earlier dimensions (`h[:, 0]` traces to slice(h, 0, 0, max, 1) then select(·, 1, 0));
// fills the plan's entry, select, source, dim and index.
bool SelectsOneToken(Node* select, const std::unordered_map<Node*, size_t>& position, const TokenDims& dims,
                     RowPlan* plan) {
  if (select->kind() != c10::aten::select) return false;
  const c10::optional<int64_t> d = ConstantInt(select->input(1));
  const c10::optional<int64_t> c = ConstantInt(select->input(2));
  if (!d || !c || *d < 0 || *c < 0) return false;
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
  if (!dims.TokenAt(source, *d)) return false;
  plan->entry = entry;
  plan->select = select;
  plan->source = source;
  plan->dim = *d;
  plan->index = *c;
  return true;
}

// Whether every use of `size` (an int read from a value's token dimension) ends as the
// token position of a view or reshape already on the row, which gets 1 there instead
// (through the NumToTensor / Int pairs a LibTorch 1.x trace puts around sizes).
bool OnlyTokenSizeOfRowViews(Value* size, const RowPlan& plan) {
  for (const torch::jit::Use& use : size->uses()) {
    Node* user = use.user;
    if (user->kind() == c10::prim::NumToTensor || user->kind() == c10::aten::Int) {
      if (user->outputs().size() != 1 || !OnlyTokenSizeOfRowViews(user->output(), plan)) return false;
      continue;
    }
    if (user->kind() != c10::prim::ListConstruct) return false;
    for (const torch::jit::Use& list_use : user->output()->uses()) {
      Node* view = list_use.user;
      auto reads = plan.reads.find(view);
      if ((view->kind() != c10::aten::view && view->kind() != c10::aten::reshape) || list_use.offset != 1 ||
          reads == plan.reads.end() || reads->second.front().second != static_cast<int64_t>(use.offset)) {
        return false;
      }
    }
  }
  return true;
}

// How many uses of `v` read only its shape, and read what the row keeps: aten::size of a
// dimension other than the token one `t` (the same on the row), or of the token one where
// only views on the row use it (OnlyTokenSizeOfRowViews). Hugging Face's code shapes its
// views from the tensors it reshapes (`x.size()[:-1] + (heads, head_size)`).
size_t ShapeReads(Value* v, int64_t t, const TokenDims& dims, const RowPlan& plan) {
  size_t count = 0;
  const int64_t r = dims.Rank(v);
  for (const torch::jit::Use& use : v->uses()) {
    Node* user = use.user;
    if (user->kind() != c10::aten::size || user->inputs().size() != 2 || use.offset != 0) continue;
    c10::optional<int64_t> d = ConstantInt(user->input(1));
    if (!d || r < 0) continue;
    if (*d < 0) *d += r;
    if (*d != t || OnlyTokenSizeOfRowViews(user->output(), plan)) ++count;
  }
  return count;
}

// From the selection upwards: a node runs on the row when everything that reads its
// output reads it on the row (or reads a size the row keeps), and it is row-wise.
void PushUp(const std::vector<Node*>& nodes, const std::unordered_map<Node*, size_t>& position, const TokenDims& dims,
            const RowWise& row_wise, RowPlan* plan) {
  std::unordered_map<Value*, std::vector<int64_t>> row_reads;  // value → token dim per row read
  row_reads[plan->source].push_back(plan->dim);
  for (size_t i = position.at(plan->entry); i-- > 0;) {
    Node* n = nodes[i];
    if (n->outputs().size() != 1) continue;
    auto it = row_reads.find(n->output());
    if (it == row_reads.end()) continue;
    if (it->second.size() + ShapeReads(n->output(), it->second.front(), dims, *plan) != n->output()->uses().size()) {
      continue;
    }
    const int64_t t = it->second.front();
    if (std::any_of(it->second.begin(), it->second.end(), [&](int64_t x) { return x != t; })) continue;
    RowReads reads;
    if (!row_wise(n, t, &reads)) continue;
    plan->rows.push_back(n);
    plan->reads[n] = reads;
    for (const auto& [j, tu] : reads) row_reads[n->input(j)].push_back(tu);
  }
  std::reverse(plan->rows.begin(), plan->rows.end());
}

// The selection of one token with the most nodes that can run on its row.
RowPlan BestRowPlan(const std::vector<Node*>& nodes, const TokenDims& dims, const RowWise& row_wise) {
  std::unordered_map<Node*, size_t> position;
  for (size_t i = 0; i < nodes.size(); ++i) position[nodes[i]] = i;
  RowPlan best;
  for (Node* select : nodes) {
    RowPlan plan;
    if (!SelectsOneToken(select, position, dims, &plan)) continue;
    PushUp(nodes, position, dims, row_wise, &plan);
    if (plan.rows.size() > best.rows.size()) best = std::move(plan);
  }
  return best;
}

// The rewrite, in place: the row nodes' outputs keep their rank with one row; what they
// read from outside gets sliced to that row; the selection takes row 0 of it. *counts
// gets the kinds run on the row, *stopped the kinds the push stopped at.
void RewriteOnRow(const std::shared_ptr<Graph>& tail, const RowPlan& best, Node* hook,
                  std::map<std::string, int>* counts, std::map<std::string, int>* stopped) {
  std::unordered_set<Node*> on_row(best.rows.begin(), best.rows.end());
  std::map<std::pair<Value*, int64_t>, Value*> sliced;
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
    (*stopped)[def->kind() == c10::prim::Param ? std::string("the tail's start") : def->kind().toQualString()]++;
    return sliced[{u, dim}] = s->output();
  };
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
    ++(*counts)[n == hook ? "the last layer's hook" : n->kind().toQualString()];
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
}

// The check: the same outputs as the untouched tail on both probes. Empty, or why the
// rewritten tail is refused.
std::string CompareOnProbes(torch::jit::GraphExecutor& reference, torch::jit::GraphExecutor& rewritten,
                            const std::vector<c10::IValue>& probe_a, const std::vector<c10::IValue>& probe_b) {
  for (const std::vector<c10::IValue>* probe : {&probe_a, &probe_b}) {
    std::vector<c10::IValue> want = *probe, got = *probe;
    reference.run(want);
    rewritten.run(got);
    std::vector<at::Tensor> w, g;
    for (const c10::IValue& v : want) Tensors(v, &w);
    for (const c10::IValue& v : got) Tensors(v, &g);
    if (w.size() != g.size()) return "refused: the rewritten tail returns other outputs";
    for (size_t i = 0; i < w.size(); ++i) {
      if (w[i].sizes() != g[i].sizes()) return "refused: the rewritten tail returns other shapes";
      const double scale = 1.0 + w[i].abs().max().item<double>();
      const double diff = (w[i].to(at::kDouble) - g[i].to(at::kDouble)).abs().max().item<double>();
      if (!(diff <= 1e-5 * scale)) return "refused: the rewritten tail's outputs differ by " + std::to_string(diff);
    }
  }
  return "";
}

}  // namespace

void ForwardStages::BuildPooledTail(const std::shared_ptr<Graph>& tail, int hook_index,
                                    const std::vector<c10::IValue>& probe_a, const std::vector<c10::IValue>& probe_b,
                                    int64_t tokens_a, int64_t tokens_b) {
  const TokenDims dims(*tail, probe_a, probe_b, tokens_a, tokens_b);
  std::vector<Node*> nodes(tail->nodes().begin(), tail->nodes().end());
  Node* hook =
      hook_index >= 0 && hook_index < static_cast<int>(nodes.size()) ? nodes[static_cast<size_t>(hook_index)] : nullptr;
  const RowWise row_wise(dims, hook);
  const RowPlan best = BestRowPlan(nodes, dims, row_wise);
  if (best.rows.empty()) {
    pooled_tail_summary_ = "no row-wise node feeds a selection of one token";
    return;
  }
  const std::shared_ptr<Graph> original = tail->copy();
  std::map<std::string, int> counts;
  std::map<std::string, int> stopped;  // kinds the push stopped at
  RewriteOnRow(tail, best, hook, &counts, &stopped);
  torch::jit::GraphExecutor reference(original, "synapse_tail_reference");
  auto executor = std::make_unique<torch::jit::GraphExecutor>(tail, "synapse_pooled_tail");
  const std::string refused = CompareOnProbes(reference, *executor, probe_a, probe_b);
  if (!refused.empty()) {
    pooled_tail_summary_ = refused;
    return;
  }
  pooled_tail_ = std::move(executor);
  pooled_tail_nodes_ = static_cast<int>(best.rows.size());
  std::string ran, at;
  for (const auto& [kind, count] : counts) ran += (ran.empty() ? "" : ", ") + kind + " ×" + std::to_string(count);
  for (const auto& [kind, count] : stopped) at += (at.empty() ? "" : ", ") + kind;
  pooled_tail_summary_ = std::to_string(best.rows.size()) + " nodes on token " + std::to_string(best.index) +
                         " only (" + ran + "); every token up to " + at;
}

}  // namespace synapse
