#include "synapse/experiment.h"

#include <sstream>

#include "util/number_text.h"

namespace synapse {

Experiment Experiment::Baseline() { return Experiment{}; }

Experiment Experiment::Ablate(int layer, Selection selection, int64_t k) {
  Experiment e;
  e.kind = Kind::kAblate;
  e.layer = layer;
  e.selection = selection;
  e.k = k;
  return e;
}

Experiment Experiment::Noise(int layer, double sigma) {
  Experiment e;
  e.kind = Kind::kNoise;
  e.layer = layer;
  e.sigma = sigma;
  return e;
}

Experiment Experiment::LogitShift(double budget) {
  Experiment e;
  e.kind = Kind::kLogitShift;
  e.budget = budget;
  return e;
}

Experiment Experiment::HeadWeightScale(int64_t class_index, Selection columns, int64_t k, double factor) {
  Experiment e;
  e.kind = Kind::kHeadWeightScale;
  e.class_index = class_index;
  e.selection = columns;
  e.k = k;
  e.factor = factor;
  return e;
}

namespace {

std::string ClassName(const std::vector<std::string>& names, int64_t c) {
  return c >= 0 && c < static_cast<int64_t>(names.size()) ? names[static_cast<size_t>(c)] : "?";
}

std::string DescribeLayerExperiment(const Experiment& e, const std::string& layer_name,
                                    const std::vector<std::string>& names) {
  using Selection = Experiment::Selection;
  std::ostringstream s;
  const std::string pooled = e.draws > 1 ? " (" + std::to_string(e.draws) + " draws pooled)" : "";
  if (e.kind == Experiment::Kind::kNoise) {
    s << "adding Gaussian noise of " << Shortest(e.sigma) << " × each neuron's std";
  } else {
    const char* op = e.to_mean ? "setting to their mean" : "zeroing";
    switch (e.selection) {
      case Selection::kTop:
        s << op << " the global top-" << e.k << " neurons";
        break;
      case Selection::kBottom:
        s << op << " the global bottom-" << e.k << " neurons";
        break;
      case Selection::kRandom:
        s << op << " " << e.k << " random neurons" << (e.draws > 1 ? pooled : " (1 draw)");
        break;
      case Selection::kClassTop:
        s << op << " class " << ClassName(names, e.class_index) << "'s top-" << e.k << " neurons";
        break;
      case Selection::kExplicit:
        s << op << " " << e.k << " chosen neurons";
        break;
    }
  }
  s << " of layer " << e.layer << " (" << layer_name << ")";
  s << (e.positions == Positions::kPooled ? " at the pooled token" : " at every token");
  if (e.kind == Experiment::Kind::kNoise) s << pooled;
  return s.str();
}

}  // namespace

std::string Describe(const Experiment& e, const std::string& layer_name, const std::vector<std::string>& class_names,
                     const std::string& parameter) {
  using Selection = Experiment::Selection;
  switch (e.kind) {
    case Experiment::Kind::kBaseline:
      return "";  // nothing was done: "with no intervention"
    case Experiment::Kind::kAblate:
    case Experiment::Kind::kNoise:
      return DescribeLayerExperiment(e, layer_name, class_names);
    case Experiment::Kind::kLogitShift:
      return "the worst change of at most " + Shortest(e.budget) + " to each logit (L∞)";
    case Experiment::Kind::kHeadWeightScale: {
      const char* which = e.selection == Selection::kTop      ? "largest "
                          : e.selection == Selection::kBottom ? "smallest "
                          : e.selection == Selection::kRandom ? "random "
                                                              : "chosen ";
      return "scaling class " + ClassName(class_names, e.class_index) + "'s " + std::to_string(e.k) + " " + which +
             "head weights (" + parameter + ") by " + Shortest(e.factor);
    }
  }
  return "";
}

}  // namespace synapse
