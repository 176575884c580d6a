// Suffix execution: the model's forward graph cut at its hook sites (private).
//
// An intervention at layer L cannot change anything the forward pass computes before L's
// hook. ForwardStages inlines the (hooked) forward graph and cuts its top-level node list
// just before each layer's hook operator, giving segments 0..K: segment 0 runs from the
// inputs to the first cut, segment k from cut k-1 to cut k, segment K from the last cut to
// the outputs. Each segment is its own graph whose inputs are the values that cross the
// cut before it and whose outputs are those that cross the cut after it.
//
// A sweep runs all segments once per batch (the baseline), keeps the values crossing each
// cut, and runs only segments k+1..K for a configuration whose earliest intervention is at
// the layer of cut k. Identical ops on identical inputs: the logits equal the full
// forward's.
//
// A layer gets no cut (its configurations fall back to the full forward) when its hook
// sits inside control flow (prim::If, prim::Loop), or when a node after the cut could
// write to a value that crosses it (alias analysis), since running the suffix twice would
// then see the first run's writes. A forward that sets module attributes gets no cuts.
//
// A module called several times (weight-shared layers) is several layers, one per call.
// In a traced model each call is its own inlined copy of the module's graph, so the k-th
// hook of that module in the inlined graph is its k-th call and gets its own cut; a run
// started at a cut counts the calls made before it (CallsBefore). When the calls run in a
// loop (a scripted ALBERT), one hook stands for all of them and no cut is possible.
//
// The last layer's rows. The classification head usually reads one row per example of the
// last layer's output (the [CLS] token: `h[:, 0]`), so a plan that changes nothing at the
// last layer needs the last layer only at that row. The pooled tail is the graph of the
// last two segments (from the second-to-last cut to the outputs) with that selection
// pushed up: every node between the last layer's output and the selection that is
// row-wise along the token dimension (linear, layer_norm, activations, dropout, element-
// wise arithmetic with operands of size 1 at the token position, softmax over another
// dimension, transpose and permute, a view or reshape that keeps every dimension up to the
// token one, the left operand of matmul, the last layer's own hook) runs on the selected
// row only, and each token-carrying value it reads from above gets sliced to that row (kept
// as a dimension of size 1; views get 1 at the token position of their size list). The push
// stops at anything else (a reduction over tokens, control flow, an unknown op) and at any
// other hook; the keys and values of attention, read whole by matmul's right operand, still
// see every token. Which
// dimension of each value is the token dimension comes from two probe runs with different
// token counts; the rewrite is then checked against the untouched tail on both probes and
// refused if the logits differ by more than float rounding.
#ifndef SYNAPSE_SRC_ENGINE_TORCHSCRIPT_FORWARD_STAGES_H_
#define SYNAPSE_SRC_ENGINE_TORCHSCRIPT_FORWARD_STAGES_H_

#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/torchscript/hook.h"

namespace synapse {

class ForwardStages {
 public:
  /// Cuts `module`'s forward (hook operators already inserted). `sites` maps module
  /// instances and their calls to layers. Never throws: a model that cannot be cut at all
  /// gets no cuts and a reason.
  ForwardStages(const torch::jit::Module& module, const SiteMap& sites);
  /// As above, with the pooled tail: `probe(tokens)` gives forward's arguments (`self`
  /// first) for a small batch of `tokens` tokens per example, or nothing (float models).
  ForwardStages(const torch::jit::Module& module, const SiteMap& sites,
                const std::function<std::vector<c10::IValue>(int64_t tokens)>& probe);

  /// Number of cuts K (segments: K + 1).
  int cuts() const { return static_cast<int>(cut_layers_.size()); }
  /// The cut just before `layer`'s hook, or -1 when the layer has none.
  int CutOf(int layer) const { return cut_of_layer_[static_cast<size_t>(layer)]; }
  /// How many times each hooked module (by SiteMap module index) has been called when a
  /// run reaches cut `cut`.
  const std::vector<int>& CallsBefore(int cut) const { return calls_before_[static_cast<size_t>(cut)]; }
  /// Why some layers (or all) have no cut; empty when every layer has one.
  const std::string& reason() const { return reason_; }

  /// Runs segment `segment` on `values` (the values crossing the cut before it; for
  /// segment 0 the forward's arguments, `self` first), leaving on `values` the values
  /// crossing the cut after it (for the last segment, forward's output).
  void RunSegment(int segment, std::vector<c10::IValue>* values) const;

  /// The cut the pooled tail starts at (it stands for segments pooled_tail_from() + 1 ..
  /// cuts()), or -1 when there is none.
  int pooled_tail_from() const { return pooled_tail_from_; }
  /// The layer a plan must leave alone to run the pooled tail (the last cut's layer).
  int pooled_tail_layer() const { return pooled_tail_layer_; }
  /// Nodes the pooled tail runs on one row instead of every token.
  int pooled_tail_nodes() const { return pooled_tail_nodes_; }
  /// What the pooled tail does, or why there is none.
  const std::string& pooled_tail_summary() const { return pooled_tail_summary_; }
  /// Runs the pooled tail on the values crossing cut pooled_tail_from(); leaves forward's
  /// output.
  void RunPooledTail(std::vector<c10::IValue>* values) const;

 private:
  struct CutGraph;  // the inlined forward and its cuts, while the constructor builds (forward_stages.cpp)
  /// One executor per segment, and each cut's layer and calls before it.
  void BuildSegments(const CutGraph& cut);
  /// The pooled tail when `probe` gives token batches and the last two layers have cuts.
  void TryPooledTail(const CutGraph& cut, const std::function<std::vector<c10::IValue>(int64_t tokens)>& probe);
  /// Appends to reason_ why each layer without a cut has none.
  void ExplainUncutLayers(const std::map<int, std::string>& refused);
  /// Rewrites `tail` to run on the selected row (pooled_tail.cpp).
  void BuildPooledTail(const std::shared_ptr<torch::jit::Graph>& tail, int hook_position_in_tail,
                       const std::vector<c10::IValue>& probe_a, const std::vector<c10::IValue>& probe_b,
                       int64_t tokens_a, int64_t tokens_b);

  std::vector<std::unique_ptr<torch::jit::GraphExecutor>> segments_;
  std::vector<int> cut_of_layer_;
  std::vector<int> cut_layers_;
  std::vector<std::vector<int>> calls_before_;
  std::string reason_;
  std::unique_ptr<torch::jit::GraphExecutor> pooled_tail_;
  int pooled_tail_from_ = -1;
  int pooled_tail_layer_ = -1;
  int pooled_tail_nodes_ = 0;
  std::string pooled_tail_summary_;
};

/// The forward graph up to the input of the classification head, for scoring changes to
/// the head's own parameters without running the model: when the logits forward returns
/// are aten::linear(x, weight, bias) of the head's parameters, and nothing else reads those
/// parameters, the logits under any change to them are that op on the same x.
///
/// Refused (available() false, reason() says why) when the head's weight does not feed one
/// aten::linear at the top level of forward, when the bias given is not that node's, when
/// anything else reads either parameter, when the logits forward returns are not that
/// node's output (a log_softmax after it, say), or when a later node may write to x.
class HeadInputGraph {
 public:
  /// `weight` and `bias` are parameter paths ("classifier.weight"); `bias` empty when the
  /// head has none.
  HeadInputGraph(const torch::jit::Module& module, const std::string& weight, const std::string& bias);

  bool available() const { return executor_ != nullptr; }
  const std::string& reason() const { return reason_; }

  /// Runs forward on `inputs` (`self` first) up to the head; returns the head's input.
  at::Tensor Run(std::vector<c10::IValue> inputs) const;

 private:
  std::unique_ptr<torch::jit::GraphExecutor> executor_;
  std::string reason_;
};

}  // namespace synapse

#endif  // SYNAPSE_SRC_ENGINE_TORCHSCRIPT_FORWARD_STAGES_H_
