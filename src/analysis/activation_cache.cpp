#include "synapse/activation_cache.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <sys/stat.h>
#include <torch/version.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "util/hashing.h"
#include "engine/model_impl.h"
#include "util/atomic_file.h"
#include "synapse/error.h"
#include "synapse/memory_budget.h"
#include "synapse/model.h"
#include "synapse/weight_perturbation.h"

#ifndef SYNAPSE_VERSION
#define SYNAPSE_VERSION "unknown"
#endif

namespace synapse {
namespace {

using json = nlohmann::json;

constexpr const char* kFormat = "synapse-extraction-cache";
constexpr int kVersion = 1;

std::string HashFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError(101, path + ": cannot be read (permissions?)");
  Hash128 h;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    h.Add(buffer.data(), static_cast<size_t>(in.gcount()));
  }
  return h.Hex();
}

std::string HashExamples(const std::vector<Example>& examples) {
  Hash128 h;
  const uint64_t n = examples.size();
  h.Add(&n, sizeof(n));
  for (const Example& e : examples) {
    h.AddVector(e.input_ids);
    h.AddVector(e.attention_mask);
    h.AddVector(e.token_type_ids);
    h.AddVector(e.features);
    h.AddVector(e.feature_shape);
  }
  return h.Hex();
}

// Reductions may split differently with other thread counts (the last bits can differ).
std::string DescribeThreads() {
  using GetFn = int (*)();
  auto blas = reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return std::to_string(at::get_num_threads()) + "+" + std::to_string(blas != nullptr ? blas() : 1);
}

std::string Checksum(const std::string& payload) {
  Hash128 h;
  h.Add(payload.data(), payload.size());
  return h.Hex();
}

// The first key field that differs, for the "rebuilt" reason.
std::string FirstDifference(const json& stored, const json& expected) {
  for (const auto& [name, value] : expected.items()) {
    if (!stored.contains(name) || stored[name] != value) return name;
  }
  return "an extra field";
}

// Reads and validates an entry; returns an empty optional and sets *why when it cannot be used.
std::optional<Extraction> ReadEntry(const std::string& path, const json& key, int64_t examples,
                                    const std::vector<int>& layers, Pooling pool, std::string* why) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.eof() && in.fail()) {
    *why = "the entry cannot be read";
    return std::nullopt;
  }
  const size_t newline = bytes.find('\n');
  if (newline == std::string::npos) {
    *why = "the entry has no header (truncated)";
    return std::nullopt;
  }
  json header;
  try {
    header = json::parse(bytes.substr(0, newline));
  } catch (const json::exception&) {
    *why = "the entry's header is not JSON (corrupt)";
    return std::nullopt;
  }
  try {
    if (header.value("format", "") != kFormat || header.value("version", 0) != kVersion) {
      *why = "the entry is not version " + std::to_string(kVersion) + " of " + kFormat;
      return std::nullopt;
    }
    if (header["key"] != key) {
      *why = "the entry's key differs (" + FirstDifference(header["key"], key) + ")";
      return std::nullopt;
    }
    const std::string payload = bytes.substr(newline + 1);
    const int64_t classes = header["classes"].get<int64_t>();
    const auto widths = header["widths"].get<std::vector<int64_t>>();
    int64_t floats = examples * classes;
    for (int64_t w : widths) floats += examples * w;
    if (widths.size() != layers.size() || classes <= 0 ||
        static_cast<int64_t>(payload.size()) != floats * static_cast<int64_t>(sizeof(float))) {
      *why = "the entry holds " + std::to_string(payload.size()) + " bytes, not the " + std::to_string(floats * 4) +
             " its header describes (truncated)";
      return std::nullopt;
    }
    if (header["checksum"] != Checksum(payload)) {
      *why = "the entry's checksum does not match its contents (corrupt)";
      return std::nullopt;
    }
    Extraction x;
    x.pool = pool;
    x.seconds = header["seconds"].get<double>();
    const float* data = reinterpret_cast<const float*>(payload.data());
    using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    x.logits = Eigen::Map<const RowMajor>(data, examples, classes);
    data += examples * classes;
    for (size_t l = 0; l < layers.size(); ++l) {
      x.activations[layers[l]] = Eigen::Map<const RowMajor>(data, examples, widths[l]);
      data += examples * widths[l];
    }
    return x;
  } catch (const json::exception&) {
    *why = "the entry's header lacks a field (corrupt)";
    return std::nullopt;
  }
}

std::string EntryBytes(const Extraction& x, const json& key, const std::vector<int>& layers) {
  std::string payload;
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  auto append = [&payload](const Eigen::MatrixXf& m) {
    const RowMajor r = m;
    payload.append(reinterpret_cast<const char*>(r.data()), static_cast<size_t>(r.size()) * sizeof(float));
  };
  append(x.logits);
  std::vector<int64_t> widths;
  for (int layer : layers) {
    const Eigen::MatrixXf& m = x.activations.at(layer);
    widths.push_back(m.cols());
    append(m);
  }
  json header = {{"format", kFormat},
                 {"version", kVersion},
                 {"key", key},
                 {"classes", x.logits.cols()},
                 {"widths", widths},
                 {"seconds", x.seconds},
                 {"checksum", Checksum(payload)}};
  return header.dump() + "\n" + payload;
}

}  // namespace

std::string DefaultCacheDir() {
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v != nullptr ? v : "";
  };
  if (!env("SYNAPSE_CACHE_DIR").empty()) return env("SYNAPSE_CACHE_DIR");
  if (!env("XDG_CACHE_HOME").empty()) return env("XDG_CACHE_HOME") + "/synapse";
  if (!env("HOME").empty()) return env("HOME") + "/.cache/synapse";
  return "";
}

std::string CacheDirFromSetting(const std::string& setting) {
  if (setting == "off") return "";
  return setting.empty() ? DefaultCacheDir() : setting;
}

Extraction ExtractCached(const Model& model, const std::vector<Example>& examples, const BatchOptions& options,
                         const std::vector<int>& layers, const std::string& cache_dir, CacheLookup* lookup,
                         const ProgressCallback& progress) {
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&start] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  CacheLookup local;
  CacheLookup& out = lookup != nullptr ? *lookup : local;
  out = CacheLookup();
  if (cache_dir.empty()) {
    Extraction x = Extract(model, examples, options, layers, progress);
    out.seconds = elapsed();
    return x;
  }
  std::vector<int> wanted = layers;
  if (wanted.empty()) {
    for (const LayerInfo& l : model.layers()) wanted.push_back(l.index);
  }
  // The budget is about the whole run (a sweep's passes need what extraction's do), so it
  // is checked on a hit too.
  CheckMemoryBudget(EstimateExtractionMemory(model, examples, options, wanted), options.memory_budget());
  const json key = {{"synapse", SYNAPSE_VERSION},
                    {"libtorch", TORCH_VERSION},
                    {"model_file", HashFile(model.path())},
                    {"parameters", ParameterHash(model)},
                    {"layers_found", model.layers().size()},
                    {"examples", HashExamples(examples)},
                    {"count", examples.size()},
                    {"pool", PoolingName(options.pool())},
                    {"batch_size", options.batch_size()},
                    {"pad_id", options.pad_id()},
                    {"layers", wanted},
                    {"threads", DescribeThreads()}};
  Hash128 name;
  name.Add(key.dump());
  out.path = cache_dir + "/" + name.Hex() + ".extraction";

  struct stat st {};
  if (stat(out.path.c_str(), &st) == 0) {
    std::string why;
    std::optional<Extraction> hit =
        ReadEntry(out.path, key, static_cast<int64_t>(examples.size()), wanted, options.pool(), &why);
    if (hit) {
      out.status = "hit";
      out.seconds = elapsed();
      if (progress) progress(static_cast<int64_t>(examples.size()), static_cast<int64_t>(examples.size()));
      return *hit;
    }
    out.status = "rebuilt";
    out.reason = why;
  } else {
    out.status = "miss";
  }
  Extraction x = Extract(model, examples, options, wanted, progress);
  try {
    MakeDirectories(cache_dir);
    WriteFileAtomically(out.path, EntryBytes(x, key, wanted));
  } catch (const Error& e) {
    out.reason = (out.reason.empty() ? "" : out.reason + "; ") + "not stored: " + e.detail();
  }
  out.seconds = elapsed();
  return x;
}

}  // namespace synapse
