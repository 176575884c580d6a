#include "engine/torchscript/layer_discovery.h"

#include <fnmatch.h>

#include <algorithm>
#include <functional>
#include <map>
#include <regex>

#include "engine/torchscript/hook.h"

namespace synapse {
namespace {

bool IsIndexName(const std::string& s) {
  return !s.empty() && s.size() < 9 && std::all_of(s.begin(), s.end(), ::isdigit);
}

std::vector<std::string> SplitDots(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot; (dot = s.find('.', start)) != std::string::npos; start = dot + 1) {
    parts.push_back(s.substr(start, dot - start));
  }
  parts.push_back(s.substr(start));
  return parts;
}

// A module path matches a glob component by component: `*` never crosses a dot, so
// "albert.encoder.albert_layer_groups.*" names the groups, not every module inside them.
bool MatchesModulePath(const std::vector<std::string>& glob, const std::string& name) {
  const std::vector<std::string> parts = SplitDots(name);
  if (parts.size() != glob.size()) return false;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (fnmatch(glob[i].c_str(), parts[i].c_str(), 0) != 0) return false;
  }
  return true;
}

bool HasChildren(const torch::jit::Module& m) { return m.children().size() > 0; }

// The object a value of `graph` (a method of `owner`) holds, when it is `self` followed by
// attribute reads.
c10::intrusive_ptr<c10::ivalue::Object> ResolveAttributes(torch::jit::Value* v, const torch::jit::Graph& graph,
                                                          c10::intrusive_ptr<c10::ivalue::Object> owner) {
  std::vector<std::string> names;
  while (v != graph.inputs().at(0)) {
    if (v->node()->kind() != c10::prim::GetAttr) return {};
    names.push_back(v->node()->s(c10::attr::name));
    v = v->node()->input(0);
  }
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    if (!owner->type()->hasAttribute(*it)) return {};
    c10::IValue attr = owner->getAttr(*it);
    if (!attr.isObject()) return {};
    owner = attr.toObject();
  }
  return owner;
}

// Whether some forward calls `target` from inside a loop (how a scripted weight-shared model
// runs its one layer N times).
bool CalledInLoop(const torch::jit::Module& root, const c10::ivalue::Object* target) {
  for (const auto& owner : root.named_modules()) {
    torch::jit::Function* forward = owner.value.type()->findMethod("forward");
    torch::jit::GraphFunction* function = forward ? torch::jit::tryToGraphFunction(*forward) : nullptr;
    if (function == nullptr) continue;
    const torch::jit::Graph& graph = *function->graph();
    std::function<bool(torch::jit::Block*, bool)> walk = [&](torch::jit::Block* block, bool in_loop) {
      for (torch::jit::Node* n : block->nodes()) {
        if (in_loop && n->kind() == c10::prim::CallMethod &&
            ResolveAttributes(n->input(0), graph, owner.value._ivalue()).get() == target) {
          return true;
        }
        for (torch::jit::Block* b : n->blocks()) {
          if (walk(b, in_loop || n->kind() == c10::prim::Loop)) return true;
        }
      }
      return false;
    };
    if (walk(function->graph()->block(), false)) return true;
  }
  return false;
}

}  // namespace

std::string ModuleTypeName(const torch::jit::Module& m) {
  static const std::regex mangle(R"(___torch_mangle_\d+\.)");
  std::string name = m.type()->name() ? m.type()->name()->qualifiedName() : m.type()->str();
  name = std::regex_replace(name, mangle, "");
  if (name.rfind("__torch__.", 0) == 0) name = name.substr(10);
  return name;
}

// Longest run of same-type siblings named 0..N-1 (N ≥ 2); ties go to the run with more
// submodules, so a model's blocks beat a Sequential of single Linear layers.
std::vector<std::pair<std::string, torch::jit::Module>> DiscoverLayers(const torch::jit::Module& root) {
  std::vector<std::pair<std::string, torch::jit::Module>> best;
  size_t best_size = 0;
  for (const auto& parent : root.named_modules()) {
    std::map<int, torch::jit::Module> numbered;
    for (const auto& child : parent.value.named_children()) {
      if (IsIndexName(child.name)) numbered.emplace(std::stoi(child.name), child.value);
    }
    std::vector<std::pair<std::string, torch::jit::Module>> run;
    for (int i = 0; numbered.count(i); ++i) {
      const torch::jit::Module& m = numbered.at(i);
      if (!run.empty() && ModuleTypeName(m) != ModuleTypeName(run.front().second)) break;
      std::string prefix = parent.name.empty() ? "" : parent.name + ".";
      run.emplace_back(prefix + std::to_string(i), m);
    }
    if (run.size() < 2) continue;
    size_t size = 0;
    for (const auto& r : run) size += r.second.modules().size();
    if (run.size() > best.size() || (run.size() == best.size() && size > best_size)) {
      best = run;
      best_size = size;
    }
  }
  return best;
}

std::vector<std::pair<std::string, torch::jit::Module>> GlobLayers(const torch::jit::Module& root,
                                                                   const std::string& glob) {
  std::vector<std::pair<std::string, torch::jit::Module>> out;
  const std::vector<std::string> components = SplitDots(glob);
  for (const auto& m : root.named_modules()) {
    if (!m.name.empty() && MatchesModulePath(components, m.name)) out.emplace_back(m.name, m.value);
  }
  // Order numbered siblings by number (named_modules lists "10" after "1" only by luck).
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    auto split = [](const std::string& n) {
      size_t dot = n.rfind('.');
      std::string last = dot == std::string::npos ? n : n.substr(dot + 1);
      return std::make_pair(dot == std::string::npos ? "" : n.substr(0, dot), last);
    };
    auto [pa, la] = split(a.first);
    auto [pb, lb] = split(b.first);
    if (pa == pb && IsIndexName(la) && IsIndexName(lb)) return std::stoi(la) < std::stoi(lb);
    return false;
  });
  return out;
}

// A weight-shared block: a module with submodules that one forward calls several times.
// Traced, each call is its own method (forward, forward1 …): the module with the most,
// outermost first. Scripted, a module called inside a loop. Empty when there is none.
std::vector<std::pair<std::string, torch::jit::Module>> DiscoverSharedLayer(const torch::jit::Module& root) {
  std::vector<std::pair<std::string, torch::jit::Module>> best;
  size_t best_calls = 1;
  for (const auto& m : root.named_modules()) {
    if (m.name.empty() || !HasChildren(m.value)) continue;
    size_t calls = 0;
    for (torch::jit::Function* method : m.value.type()->methods()) calls += IsForwardMethod(method->name()) ? 1 : 0;
    if (calls > best_calls) {  // named_modules lists parents first: ties keep the outermost
      best = {{m.name, m.value}};
      best_calls = calls;
    }
  }
  if (!best.empty()) return best;
  for (const auto& m : root.named_modules()) {
    if (!m.name.empty() && HasChildren(m.value) && CalledInLoop(root, m.value._ivalue().get())) {
      return {{m.name, m.value}};
    }
  }
  return {};
}

}  // namespace synapse
