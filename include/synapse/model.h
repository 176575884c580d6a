// A classifier with hook sites at every encoder layer: TorchScript, or an AOTInductor
// package (`.pt2`) whose compiled code calls Synapse at each layer.
//
//   auto model = synapse::Model::Load("model.pt");            // traced or scripted
//   for (const auto& layer : model.layers()) std::cout << layer.name << "\n";
//   std::vector<synapse::Example> batch = {synapse::Example::Tokens({2, 17, 42, 3})};
//   auto base = model.Run(batch);                                // logits: 1 × classes
//   auto hit = model.Run(batch, {synapse::ParseIntervention("-1:zero:0-9")});
//
// Loading rewrites the forward graph of every layer module so that a custom operator
// (`synapse::hook`) sees its output; the operator finds the layer by module *instance*
// and by call, so layers that share one class type (and one graph) are still told apart,
// and a weight-shared module called N times in one forward (ALBERT) is N layers. With no
// intervention active the operator returns its input untouched.
#ifndef SYNAPSE_MODEL_H_
#define SYNAPSE_MODEL_H_

#include <Eigen/Core>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "synapse/example.h"
#include "synapse/intervention.h"
#include "synapse/options.h"

namespace synapse {

/// How a model is loaded.
struct ModelOptions {
  /// Glob over module paths that selects the layers, e.g. "encoder.layers.*"; empty
  /// means discovery: the longest run of same-type siblings named 0..N-1.
  SYNAPSE_ARG(std::string, layers_glob);
  /// Shape of one example's float input (e.g. {16}); lets float-input models be
  /// inspected before any data is seen. Ignored for token models.
  SYNAPSE_ARG(std::vector<int64_t>, input_shape);
  /// Token ids of one example for the load-time dry run, which counts the calls of each
  /// layer module and learns widths, layouts and the number of classes. Empty: ids 5..9,
  /// real tokens in any vocabulary of ten or more. The CLI passes the first row of the data.
  SYNAPSE_ARG(std::vector<int64_t>, dry_run_ids);
  /// Insert hook operators. false gives the untouched model (benchmarks compare the two);
  /// layer interventions then throw.
  SYNAPSE_ARG(bool, install_hooks) = true;
};

/// How one batch is run.
struct RunOptions {
  /// The pooled position (kFirst: [CLS]; kLast: last real token) and capture pooling.
  SYNAPSE_ARG(Pooling, pool) = Pooling::kFirst;
  /// Seed of noise interventions.
  SYNAPSE_ARG(uint64_t, seed) = 0;
  /// Token id used to pad shorter sequences.
  SYNAPSE_ARG(int64_t, pad_id) = 0;
  /// Index of the batch's first example in the whole data set (seeds noise per example);
  /// examples are numbered consecutively from it.
  SYNAPSE_ARG(int64_t, first_example_index) = 0;
  /// The data-set index of every example, when a batch is not consecutive (e.g. sorted by
  /// length); overrides first_example_index.
  SYNAPSE_ARG(std::vector<int64_t>, example_indices);
};

/// The model's inputs, read from its forward signature.
struct InputInfo {
  enum class Kind { kTokens, kFloat };
  Kind kind = Kind::kTokens;
  /// Forward's argument names after `self`, in order.
  std::vector<std::string> argument_names;
  /// For kFloat: the name of the float argument (e.g. "pixel_values").
  std::string float_argument;
};

/// One discovered layer: a hook site, where a hidden state leaves a block during one
/// forward. Usually one module instance; for a weight-shared module called N times in one
/// forward (ALBERT's layer group), one layer per call.
struct LayerInfo {
  int index = 0;
  /// Module path, e.g. "bert.encoder.layer.3"; for one call of a module called several
  /// times, the path and the call, e.g. "albert.encoder.albert_layer_groups.0@2".
  std::string name;
  /// The module path alone.
  std::string module;
  /// Which call of the module this layer is (0-based, in the order of one forward); -1
  /// when the module is called once.
  int call = -1;
  /// Class type of the module, without TorchScript's name mangling.
  std::string type;
  /// Size of the output's last dimension; -1 until known (float models without input_shape).
  int64_t hidden_size = -1;
  /// "batch_first", "sequence_first", "nested", "vector" or "unknown".
  std::string layout = "unknown";
};

/// What a forward pass returns.
struct RunResult {
  /// examples × classes, after logit interventions.
  Eigen::MatrixXf logits;
  /// Layer index → examples × hidden pooled vectors, for every Capture intervention.
  std::map<int, Eigen::MatrixXf> captures;
};

/// How RunEach shares work between the plans of one batch (suffix execution).
struct SuffixExecution {
  /// Layers whose plans run only the part of forward after the layer's output; plans
  /// whose first intervened layer is elsewhere run the whole forward.
  std::vector<int> layers;
  /// Why the other layers (or all of them) fall back to the whole forward; empty when
  /// every layer is cut.
  std::string fallback_reason;
  /// The layer that plans starting before it, and leaving it alone, run only at the rows
  /// the output reads (the pooled token); -1 when there is none.
  int pooled_rows_layer = -1;
  /// What runs on the pooled row only and where the push stopped, or why it did not apply.
  std::string pooled_rows;
};

/// The values crossing every cut of the unperturbed forward, kept across RunEach calls on
/// the same batches (one model, one example set: batches are told apart by their examples'
/// indices and the pad id), so that a later plan on a batch starts from its cut without
/// running the prefix again. Holds at most `max_bytes` of tensors; a batch that does not
/// fit runs its unperturbed pass each time, as without a cache. Entries are dropped when
/// the model's parameters change (WeightPerturbation on the live model). Thread-safe.
class SuffixCache {
 public:
  explicit SuffixCache(int64_t max_bytes);
  ~SuffixCache();
  SuffixCache(const SuffixCache&) = delete;
  SuffixCache& operator=(const SuffixCache&) = delete;

  /// Bytes of tensors held.
  int64_t bytes() const;
  /// Batches served from the cache, and batches whose unperturbed pass ran.
  int64_t hits() const;
  int64_t misses() const;

 private:
  friend class Model;
  struct State;
  std::unique_ptr<State> state_;
};

namespace internal {
struct ModelAccess;
}  // namespace internal

class Model {
 public:
  /// Loads a TorchScript file in eval and inference mode and installs hook sites; or an
  /// AOTInductor package (`.pt2`, from `synapse-export --format pt2`; LibTorch 2.6 or
  /// later), whose sites are its layers; or a model directory holding either (model.pt
  /// first). Throws ModelError: 101 unreadable, 102 not TorchScript / not a package, 103
  /// unsupported forward, 104 no layers, 105 unsupported output, 106 forward failed, 110
  /// exported by a newer PyTorch, 111 a package this build cannot read (what to do).
  static Model Load(const std::string& path, const ModelOptions& options = ModelOptions());

  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();

  const std::string& path() const;
  const InputInfo& inputs() const;
  const std::vector<LayerInfo>& layers() const;
  /// Number of classes, from a dry run; -1 until known.
  int64_t num_classes() const;
  int64_t parameter_count() const;
  /// How the output logits are read: "tensor", "tuple[0]" or "dict[logits]".
  const std::string& output_kind() const;

  /// Index of `site` in layers(); throws SpecError 304 when there is no such layer.
  int ResolveLayer(const Site& site) const;

  /// Runs one batch with the interventions applied. Examples are padded with
  /// options.pad_id(); outputs are in input order. Throws DataError for inputs the model
  /// cannot take, SpecError for interventions it cannot apply, ModelError 106 when the
  /// forward pass itself fails.
  RunResult Run(const std::vector<Example>& batch, const std::vector<Intervention>& interventions = {},
                const RunOptions& options = RunOptions()) const;

  /// Runs one batch under each plan (the interventions of one configuration, applied
  /// together). The results equal Run(batch, plan, options) for every plan, but nothing is
  /// computed twice: the unperturbed forward runs once, keeping the values that cross each
  /// layer's output, and each plan runs only the part of forward after its first
  /// intervened layer (a plan at the last layer costs about the classification head; a
  /// plan of logit shifts only, no pass at all). See suffix_execution().
  std::vector<RunResult> RunEach(const std::vector<Example>& batch, const std::vector<std::vector<Intervention>>& plans,
                                 const RunOptions& options = RunOptions(), SuffixCache* cache = nullptr) const;

  /// Which layers RunEach can start a plan at, and why the others cannot (control flow
  /// around a layer, a later in-place write to an earlier value). Cuts the graph on the
  /// first call.
  SuffixExecution suffix_execution() const;

  /// Names and shapes of every parameter, in module order.
  std::vector<std::pair<std::string, std::vector<int64_t>>> parameters() const;
  /// A copy of a parameter's current values: a matrix as rows × columns, a vector as one
  /// column, higher ranks flattened to dim0 × rest. Throws ModelError 107 for an unknown name.
  Eigen::MatrixXf ParameterValues(const std::string& name) const;

  class Impl;

 private:
  // The engine's own sources reach the implementation through it (src/engine/model_impl.h).
  friend struct internal::ModelAccess;
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace synapse

#endif  // SYNAPSE_MODEL_H_
