// synapse predict: logits and predictions for every row, optionally under interventions.
#include <chrono>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "args.h"
#include "data/batching.h"
#include "commands.h"
#include "default_model.h"
#include "rows.h"
#include "util/atomic_file.h"
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
    "Rows are JSONL: {\"text\": \"...\", \"text_pair\": \"...\"?, \"label\": ...?} (with --tokenizer),\n"
    "{\"input_ids\": [...], \"attention_mask\": [...]?, \"token_type_ids\": [...]?, \"label\": ...?}\n"
    "or {\"features\": [...], \"label\": ...?}. Labels are class indices, or names listed in --labels\n"
    "(labels.json next to the model is used when present). Batches are sorted by length; output\n"
    "rows come in input order: {\"index\": i, \"pred\": p, \"pred_label\": name?, \"logits\": [...],\n"
    "\"label\": ...?}.\n";

// The command line of `synapse predict`.
struct PredictParams {
  std::string out_path, pool = "first", layers_glob, input_shape;
  std::vector<std::string> specs;
  int64_t seed = 0, batch_size = 32, threads = 0, pad_id = -1;
  bool cased = false;
  RowSource source;  // --model, --data, --tokenizer, --labels, --max-length and the data options
};

// False for --help (printed).
bool ParsePredictFlags(int argc, char** argv, PredictParams* t) {
  ArgParser p("synapse predict", "Run a model over JSONL rows and write one prediction per row.");
  p.Option("--model", "M", "model file (.pt TorchScript or .pt2 package) or model directory (default: the embedded spam-tiny model)",
           &t->source.model);
  p.Option("--data", "D",
           "JSONL rows (text, pre-tokenized, or float features; default: a model directory's eval.jsonl)",
           &t->source.data);
  p.Option("--tokenizer", "T", "tokenizer.json or vocab.txt, for text rows (default: tokenizer.json beside M)",
           &t->source.tokenizer);
  p.Option("--labels", "L", "class names: [\"ham\", ...] or a config with id2label (default: labels.json beside M)",
           &t->source.labels);
  p.Option("--max-length", "N", "truncate text to N tokens (default: the tokenizer's, else 512)", &t->source.max_length);
  p.Flag("--no-lowercase", "vocab.txt only: keep case and accents", &t->cased);
  p.Repeated("--intervene", "-i", "SPEC", "an intervention (see below)", &t->specs);
  p.Option("--out", "FILE", "write JSONL predictions here (default: stdout)", &t->out_path);
  p.Option("--pool", "first|last", "the pooled position: first token ([CLS], default) or last real token", &t->pool);
  p.Option("--seed", "N", "seed of noise interventions (default 0)", &t->seed);
  p.Option("--batch-size", "N", "examples per forward pass (default 32)", &t->batch_size);
  p.Option("--pad-id", "N", "token id used for padding (default: the tokenizer's, else 0)", &t->pad_id);
  p.Option("--layer-modules", "GLOB", "module paths of the layers (default: discovered)", &t->layers_glob);
  p.Option("--threads", "N", "intra-op threads (default: all cores)", &t->threads);
  p.Option("--input-shape", "D,D,..", "float-input models: the shape every row's features must have", &t->input_shape);
  AddDataOptions(&p, &t->source);
  p.Epilog(kSpecHelp);
  if (!p.Parse(argc, argv)) {
    std::cout << p.Help();
    return false;
  }
  ResolveModelDirectory(&t->source.model, &t->source.tokenizer, &t->source.data);
  if (t->source.data.empty()) {
    throw UsageError(401, "--data is required: " + t->source.model + " has no eval.jsonl beside it");
  }
  if (t->batch_size < 1) throw UsageError(401, "--batch-size must be at least 1");
  t->source.seed = static_cast<uint64_t>(t->seed);
  t->source.lowercase = !t->cased;
  return true;
}

// One JSONL line per row, in input order, and how many labelled rows the model got right.
struct Predictions {
  std::vector<std::string> lines;
  int64_t labelled = 0, correct = 0;
};

Predictions Predict(const Model& model, const Dataset& data, const std::vector<Intervention>& interventions,
                    RunOptions run, int64_t batch_size) {
  const std::vector<DataRow>& rows = data.rows;
  const std::vector<Example> examples = data.examples();
  Predictions out;
  out.lines.resize(rows.size());
  // Batches of similar length waste little on padding; results go back to input order.
  for (const std::vector<int64_t>& batch : LengthSortedBatches(examples, batch_size)) {
    run.example_indices(batch);
    RunResult result;
    try {
      result = model.Run(Gather(examples, batch), interventions, run);
    } catch (const DataError& e) {
      RethrowWithLine(e, data.path, rows);
    }
    for (size_t k = 0; k < batch.size(); ++k) {
      const size_t i = static_cast<size_t>(batch[k]);
      Eigen::Index r = static_cast<Eigen::Index>(k);
      Eigen::Index pred;
      result.logits.row(r).maxCoeff(&pred);
      nlohmann::ordered_json row;
      row["index"] = i;
      row["pred"] = pred;
      if (pred < static_cast<Eigen::Index>(data.class_names.size())) row["pred_label"] = data.class_names[pred];
      row["logits"] = nlohmann::json::array();
      for (Eigen::Index c = 0; c < result.logits.cols(); ++c) row["logits"].push_back(result.logits(r, c));
      if (!rows[i].label_json.empty()) {
        row["label"] = nlohmann::json::parse(rows[i].label_json);
        if (rows[i].label_index >= 0) {
          ++out.labelled;
          out.correct += rows[i].label_index == pred;
        }
      }
      out.lines[i] = row.dump();
    }
  }
  return out;
}

}  // namespace

int PredictCommand(int argc, char** argv) {
  PredictParams t;
  if (!ParsePredictFlags(argc, argv, &t)) return 0;
  std::vector<Intervention> interventions;
  for (const std::string& s : t.specs) interventions.push_back(ParseIntervention(s));
  const RuntimeInfo runtime = SetUpRuntime(t.threads);
  ModelOptions model_options;
  model_options.layers_glob(t.layers_glob);
  if (!t.input_shape.empty()) model_options.input_shape(ParseShape(t.input_shape, "--input-shape"));
  const OpenedModel opened = OpenModelAndRows(t.source, model_options, t.pad_id);
  const Dataset& loaded = opened.data;
  const Model& model = opened.model;
  RunOptions run;
  run.pool(ParsePooling(t.pool, /*allow_mean=*/false)).seed(static_cast<uint64_t>(t.seed)).pad_id(opened.pad_id);

  const auto start = std::chrono::steady_clock::now();
  const Predictions predictions = Predict(model, loaded, interventions, run, t.batch_size);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::ostringstream out;
  for (const std::string& line : predictions.lines) out << line << "\n";
  if (t.out_path.empty()) {
    std::cout << out.str();
  } else {
    WriteFileAtomically(t.out_path, out.str());
  }
  const size_t n = loaded.rows.size();
  std::cerr << "synapse: " << n << " rows";
  if (loaded.total != static_cast<int64_t>(n)) std::cerr << " (stratified sample of " << loaded.total << ")";
  std::cerr << " [" << loaded.DescribeClasses() << "], " << interventions.size() << " intervention(s), "
            << runtime.threads << " threads, " << std::fixed << std::setprecision(2) << seconds << " s";
  if (predictions.labelled > 0) {
    std::cerr << "; accuracy " << std::setprecision(4)
              << static_cast<double>(predictions.correct) / static_cast<double>(predictions.labelled) << " on "
              << predictions.labelled << " labelled rows";
  }
  if (!t.out_path.empty()) std::cerr << "; wrote " << t.out_path;
  std::cerr << "\n";
  return 0;
}

}  // namespace synapse::cli
