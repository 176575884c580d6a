// synapse inspect MODEL: what Synapse sees in a TorchScript model.
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "args.h"
#include "commands.h"
#include "synapse/model.h"

namespace synapse::cli {

int InspectCommand(int argc, char** argv) {
  std::string model_path, layers_glob, input_shape;
  bool as_json = false;
  int64_t threads = 0;
  ArgParser p("synapse inspect", "Show a model's inputs, output, layers (hook sites), classes and size.");
  p.Positional("MODEL", "TorchScript file (.pt), AOTInductor package (.pt2) or model directory", &model_path);
  p.Flag("--json", "print JSON instead of text", &as_json);
  p.Option("--layer-modules", "GLOB", "module paths of the layers, e.g. 'encoder.layers.*' (default: discovered)",
           &layers_glob);
  p.Option("--input-shape", "D,D,..", "shape of one example's float input, e.g. 16 or 3,32,32", &input_shape);
  p.Option("--threads", "N", "intra-op threads (default: all cores)", &threads);
  if (!p.Parse(argc, argv)) {
    std::cout << p.Help();
    return 0;
  }
  RuntimeInfo runtime = SetUpRuntime(threads);
  ModelOptions options;
  options.layers_glob(layers_glob);
  if (!input_shape.empty()) options.input_shape(ParseShape(input_shape, "--input-shape"));
  Model model = Model::Load(model_path, options);

  nlohmann::ordered_json j;
  j["model"] = model.path();
  j["inputs"] = {{"kind", model.inputs().kind == InputInfo::Kind::kTokens ? "tokens" : "float"},
                 {"arguments", model.inputs().argument_names}};
  if (!model.inputs().float_argument.empty()) j["inputs"]["float_argument"] = model.inputs().float_argument;
  j["output"] = model.output_kind().empty() ? "unknown" : model.output_kind();
  j["num_classes"] = model.num_classes();
  j["parameters"] = model.parameter_count();
  j["layers"] = nlohmann::json::array();
  for (const LayerInfo& l : model.layers()) {
    nlohmann::ordered_json layer = {
        {"index", l.index},  {"name", l.name}, {"module", l.module}, {"type", l.type}, {"hidden_size", l.hidden_size},
        {"layout", l.layout}};
    if (l.call >= 0) layer["call"] = l.call;  // one call of a weight-shared module
    j["layers"].push_back(layer);
  }
  j["runtime"] = {{"threads", runtime.threads},
                  {"blas", runtime.blas_vendor},
                  {"blas_library", runtime.blas_library},
                  {"gemm_gflops", runtime.gemm_gflops}};
  if (as_json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << "model       " << model.path() << "\n"
            << "inputs      ";
  for (size_t i = 0; i < model.inputs().argument_names.size(); ++i) {
    std::cout << (i ? ", " : "") << model.inputs().argument_names[i];
  }
  std::cout << (model.inputs().kind == InputInfo::Kind::kTokens ? "  (token ids)" : "  (one float tensor)") << "\n"
            << "output      logits from " << j["output"].get<std::string>() << ", "
            << (model.num_classes() >= 0 ? std::to_string(model.num_classes())
                : model.inputs().kind == InputInfo::Kind::kFloat
                    ? std::string("? (give --input-shape)")
                    : std::string("? (the load-time dry run failed; learnt from the first batch)"))
            << " classes\n"
            << "parameters  " << model.parameter_count() << "\n"
            << "layers      " << model.layers().size() << " hook sites (type " << model.layers().front().type
            << (model.layers().front().call >= 0 ? ", the calls of one weight-shared module" : "") << ")\n";
  size_t name_width = 32;
  for (const LayerInfo& l : model.layers()) name_width = std::max(name_width, l.name.size() + 1);
  for (const LayerInfo& l : model.layers()) {
    std::cout << "  " << std::setw(3) << l.index << "  " << std::left << std::setw(static_cast<int>(name_width))
              << l.name << std::right << " hidden "
              << (l.hidden_size < 0 ? std::string("?") : std::to_string(l.hidden_size)) << "  " << l.layout << "\n";
  }
  std::cout << "runtime     " << runtime.threads << " threads, BLAS " << runtime.blas_vendor << " (" << std::fixed
            << std::setprecision(1) << runtime.gemm_gflops << " GFLOP/s)\n";
  return 0;
}

}  // namespace synapse::cli
