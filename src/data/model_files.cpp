#include "data/model_files.h"

#include <sys/stat.h>

namespace synapse {

std::string FileBesideModel(const std::string& model, const std::string& name) {
  if (model.empty()) return "";
  const size_t slash = model.rfind('/');
  const std::string beside = (slash == std::string::npos ? std::string() : model.substr(0, slash + 1)) + name;
  struct stat st {};
  return stat(beside.c_str(), &st) == 0 && S_ISREG(st.st_mode) ? beside : "";
}

}  // namespace synapse
