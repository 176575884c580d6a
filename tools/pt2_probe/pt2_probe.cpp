// pt2_probe: a standalone proof that a synapse-export --format pt2 package can be hooked
// from C++ through its synapse::site custom operator (docs/pt2-prototype.md). Not part of
// the main build:
//
//   g++ -std=c++20 -O2 tools/pt2_probe/pt2_probe.cpp -o build-pt2/pt2_probe \
//       -I/usr/include/torch/csrc/api/include -ltorch -ltorch_cpu -lc10
//
//   pt2_probe check PACKAGE.pt2 REFS.pt      (a)-(e) against make_refs.py's eager references
//   pt2_probe bench PACKAGE.pt2 MODEL.pt BATCH SEQ ITERS [VOCAB]   .pt2 vs TorchScript, medians
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#include <torch/csrc/inductor/aoti_runner/model_container_runner.h>
#include <torch/library.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

// What the site kernel does on this thread: the engine would keep one of these per run
// (per thread: AOTInductor runs a CPU model on the caller's thread and calls the
// operator there, through its proxy executor).
struct SiteState {
  std::map<int64_t, at::Tensor>* capture = nullptr;  // site -> a copy of its tensor
  int64_t zero_site = -1;                             // site whose neurons are zeroed
  at::Tensor neurons;                                 // int64 indices on the last dim
  int64_t calls = 0;
};
thread_local SiteState g_state;

at::Tensor site_kernel(const at::Tensor& x, int64_t index) {
  SiteState& st = g_state;
  ++st.calls;
  // The schema promises a fresh tensor: the compiled code may reuse x's buffer after the
  // call, and reuses the output's buffer once it is dead (so captures are copies too).
  at::Tensor y = x.clone();
  if (index == st.zero_site) y.index_fill_(-1, st.neurons, 0);
  if (st.capture) (*st.capture)[index] = y.clone();
  return y;
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(synapse, m) { m.def("site(Tensor x, int index) -> Tensor"); }
TORCH_LIBRARY_IMPL(synapse, CPU, m) { m.impl("site", site_kernel); }

namespace {

using Loader = torch::inductor::AOTIModelPackageLoader;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, sep)) out.push_back(item);
  return out;
}

double max_diff(const at::Tensor& a, const at::Tensor& b) {
  if (a.sizes() != b.sizes()) return 1e30;
  return (a - b).abs().max().item<double>();
}

int failures = 0;
void report(const std::string& what, double diff, double tol = 1e-4) {
  bool ok = diff <= tol;
  if (!ok) ++failures;
  std::printf("%s %-44s max |diff| %.3g\n", ok ? "ok  " : "FAIL", what.c_str(), diff);
}

int check(const std::string& package, const std::string& refs_path) {
  torch::NoGradGuard no_grad;
  auto refs_module = torch::jit::load(refs_path);
  std::map<std::string, at::Tensor> refs;
  for (const auto& b : refs_module.named_buffers()) refs[b.name] = b.value;
  std::vector<at::Tensor> inputs;
  for (int i = 0; refs.count("input_" + std::to_string(i)); ++i) inputs.push_back(refs["input_" + std::to_string(i)]);
  at::Tensor neurons = refs["neurons"];

  Loader forward(package, "model");
  auto meta = forward.get_metadata();
  int n_sites = std::stoi(meta.at("synapse.num_sites"));
  int head_site = std::stoi(meta.at("synapse.head_site"));
  auto suffix_names = split(meta.at("synapse.suffix_models"), ',');
  std::printf("package %s: format %s, %d sites (head input: site %d), inputs %s, pooling %s, %zu constants\n",
              package.c_str(), meta.at("synapse.format_version").c_str(), n_sites, head_site,
              meta.at("synapse.inputs").c_str(), meta.at("synapse.pooling").c_str(),
              forward.get_constant_fqns().size());

  // (a) the forward model's logits; the kernel runs once per site.
  g_state = SiteState{};
  at::Tensor logits = forward.run(inputs)[0];
  report("(a) forward logits = eager", max_diff(logits, refs["logits"]));
  if (g_state.calls != n_sites) {
    ++failures;
    std::printf("FAIL the site kernel ran %lld times, expected %d\n", (long long)g_state.calls, n_sites);
  }

  // (b) capture: each site's tensor = the eager hooks' tensor.
  std::map<int64_t, at::Tensor> seen;
  g_state = SiteState{};
  g_state.capture = &seen;
  forward.run(inputs);
  g_state = SiteState{};
  double worst = 0;
  for (int i = 0; i < n_sites; ++i)
    worst = std::max(worst, seen.count(i) ? max_diff(seen[i], refs["capture_" + std::to_string(i)]) : 1e30);
  report("(b) captures at " + std::to_string(n_sites) + " sites = eager hooks", worst);

  // (c) zeroing neurons at one site, all positions = eager hook; (d) the suffix model from
  // that site, given the captured tensor with the same neurons zeroed = the same logits.
  double worst_c = 0, worst_d = 0, moved = 0;
  for (int i = 0; i < n_sites; ++i) {
    const at::Tensor& want = refs["zeroed_" + std::to_string(i)];
    moved = std::max(moved, max_diff(want, refs["logits"]));
    g_state = SiteState{};
    g_state.zero_site = i;
    g_state.neurons = neurons;
    at::Tensor got = forward.run(inputs)[0];
    g_state = SiteState{};
    double dc = max_diff(got, want);
    worst_c = std::max(worst_c, dc);
    if (dc > 1e-4) std::printf("     site %d: (c) %.3g\n", i, dc);

    Loader suffix(package, suffix_names.at(i));
    at::Tensor hidden = seen[i].clone();
    hidden.index_fill_(-1, neurons, 0);
    std::vector<at::Tensor> args{hidden};
    args.insert(args.end(), inputs.begin(), inputs.end());
    at::Tensor from_suffix = suffix.run(args)[0];
    double dd = max_diff(from_suffix, want);
    worst_d = std::max(worst_d, dd);
    if (dd > 1e-4) std::printf("     site %d: (d) %.3g\n", i, dd);
    // Unmodified capture: the suffix reproduces the plain logits.
    worst_d = std::max(worst_d, max_diff(suffix.run([&] {
                                             std::vector<at::Tensor> a{seen[i]};
                                             a.insert(a.end(), inputs.begin(), inputs.end());
                                             return a;
                                           }())[0],
                                           refs["logits"]));
  }
  report("(c) zero neurons at each site = eager hooks", worst_c);
  report("(d) suffix_i(modified capture) = full forward", worst_d);
  if (!(moved > 1e-3)) {
    ++failures;
    std::printf("FAIL zeroing moved the eager logits by only %.3g\n", moved);
  }

  // (e) weights: update_constant_buffer on the head Linear's weight (zeros: logits = bias).
  auto constants = forward.get_runner()->extract_constants_map(/*use_inactive=*/false);
  auto fqns = forward.get_runner()->getConstantNamesToOriginalFQNs();
  std::string head_name;
  for (const auto& [name, t] : constants)
    if (t.dim() == 2 && t.size(0) == logits.size(1)) head_name = name;
  if (head_name.empty()) {
    std::printf("skip (e): no constant shaped like the head's weight\n");
  } else {
    // extract_constants_map is keyed by original FQN (inner.classifier.weight), but
    // update_constant_buffer by the container's constant name (inner_classifier_weight).
    std::string internal;
    for (const auto& [name, fqn] : fqns)
      if (fqn == head_name) internal = name;
    at::Tensor original = constants[head_name].clone();
    std::unordered_map<std::string, at::Tensor> update{{internal, torch::zeros_like(original)}};
    forward.update_constant_buffer(update, /*use_inactive=*/false, /*validate_full_updates=*/false);
    at::Tensor zeroed = forward.run(inputs)[0];
    std::string bias_name = head_name.substr(0, head_name.size() - std::string("weight").size()) + "bias";
    at::Tensor expect = constants.count(bias_name) ? constants[bias_name].expand_as(zeroed) : torch::zeros_like(zeroed);
    double de = max_diff(zeroed, expect);
    if (de > 1e-4)
      std::printf("     (e) zeroed head weight: logits %s, expected %s, before %s\n",
                  [](at::Tensor t) { std::ostringstream o; o << t[0]; return o.str(); }(zeroed).c_str(),
                  [](at::Tensor t) { std::ostringstream o; o << t[0]; return o.str(); }(expect).c_str(),
                  [](at::Tensor t) { std::ostringstream o; o << t[0]; return o.str(); }(refs["logits"]).c_str());
    std::unordered_map<std::string, at::Tensor> restore{{internal, original}};
    forward.update_constant_buffer(restore, false, false);
    de = std::max(de, max_diff(forward.run(inputs)[0], refs["logits"]));
    report("(e) update_constant_buffer(" + internal + " = " + head_name + ")", de);
  }
  return failures ? 1 : 0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int bench(const std::string& package, const std::string& script, int64_t batch, int64_t seq, int iters,
          int64_t vocab) {
  torch::NoGradGuard no_grad;
  Loader pt2(package, "model");
  auto meta = pt2.get_metadata();
  size_t n_inputs = split(meta.at("synapse.inputs"), ',').size();
  auto ts = torch::jit::load(script);
  ts.eval();
  torch::manual_seed(7);
  std::vector<at::Tensor> inputs{torch::randint(5, vocab, {batch, seq}, torch::kLong),
                                 torch::ones({batch, seq}, torch::kLong)};
  if (n_inputs == 3) inputs.push_back(torch::zeros({batch, seq}, torch::kLong));
  std::vector<torch::jit::IValue> ts_inputs(inputs.begin(), inputs.end());
  // Warm-up (and the TorchScript profiling runs), then interleaved timed runs.
  at::Tensor a, b;
  for (int i = 0; i < 3; ++i) {
    a = pt2.run(inputs)[0];
    b = ts.forward(ts_inputs).toTensor();
  }
  std::vector<double> t_pt2, t_ts;
  for (int i = 0; i < iters; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    a = pt2.run(inputs)[0];
    auto t1 = std::chrono::steady_clock::now();
    b = ts.forward(ts_inputs).toTensor();
    auto t2 = std::chrono::steady_clock::now();
    t_pt2.push_back(std::chrono::duration<double>(t1 - t0).count());
    t_ts.push_back(std::chrono::duration<double>(t2 - t1).count());
  }
  std::printf("batch %lldx%lld, %d runs each, %d intra-op threads: .pt2 median %.4f s, TorchScript median %.4f s "
              "(ratio %.2f); logits max |diff| %.3g\n",
              (long long)batch, (long long)seq, iters, at::get_num_threads(), median(t_pt2), median(t_ts),
              median(t_pt2) / median(t_ts), max_diff(a, b));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.size() == 3 && args[0] == "check") return check(args[1], args[2]);
    if ((args.size() == 6 || args.size() == 7) && args[0] == "bench")
      return bench(args[1], args[2], std::stoll(args[3]), std::stoll(args[4]), std::stoi(args[5]),
                   args.size() == 7 ? std::stoll(args[6]) : 500);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pt2_probe: %s\n", std::string(e.what()).substr(0, 2000).c_str());
    return 3;
  }
  std::fprintf(stderr, "usage: pt2_probe check PACKAGE.pt2 REFS.pt | bench PACKAGE.pt2 MODEL.pt BATCH SEQ ITERS [VOCAB]\n");
  return 2;
}
