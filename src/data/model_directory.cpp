#include "synapse/model_directory.h"

#include <sys/stat.h>

#include <algorithm>
#include <utility>

#include "data/model_files.h"

namespace synapse {
namespace {

bool IsDirectory(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool IsFile(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

std::string FindModelFiles(const std::string& path, ModelFiles* files) {
  *files = ModelFiles();
  if (IsDirectory(path)) {
    files->directory = path;
    const std::string dir = path + (path.back() == '/' ? "" : "/");
    files->model = dir + "model.pt";
    if (!IsFile(files->model) && IsFile(dir + "model.pt2")) files->model = dir + "model.pt2";
    if (!IsFile(files->model)) {
      return "the model directory " + path +
             " has no model.pt or model.pt2 (a model directory holds model.pt or model.pt2, tokenizer.json, "
             "labels.json, eval.jsonl)";
    }
    files->data = FileBesideModel(files->model, "eval.jsonl");
  } else if (IsFile(path)) {
    files->model = path;
  } else {
    return path + " does not exist";
  }
  files->tokenizer = FileBesideModel(files->model, "tokenizer.json");
  files->labels = FileBesideModel(files->model, "labels.json");
  return "";
}

OpenedModel OpenModelAndData(const std::string& model_file, const DatasetSpec& data, ModelOptions model_options,
                             int64_t pad_id) {
  Dataset rows = LoadDataset(data);
  if (!rows.rows.empty()) model_options.dry_run_ids(rows.rows.front().example.input_ids);
  OpenedModel opened{Model::Load(model_file, model_options), std::move(rows), 0, {}};
  opened.pad_id = pad_id >= 0 ? pad_id : opened.data.pad_id;
  opened.class_names = opened.data.class_names;
  if (opened.class_names.empty()) {
    int64_t classes = opened.model.num_classes();
    for (const DataRow& r : opened.data.rows) classes = std::max(classes, r.label_index + 1);
    for (int64_t c = 0; c < classes; ++c) opened.class_names.push_back(std::to_string(c));
  }
  return opened;
}

}  // namespace synapse
