#include "engine/aoti/package.h"

#include <sys/stat.h>
#include <torch/library.h>
#include <torch/version.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "engine/model_impl.h"
#include "synapse/error.h"

#if __has_include(<torch/csrc/inductor/aoti_package/model_package_loader.h>) && \
    (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 6))
#define SYNAPSE_HAVE_AOTI 1
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#else
#define SYNAPSE_HAVE_AOTI 0
#endif

namespace synapse {
namespace aoti {

namespace {

thread_local SiteHandler* current_handler = nullptr;

const std::string kLibTorch = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                              std::to_string(TORCH_VERSION_PATCH);

#if SYNAPSE_HAVE_AOTI
// The kernel the compiled programs call at every site. The schema promises a fresh tensor
// (the generated code may reuse `x`'s buffer after the call), so an untouched `x` is copied.
at::Tensor SiteKernel(const at::Tensor& x, int64_t index) {
  SiteHandler* handler = current_handler;
  if (handler == nullptr) return x.clone();
  at::Tensor y = handler->OnSite(x, index);
  if (y.is_same(x) || (y.has_storage() && x.has_storage() && y.storage().is_alias_of(x.storage()))) return y.clone();
  return y;
}
#endif

}  // namespace

#if SYNAPSE_HAVE_AOTI
TORCH_LIBRARY_FRAGMENT(synapse, m) { m.def("site(Tensor x, int index) -> Tensor"); }
TORCH_LIBRARY_IMPL(synapse, CPU, m) { m.impl("site", SiteKernel); }
#endif

ScopedSiteHandler::ScopedSiteHandler(SiteHandler* handler) : previous_(current_handler) { current_handler = handler; }
ScopedSiteHandler::~ScopedSiteHandler() { current_handler = previous_; }

bool IsPackagePath(const std::string& path) {
  return path.size() >= 4 && path.compare(path.size() - 4, 4, ".pt2") == 0;
}

struct Package::Impl {
  std::string path;
  std::vector<Site> sites;
  std::vector<std::string> inputs;
  std::string pooling = "first";
  int64_t parameter_count = 0;
  std::string head_module;
  bool head_rows = true;
  int64_t min_tokens = 2;
  int64_t max_tokens = 0;
  int64_t vocab_size = 0;
  int64_t type_vocab_size = 0;
  std::vector<std::pair<std::string, at::Tensor>> parameters;
  int pooled_from = -1;
  int pooled_layer = -1;
  std::string pooled_summary = "none";
#if SYNAPSE_HAVE_AOTI
  std::unique_ptr<torch::inductor::AOTIModelPackageLoader> pooled_tail;
  std::unique_ptr<torch::inductor::AOTIModelPackageLoader> forward;
  /// segments[s]: the program from site s's output.
  std::vector<std::unique_ptr<torch::inductor::AOTIModelPackageLoader>> segments;
#endif
};

Package::Package(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Package::~Package() = default;

const std::vector<Site>& Package::sites() const { return impl_->sites; }
const std::vector<std::string>& Package::inputs() const { return impl_->inputs; }
const std::string& Package::pooling() const { return impl_->pooling; }
int64_t Package::parameter_count() const { return impl_->parameter_count; }
const std::string& Package::head_module() const { return impl_->head_module; }
bool Package::head_input_is_rows() const { return impl_->head_rows; }
int64_t Package::min_tokens() const { return impl_->min_tokens; }
int64_t Package::max_tokens() const { return impl_->max_tokens; }
int64_t Package::vocab_size() const { return impl_->vocab_size; }
int64_t Package::type_vocab_size() const { return impl_->type_vocab_size; }
const std::vector<std::pair<std::string, at::Tensor>>& Package::parameters() const { return impl_->parameters; }
bool Package::has_pooled_tail() const { return impl_->pooled_from >= 0; }
int Package::pooled_tail_from() const { return impl_->pooled_from; }
int Package::pooled_tail_layer() const { return impl_->pooled_layer; }
const std::string& Package::pooled_tail_summary() const { return impl_->pooled_summary; }

#if SYNAPSE_HAVE_AOTI

namespace {

using Loader = torch::inductor::AOTIModelPackageLoader;

std::unique_ptr<Loader> OpenProgram(const std::string& path, const std::string& name) {
  try {
    return std::make_unique<Loader>(path, name);
  } catch (const std::exception& e) {
    throw ModelError(102, path + ": cannot load the program \"" + name +
                              "\" of this AOTInductor package: " + SummarizeTorchError(e.what()));
  }
}

// The package's record (synapse-export's `synapse.json`), with the fields the engine needs
// checked; ModelError 102 naming the field otherwise.
nlohmann::json ReadRecord(const std::string& path, const std::unordered_map<std::string, std::string>& metadata) {
  auto it = metadata.find("synapse.json");
  if (it == metadata.end()) {
    throw ModelError(111, path +
                              ": an AOTInductor package without Synapse's sites (no synapse.json in its "
                              "metadata); export the model with `synapse-export SAVED_DIR OUT_DIR --format pt2`");
  }
  nlohmann::json record;
  try {
    record = nlohmann::json::parse(it->second);
  } catch (const std::exception& e) {
    throw ModelError(102, path + ": the package's synapse.json is not JSON: " + std::string(e.what()));
  }
  auto need = [&](const char* field, bool ok) {
    if (!ok) throw ModelError(102, path + ": the package's synapse.json has no valid \"" + std::string(field) + "\"");
  };
  need("format_version", record.contains("format_version") && record["format_version"].is_number_integer());
  if (record["format_version"].get<int>() != 1) {
    throw ModelError(111, path + ": package format version " + record["format_version"].dump() +
                              "; this Synapse reads version 1 (export the model again with this Synapse's "
                              "synapse-export)");
  }
  need("sites", record.contains("sites") && record["sites"].is_array() && record["sites"].size() >= 2);
  need("inputs", record.contains("inputs") && record["inputs"].is_array() && !record["inputs"].empty());
  need("segments", record.contains("segments") && record["segments"].is_array());
  need("head", record.contains("head") && record["head"].is_object() && record["head"].contains("module"));
  return record;
}

// This CPU's features as /proc/cpuinfo's "flags" line names them; empty without one.
std::set<std::string> CpuFlags() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    const size_t colon = line.find(':');
    if (line.rfind("flags", 0) != 0 || colon == std::string::npos) continue;
    std::istringstream words(line.substr(colon + 1));
    std::set<std::string> flags;
    for (std::string w; words >> w;) flags.insert(w);
    return flags;
  }
  return {};
}

// Compiled kernels use the vector instructions of the machine that exported the package
// (synapse-export --vector-isa, the record's "cpu_flags"); on a CPU without them they
// would die of SIGILL mid-run.
void CheckCpuFlags(const std::string& path, const nlohmann::json& record) {
  if (!record.contains("cpu_flags") || !record["cpu_flags"].is_array() || record["cpu_flags"].empty()) return;
  const std::set<std::string> cpu = CpuFlags();
  if (cpu.empty()) return;  // no cpuinfo to check against
  std::string needed, missing;
  for (const auto& f : record["cpu_flags"]) {
    if (!f.is_string()) continue;
    const std::string flag = f.get<std::string>();
    needed += (needed.empty() ? "" : " ") + flag;
    if (cpu.count(flag) == 0) missing += (missing.empty() ? "" : " ") + flag;
  }
  if (missing.empty()) return;
  throw ModelError(112, path + ": compiled for CPUs with " + needed + " (" +
                            record.value("vector_isa", std::string("the exporting machine's")) +
                            " kernels); this CPU lacks " + missing +
                            ": export the model again on this machine, or with `synapse-export ... --format pt2 "
                            "--vector-isa avx2` (or `none`) for older CPUs");
}

}  // namespace

std::unique_ptr<Package> Package::Open(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) throw ModelError(101, path + ": no such file");
  if (S_ISDIR(st.st_mode)) throw ModelError(101, path + ": is a directory, not a .pt2 package");
  if (!std::ifstream(path).good()) throw ModelError(101, path + ": cannot be read (permissions?)");
  if (st.st_size == 0) throw ModelError(102, path + ": is empty (0 bytes), not a .pt2 package");
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->forward = OpenProgram(path, "model");
  const nlohmann::json record = ReadRecord(path, impl->forward->get_metadata());
  CheckCpuFlags(path, record);
  // One copy of the weights for every program: the forward program's constants (by the
  // model's names) are the copy, and each other program, as soon as it is loaded, is
  // pointed at them and its own copy freed, so loading holds one program's extra copy at
  // most. A weight perturbation changes them in place, for every program.
  std::unordered_map<std::string, at::Tensor> shared = impl->forward->get_runner()->extract_constants_map(false);
  auto share = [&](Loader* program) {
    auto* runner = program->get_runner();
    const std::unordered_map<std::string, std::string> names = runner->getConstantNamesToOriginalFQNs();
    std::unordered_map<std::string, at::Tensor> update;
    for (const auto& [internal, fqn] : names) {
      auto it = shared.find(fqn);
      if (it != shared.end()) update[internal] = it->second;
    }
    if (update.size() == names.size()) {
      program->update_constant_buffer(update, /*use_inactive=*/true, /*validate_full_updates=*/false,
                                      /*user_managed=*/true);
      runner->swap_constant_buffer();
      runner->free_inactive_constant_buffer();
    } else {
      // A constant the forward program does not have (folded at compile time): keep this
      // program's buffer and point what we can at the shared copy.
      program->update_constant_buffer(update, /*use_inactive=*/false, /*validate_full_updates=*/false,
                                      /*user_managed=*/true);
    }
  };
  try {
    for (const auto& s : record["sites"]) {
      Site site;
      site.index = s.at("index").get<int>();
      site.name = s.at("name").get<std::string>();
      site.module = s.at("module").get<std::string>();
      site.call = s.at("call").get<int>();
      site.type = s.value("type", std::string("site"));
      site.head = s.at("kind").get<std::string>() == "head_input";
      site.width = s.value("hidden_size", int64_t{-1});
      if (site.index != static_cast<int>(impl->sites.size())) {
        throw ModelError(102, path + ": the package's sites are not numbered 0, 1, ... in order");
      }
      if (site.head) impl->head_rows = s.value("shape", std::string("rows")) == "rows";
      impl->sites.push_back(site);
    }
    if (!impl->sites.back().head) throw ModelError(102, path + ": the package's last site is not the head's input");
    // Calls are numbered only when a module is called several times.
    std::map<std::string, int> calls;
    for (const Site& s : impl->sites) ++calls[s.module];
    for (Site& s : impl->sites) {
      if (calls[s.module] == 1) s.call = -1;
    }
    for (const auto& i : record["inputs"]) impl->inputs.push_back(i.get<std::string>());
    impl->pooling = record.value("pooling", std::string("first"));
    impl->parameter_count = record.value("parameter_count", int64_t{0});
    impl->head_module = record["head"]["module"].get<std::string>();
    impl->min_tokens = record.value("min_length", int64_t{2});
    impl->max_tokens = record.at("max_length").get<int64_t>();
    impl->vocab_size = record.value("vocab_size", int64_t{0});
    impl->type_vocab_size = record.value("type_vocab_size", int64_t{0});
    impl->segments.resize(impl->sites.size());
    for (const auto& seg : record["segments"]) {
      const int from = seg.at("from_site").get<int>();
      if (from < 0 || from >= static_cast<int>(impl->sites.size())) {
        throw ModelError(102, path + ": a segment starts at site " + std::to_string(from) + ", which is no site");
      }
      impl->segments[static_cast<size_t>(from)] = OpenProgram(path, seg.at("model").get<std::string>());
      share(impl->segments[static_cast<size_t>(from)].get());
    }
    if (record.contains("pooled_tail") && record["pooled_tail"].is_object()) {
      const nlohmann::json& pooled = record["pooled_tail"];
      if (pooled.contains("model") && pooled["model"].is_string()) {
        const int from = pooled.at("from_site").get<int>();
        const int layer = pooled.at("skips_site").get<int>();
        if (from < 0 || layer != from + 1 || layer + 1 != static_cast<int>(impl->sites.size()) - 1) {
          throw ModelError(102, path + ": the package's pooled_tail does not span the last layer");
        }
        impl->pooled_tail = OpenProgram(path, pooled["model"].get<std::string>());
        share(impl->pooled_tail.get());
        impl->pooled_from = from;
        impl->pooled_layer = layer;
        impl->pooled_summary = "the last layer (" + impl->sites[static_cast<size_t>(layer)].name +
                               ") on the pooled token only: " + std::to_string(pooled.value("nodes_on_row", 0)) +
                               " nodes of the compiled pooled_tail program";
      } else {
        impl->pooled_summary = "none: " + pooled.value("reason", std::string("the package has no pooled_tail program"));
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(102, path + ": the package's synapse.json: " + std::string(e.what()));
  }
  for (size_t s = 0; s < impl->segments.size(); ++s) {
    if (!impl->segments[s]) {
      throw ModelError(102, path + ": the package has no program from site " + std::to_string(s) +
                                " (export it again with synapse-export --format pt2)");
    }
  }

  // The model's parameters, in its own order (the record lists them): every one must be a
  // constant the programs read, or a perturbation of it would change nothing.
  const std::string wrapper = "inner.";  // synapse-export's wrapper module
  if (!record.contains("parameters") || !record["parameters"].is_array()) {
    throw ModelError(102, path + ": the package's synapse.json has no valid \"parameters\"");
  }
  for (const auto& entry : record["parameters"]) {
    const std::string name = entry.is_string() ? entry.get<std::string>() : std::string();
    auto it = shared.find(wrapper + name);
    if (it == shared.end()) {
      throw ModelError(102, path + ": the package has no constant for the parameter \"" + name +
                                "\" (compiled into its code?); export it again with this Synapse's synapse-export");
    }
    impl->parameters.emplace_back(name, it->second);
  }
  return std::unique_ptr<Package>(new Package(std::move(impl)));
}

at::Tensor Package::Forward(const std::vector<at::Tensor>& inputs) const {
  std::vector<at::Tensor> out = impl_->forward->run(inputs);
  if (out.empty()) throw ModelError(105, impl_->path + ": the package's forward returned nothing");
  return out[0];
}

at::Tensor Package::Segment(int from_site, const at::Tensor& hidden, const std::vector<at::Tensor>& inputs) const {
  std::vector<at::Tensor> args;
  args.reserve(inputs.size() + 1);
  args.push_back(hidden.contiguous());
  args.insert(args.end(), inputs.begin(), inputs.end());
  std::vector<at::Tensor> out = impl_->segments.at(static_cast<size_t>(from_site))->run(args);
  if (out.empty()) throw ModelError(105, impl_->path + ": a program of the package returned nothing");
  return out[0];
}

at::Tensor Package::PooledTail(const at::Tensor& hidden, const std::vector<at::Tensor>& inputs) const {
  std::vector<at::Tensor> args;
  args.reserve(inputs.size() + 1);
  args.push_back(hidden.contiguous());
  args.insert(args.end(), inputs.begin(), inputs.end());
  std::vector<at::Tensor> out = impl_->pooled_tail->run(args);
  if (out.empty()) throw ModelError(105, impl_->path + ": the package's pooled_tail returned nothing");
  return out[0];
}

#else  // no AOTInductor package loader in this LibTorch

std::unique_ptr<Package> Package::Open(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) throw ModelError(101, path + ": no such file");
  throw ModelError(111, path + ": an AOTInductor package (.pt2); this Synapse is built with LibTorch " + kLibTorch +
                            ", which cannot load packages (LibTorch 2.6 or later can): build Synapse against a newer "
                            "LibTorch, or export the model as TorchScript (`synapse-export SAVED_DIR OUT_DIR "
                            "--format torchscript`)");
}

at::Tensor Package::Forward(const std::vector<at::Tensor>&) const { return {}; }
at::Tensor Package::Segment(int, const at::Tensor&, const std::vector<at::Tensor>&) const { return {}; }
at::Tensor Package::PooledTail(const at::Tensor&, const std::vector<at::Tensor>&) const { return {}; }

#endif

}  // namespace aoti
}  // namespace synapse
