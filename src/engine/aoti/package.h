// An AOTInductor package (`.pt2`) written by `synapse-export --format pt2` (private).
//
//   std::unique_ptr<aoti::Package> package = aoti::Package::Open("model.pt2");
//   MySites handler;                                   // an aoti::SiteHandler
//   aoti::ScopedSiteHandler scope(&handler);
//   at::Tensor logits = package->Forward({ids, mask});  // handler.OnSite at every site
//
// The package holds several compiled programs (docs/how-it-works.md, "AOTInductor
// packages"): `model`, the whole forward, which passes each layer's output and the head's
// input through the operator `synapse::site(Tensor x, int index)`; and one program per
// stretch between consecutive sites, from site S-1's output to what enters site S
// (`segment_S`), and from the head's input to the logits (`head`), which suffix execution
// chains. The operator's kernel is ours: it asks the thread's SiteHandler what to do.
//
// Every program reads the same weights: the forward program's constants, at which every
// other program is pointed as it loads (its own copy freed), so changing a tensor of
// parameters() in place changes what every program computes.
//
// Builds against a LibTorch without AOTInductor's package loader (before 2.6) compile this
// too: Open then throws ModelError 111 saying what to do.
#ifndef SYNAPSE_SRC_ENGINE_AOTI_PACKAGE_H_
#define SYNAPSE_SRC_ENGINE_AOTI_PACKAGE_H_

#include <ATen/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace synapse {
namespace aoti {

/// One site of the package: a layer call's output, or the head's input (the last site).
struct Site {
  int index = 0;
  /// "bert.encoder.layer.3"; for one call of a weight-shared module, "module@call".
  std::string name;
  std::string module;
  int call = -1;
  /// The module's class, "transformers.models.bert.modeling_bert.BertLayer".
  std::string type;
  bool head = false;
  int64_t width = -1;
};

/// What the site operator calls into while a program runs on this thread. Must not throw
/// (the error would cross the compiled code): keep it and return the input.
class SiteHandler {
 public:
  virtual ~SiteHandler() = default;
  /// The tensor the program goes on with at site `index` (may be `x` itself).
  virtual at::Tensor OnSite(const at::Tensor& x, int64_t index) = 0;
};

/// Installs `handler` for the current thread for the lifetime of this object.
class ScopedSiteHandler {
 public:
  explicit ScopedSiteHandler(SiteHandler* handler);
  ~ScopedSiteHandler();
  ScopedSiteHandler(const ScopedSiteHandler&) = delete;
  ScopedSiteHandler& operator=(const ScopedSiteHandler&) = delete;

 private:
  SiteHandler* previous_;
};

/// True when `path` ends in ".pt2".
bool IsPackagePath(const std::string& path);

class Package {
 public:
  /// Opens the package at `path`. ModelError 101 (unreadable), 111 (this LibTorch cannot
  /// load packages, or the package has no Synapse sites: what to do), 102 (not a package).
  static std::unique_ptr<Package> Open(const std::string& path);
  ~Package();
  Package(const Package&) = delete;
  Package& operator=(const Package&) = delete;

  /// Layers first, in call order; the head's input last.
  const std::vector<Site>& sites() const;
  int head_site() const { return static_cast<int>(sites().size()) - 1; }
  /// The forward's inputs, in order ("input_ids", "attention_mask"[, "token_type_ids"]).
  const std::vector<std::string>& inputs() const;
  /// "first" or "last": the token the head reads.
  const std::string& pooling() const;
  int64_t parameter_count() const;
  /// The head Linear's module path ("classifier", "classifier.out_proj", "score").
  const std::string& head_module() const;
  /// Whether the head's input is one row per example ([batch, width]).
  bool head_input_is_rows() const;
  /// The tokens a row may have (the exported range of the sequence dimension).
  int64_t min_tokens() const;
  int64_t max_tokens() const;
  /// Token ids and token types must be below these (0: not checked). The compiled code
  /// indexes its embeddings without a check it could report, so the engine checks first.
  int64_t vocab_size() const;
  int64_t type_vocab_size() const;
  /// The package's weights by the model's own names ("bert.encoder.layer.0.output.dense.weight"):
  /// the tensors the programs read.
  const std::vector<std::pair<std::string, at::Tensor>>& parameters() const;

  /// The pooled-row program, when the package has one: from site pooled_tail_from()'s
  /// output to the head's input, running the last layer (site pooled_tail_layer(), left
  /// out: no intervention there) on the pooled token only.
  bool has_pooled_tail() const;
  int pooled_tail_from() const;
  int pooled_tail_layer() const;
  /// What runs on the row, or why there is no such program.
  const std::string& pooled_tail_summary() const;
  at::Tensor PooledTail(const at::Tensor& hidden, const std::vector<at::Tensor>& inputs) const;

  /// Runs the whole forward; the thread's SiteHandler sees every site. Returns the logits.
  at::Tensor Forward(const std::vector<at::Tensor>& inputs) const;
  /// Runs the program that starts at site `from_site`'s output: what enters the next site,
  /// or, from the head site, the logits. No site operator runs in it.
  at::Tensor Segment(int from_site, const at::Tensor& hidden, const std::vector<at::Tensor>& inputs) const;

 private:
  struct Impl;
  explicit Package(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace aoti
}  // namespace synapse

#endif  // SYNAPSE_SRC_ENGINE_AOTI_PACKAGE_H_
