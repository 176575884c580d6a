#include "default_model.h"

#include <unistd.h>

#include <vector>

#include "synapse/error.h"
#include "synapse/model_directory.h"

namespace synapse::cli {
namespace {

std::string ExecutableDirectory() {
  std::vector<char> buffer(4096);
  const ssize_t n = readlink("/proc/self/exe", buffer.data(), buffer.size() - 1);
  if (n <= 0) return "";
  std::string path(buffer.data(), static_cast<size_t>(n));
  return path.substr(0, path.rfind('/'));
}

}  // namespace

std::string DefaultModelDirectory() {
  std::vector<std::string> candidates;
  const std::string bin = ExecutableDirectory();
  if (!bin.empty()) candidates.push_back(bin + "/../share/synapse/models/spam-tiny");
#ifdef SYNAPSE_SOURCE_DIR
  candidates.push_back(std::string(SYNAPSE_SOURCE_DIR) + "/models/spam-tiny");
#endif
  std::string looked;
  for (const std::string& dir : candidates) {
    ModelFiles files;
    if (FindModelFiles(dir, &files).empty()) return dir;
    looked += (looked.empty() ? "" : ", ") + dir;
  }
  throw UsageError(401, "no --model given and the embedded default model is not installed (looked in " + looked +
                            "); pass --model MODEL.pt or a model directory");
}

std::string ResolveModelDirectory(std::string* model, std::string* tokenizer, std::string* data) {
  if (model->empty()) *model = DefaultModelDirectory();
  ModelFiles files;
  const std::string why = FindModelFiles(*model, &files);
  // A path that names nothing goes on to Model::Load, whose error says so.
  if (!why.empty() && files.directory.empty()) return "";
  if (!why.empty()) throw UsageError(401, "--model: " + why);
  *model = files.model;
  if (data && data->empty()) *data = files.data;
  // A directory or a model file: the tokenizer.json beside the model, as labels.json beside
  // it is read (LoadDataset).
  if (tokenizer->empty()) *tokenizer = files.tokenizer;
  return files.directory;
}

}  // namespace synapse::cli
