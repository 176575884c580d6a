#include "default_model.h"

#include <sys/stat.h>
#include <unistd.h>

#include <vector>

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
  if (!IsDirectory(*model)) {
    // A model file: the tokenizer.json beside it, as labels.json beside it is read.
    const size_t slash = model->rfind('/');
    const std::string beside =
        (slash == std::string::npos ? std::string() : model->substr(0, slash + 1)) + "tokenizer.json";
    if (tokenizer->empty() && IsFile(*model) && IsFile(beside)) *tokenizer = beside;
    return "";
  }
  const std::string dir = *model;
  *model = dir + "/model.pt";
  if (!IsFile(*model)) {
    throw UsageError(401, "--model " + dir +
                              ": a directory without model.pt (a model directory holds model.pt, "
                              "tokenizer.json, labels.json, eval.jsonl)");
  }
  if (tokenizer->empty() && IsFile(dir + "/tokenizer.json")) *tokenizer = dir + "/tokenizer.json";
  if (data && data->empty() && IsFile(dir + "/eval.jsonl")) *data = dir + "/eval.jsonl";
  return dir;
}

}  // namespace synapse::cli
