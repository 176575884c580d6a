#include "default_model.h"

#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "data/model_files.h"
#include "synapse/error.h"

namespace synapse::cli {
namespace {

bool IsDirectory(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool IsFile(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

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
    if (IsFile(dir + "/model.pt")) return dir;
    looked += (looked.empty() ? "" : ", ") + dir;
  }
  throw UsageError(401, "no --model given and the embedded default model is not installed (looked in " + looked +
                            "); pass --model MODEL.pt or a model directory");
}

std::string ResolveModelDirectory(std::string* model, std::string* tokenizer, std::string* data) {
  if (model->empty()) *model = DefaultModelDirectory();
  std::string dir;
  if (IsDirectory(*model)) {
    dir = *model;
    *model = dir + "/model.pt";
    if (!IsFile(*model)) {
      throw UsageError(401, "--model " + dir +
                                ": a directory without model.pt (a model directory holds model.pt, "
                                "tokenizer.json, labels.json, eval.jsonl)");
    }
    if (data && data->empty() && IsFile(dir + "/eval.jsonl")) *data = dir + "/eval.jsonl";
  }
  // A directory or a model file: the tokenizer.json beside the model, as labels.json beside
  // it is read (LoadDataset).
  if (tokenizer->empty() && IsFile(*model)) *tokenizer = FileBesideModel(*model, "tokenizer.json");
  return dir;
}

}  // namespace synapse::cli
