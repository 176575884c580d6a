// Where a model's companion files are found (private): beside the model file, as
// `synapse train` writes them (model.pt, tokenizer.json, labels.json in one directory).
// The CLI, the robustness-test Config and LoadDataset all look here, through this one helper.
//
//   std::string tokenizer = FileBesideModel("runs/m/model.pt", "tokenizer.json");  // or ""
#ifndef SYNAPSE_SRC_DATA_MODEL_FILES_H_
#define SYNAPSE_SRC_DATA_MODEL_FILES_H_

#include <string>

namespace synapse {

/// The regular file `name` in the directory of the model file `model` (the current
/// directory for a bare file name), or "" when `model` is empty or there is no such file.
std::string FileBesideModel(const std::string& model, const std::string& name);

}  // namespace synapse

#endif  // SYNAPSE_SRC_DATA_MODEL_FILES_H_
