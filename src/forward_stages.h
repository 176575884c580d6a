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
#ifndef SYNAPSE_SRC_FORWARD_STAGES_H_
#define SYNAPSE_SRC_FORWARD_STAGES_H_

#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "hook.h"

namespace synapse {

class ForwardStages {
 public:
  /// Cuts `module`'s forward (hook operators already inserted). `sites` maps module
  /// instances and their calls to layers. Never throws: a model that cannot be cut at all
  /// gets no cuts and a reason.
  ForwardStages(const torch::jit::Module& module, const SiteMap& sites);

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

 private:
  std::vector<std::unique_ptr<torch::jit::GraphExecutor>> segments_;
  std::vector<int> cut_of_layer_;
  std::vector<int> cut_layers_;
  std::vector<std::vector<int>> calls_before_;
  std::string reason_;
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

#endif  // SYNAPSE_SRC_FORWARD_STAGES_H_
