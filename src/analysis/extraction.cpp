#include "synapse/extraction.h"

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "data/batching.h"
#include "util/npy.h"
#include "util/atomic_file.h"
#include "synapse/error.h"
#include "synapse/memory_budget.h"
#include "synapse/model.h"
#include "synapse/probe.h"

namespace synapse {

std::vector<int64_t> ArgMaxRows(const Eigen::MatrixXf& logits) {
  std::vector<int64_t> out(static_cast<size_t>(logits.rows()));
  for (Eigen::Index r = 0; r < logits.rows(); ++r) {
    Eigen::Index c = 0;
    logits.row(r).maxCoeff(&c);
    out[static_cast<size_t>(r)] = c;
  }
  return out;
}

std::vector<int64_t> Extraction::Predictions() const { return ArgMaxRows(logits); }

Extraction Extract(const Model& model, const std::vector<Example>& examples, const BatchOptions& options,
                   const std::vector<int>& layers, const ProgressCallback& progress) {
  if (examples.empty()) throw DataError(207, "extraction: no examples");
  std::vector<int> wanted = layers;
  if (wanted.empty()) {
    for (const LayerInfo& l : model.layers()) wanted.push_back(l.index);
  }
  CheckMemoryBudget(EstimateExtractionMemory(model, examples, options, wanted), options.memory_budget());
  std::vector<Intervention> captures;
  for (int layer : wanted) captures.push_back(Intervention::Capture(Site::Layer(layer)));

  const auto start = std::chrono::steady_clock::now();
  Extraction out;
  out.pool = options.pool();
  const int64_t n = static_cast<int64_t>(examples.size());
  int64_t done = 0;
  for (const std::vector<int64_t>& batch : LengthSortedBatches(examples, options.batch_size())) {
    RunOptions run;
    run.pool(options.pool()).pad_id(options.pad_id()).seed(options.seed()).example_indices(batch);
    RunResult result = model.Run(Gather(examples, batch), captures, run);
    if (out.logits.size() == 0) out.logits.resize(n, result.logits.cols());
    for (const auto& [layer, vectors] : result.captures) {
      Eigen::MatrixXf& dest = out.activations[layer];
      if (dest.size() == 0) dest.resize(n, vectors.cols());
      for (size_t k = 0; k < batch.size(); ++k) dest.row(batch[k]) = vectors.row(static_cast<Eigen::Index>(k));
    }
    for (size_t k = 0; k < batch.size(); ++k)
      out.logits.row(batch[k]) = result.logits.row(static_cast<Eigen::Index>(k));
    done += static_cast<int64_t>(batch.size());
    if (progress) progress(done, n);
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

namespace {

std::string LayerFile(int layer) {
  char name[32];
  std::snprintf(name, sizeof(name), "layer_%02d.npy", layer);
  return name;
}

}  // namespace

void SaveActivations(const Extraction& extraction, const Model& model, const std::vector<int64_t>& labels,
                     const std::string& dir, const Split* split) {
  MakeDirectories(dir);
  nlohmann::ordered_json index;
  index["format"] = "synapse-activations";
  index["version"] = 1;
  index["model"] = model.path();
  index["pool"] = PoolingName(extraction.pool);
  index["examples"] = extraction.logits.rows();
  index["layers"] = nlohmann::json::array();
  for (const auto& [layer, vectors] : extraction.activations) {
    const std::string file = LayerFile(layer);
    WriteNpy(dir + "/" + file, vectors);
    index["layers"].push_back({{"index", layer},
                               {"name", model.layers().at(static_cast<size_t>(layer)).name},
                               {"file", file},
                               {"shape", {vectors.rows(), vectors.cols()}}});
  }
  WriteNpy(dir + "/logits.npy", extraction.logits);
  index["logits"] = {{"file", "logits.npy"}, {"shape", {extraction.logits.rows(), extraction.logits.cols()}}};
  WriteNpy(dir + "/labels.npy", labels);
  index["labels"] = {{"file", "labels.npy"}, {"shape", {labels.size()}}};
  if (split != nullptr) {
    WriteNpy(dir + "/train_index.npy", split->train);
    WriteNpy(dir + "/test_index.npy", split->test);
    index["split"] = {{"train", "train_index.npy"}, {"test", "test_index.npy"}};
  }
  WriteFileAtomically(dir + "/index.json", index.dump(2) + "\n");
}

}  // namespace synapse
