// synapse predict: logits and predictions for every row, optionally under interventions.
#include <chrono>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "args.h"
#include "atomic_file.h"
#include "commands.h"
#include "synapse/dataset.h"
#include "synapse/error.h"
#include "synapse/model.h"

namespace synapse::cli {
namespace {

constexpr const char* kSpecHelp =
    "SPEC = SITE:OP[=ARG]:NEURONS[:POSITIONS]\n"
    "  SITE       layer index (negative counts from the end), layer name, or logits\n"
    "  OP         zero | const=V | scale=F | noise=SIGMA (seeded by --seed) | shift (logits only)\n"
    "  NEURONS    all, or a list like 1,5,9-12; for shift, one value per class\n"
    "  POSITIONS  all (default: every real token) | pooled (the --pool position only)\n"
    "examples:\n"
    "  -i 3:zero:1,5,9            zero neurons 1, 5 and 9 of layer 3 at every token\n"
    "  -i -1:scale=2:all:pooled   double the last layer's pooled vector\n"
    "  -i logits:shift:0,0.5,-0.5 add 0.5 to class 1's logit and -0.5 to class 2's\n"
    "\n"
    "Rows are JSONL: {\"input_ids\": [...], \"attention_mask\": [...]?, \"token_type_ids\": [...]?,\n"
    "\"label\": ...?} or {\"features\": [...], \"label\": ...?}. Output rows, in input order:\n"
    "{\"index\": i, \"pred\": p, \"logits\": [...], \"label\": ...}.\n";

Pooling ParsePooling(const std::string& text) {
  if (text == "first") return Pooling::kFirst;
  if (text == "last") return Pooling::kLast;
  throw UsageError(401, "--pool: expected first or last, got \"" + text + "\"");
}

}  // namespace

int PredictCommand(int argc, char** argv) {
  std::string model_path, data_path, out_path, pool = "first", layers_glob;
  std::vector<std::string> specs;
  int64_t seed = 0, batch_size = 32, threads = 0, pad_id = 0;
  ArgParser p("synapse predict", "Run a model over JSONL rows and write one prediction per row.");
  p.Option("--model", "M", "TorchScript file", &model_path, true);
  p.Option("--data", "D", "JSONL rows (pre-tokenized, or float features)", &data_path, true);
  p.Repeated("--intervene", "-i", "SPEC", "an intervention (see below)", &specs);
  p.Option("--out", "FILE", "write JSONL predictions here (default: stdout)", &out_path);
  p.Option("--pool", "first|last", "the pooled position: first token ([CLS], default) or last real token", &pool);
  p.Option("--seed", "N", "seed of noise interventions (default 0)", &seed);
  p.Option("--batch-size", "N", "examples per forward pass (default 32)", &batch_size);
  p.Option("--pad-id", "N", "token id used for padding (default 0)", &pad_id);
  p.Option("--layers", "GLOB", "module paths of the layers (default: discovered)", &layers_glob);
  p.Option("--threads", "N", "intra-op threads (default: all cores)", &threads);
  p.Epilog(kSpecHelp);
  if (!p.Parse(argc, argv)) {
    std::cout << p.Help();
    return 0;
  }
  if (batch_size < 1) throw UsageError(401, "--batch-size must be at least 1");

  std::vector<Intervention> interventions;
  for (const std::string& s : specs) interventions.push_back(ParseIntervention(s));
  RunOptions run;
  run.pool(ParsePooling(pool)).seed(static_cast<uint64_t>(seed)).pad_id(pad_id);

  RuntimeInfo runtime = SetUpRuntime(threads);
  std::vector<DataRow> rows = ReadJsonlRows(data_path);
  Model model = Model::Load(model_path, ModelOptions().layers_glob(layers_glob));

  auto start = std::chrono::steady_clock::now();
  std::ostringstream out;
  int64_t labelled = 0, correct = 0;
  for (size_t first = 0; first < rows.size(); first += static_cast<size_t>(batch_size)) {
    size_t last = std::min(rows.size(), first + static_cast<size_t>(batch_size));
    std::vector<Example> batch;
    for (size_t i = first; i < last; ++i) batch.push_back(rows[i].example);
    run.first_example_index(static_cast<int64_t>(first));
    RunResult result;
    try {
      result = model.Run(batch, interventions, run);
    } catch (const DataError& e) {
      throw DataError(e.id(), data_path + " (rows " + std::to_string(rows[first].line) + "-" +
                                  std::to_string(rows[last - 1].line) + "): " +
                                  std::string(e.what()).substr(std::string(e.what()).find("] ") + 2));
    }
    for (size_t i = first; i < last; ++i) {
      Eigen::Index r = static_cast<Eigen::Index>(i - first);
      Eigen::Index pred;
      result.logits.row(r).maxCoeff(&pred);
      nlohmann::ordered_json row;
      row["index"] = i;
      row["pred"] = pred;
      row["logits"] = nlohmann::json::array();
      for (Eigen::Index c = 0; c < result.logits.cols(); ++c) row["logits"].push_back(result.logits(r, c));
      if (!rows[i].label_json.empty()) {
        row["label"] = nlohmann::json::parse(rows[i].label_json);
        if (rows[i].label_index >= 0) {
          ++labelled;
          correct += rows[i].label_index == pred;
        }
      }
      out << row.dump() << "\n";
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (out_path.empty()) {
    std::cout << out.str();
  } else {
    WriteFileAtomically(out_path, out.str());
  }
  std::cerr << "synapse: " << rows.size() << " rows, " << interventions.size() << " intervention(s), "
            << runtime.threads << " threads, " << std::fixed << std::setprecision(2) << seconds << " s";
  if (labelled > 0) {
    std::cerr << "; accuracy " << std::setprecision(4) << static_cast<double>(correct) / labelled << " on "
              << labelled << " labelled rows";
  }
  if (!out_path.empty()) std::cerr << "; wrote " << out_path;
  std::cerr << "\n";
  return 0;
}

}  // namespace synapse::cli
