// Opening a model and its data: the one place that turns what a user named (a model
// directory, or a model file with its companions beside it) into a loaded model, its
// evaluation rows, the pad id, the dry-run ids and the class names. The CLI, the
// GoogleTest fixture, `synapse gate` and the JSON suite all open models through it.
//
// A model directory holds model.pt and, optionally, tokenizer.json, labels.json and
// eval.jsonl, as `synapse train` writes them.
//
//   synapse::ModelFiles files;
//   if (std::string why = synapse::FindModelFiles("runs/spam", &files); !why.empty()) die(why);
//   synapse::OpenedModel opened = synapse::OpenModelAndData(
//       files.model, synapse::DatasetSpec().data(files.data).tokenizer(files.tokenizer));
//   synapse::Analyze(opened.model, opened.data.examples(), opened.data.labels(), opened.class_names,
//                    synapse::AnalysisOptions().batching(synapse::BatchOptions().pad_id(opened.pad_id)));
#ifndef SYNAPSE_MODEL_DIRECTORY_H_
#define SYNAPSE_MODEL_DIRECTORY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "synapse/dataset.h"
#include "synapse/model.h"

namespace synapse {

/// What a model path names. Every path is empty where there is no such file.
struct ModelFiles {
  /// The directory that was named; empty when a model file was named.
  std::string directory;
  /// The model file: DIR/model.pt, or the file that was named.
  std::string model;
  /// tokenizer.json and labels.json beside the model file.
  std::string tokenizer;
  std::string labels;
  /// DIR/eval.jsonl; only when a directory was named.
  std::string data;
};

/// Fills `*files` from `path`, a model directory or a model file. Returns "" on success,
/// else what is wrong, for the caller to put after the setting that named the path:
/// "runs/x does not exist", "the model directory runs/x has no model.pt (...)".
std::string FindModelFiles(const std::string& path, ModelFiles* files);

/// A model, its evaluation rows, and what the clients derive from the two.
struct OpenedModel {
  Model model;
  Dataset data;
  /// The pad id the model runs with: the one asked for, else the tokenizer's.
  int64_t pad_id = 0;
  /// The data's class names; where it has none, "0", "1", ... for as many classes as the
  /// model has logits or the rows have labels, whichever is more.
  std::vector<std::string> class_names;
};

/// Reads the rows first (`data`), then loads `model_file` with `model_options`, dry-running
/// it on the first row's ids (which are valid in the model's vocabulary, where made-up ids
/// may not be). `pad_id` ≥ 0 overrides the tokenizer's. Throws what LoadDataset and
/// Model::Load throw.
OpenedModel OpenModelAndData(const std::string& model_file, const DatasetSpec& data,
                             ModelOptions model_options = ModelOptions(), int64_t pad_id = -1);

}  // namespace synapse

#endif  // SYNAPSE_MODEL_DIRECTORY_H_
