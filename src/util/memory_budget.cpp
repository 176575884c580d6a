#include "synapse/memory_budget.h"

#include "util/byte_size.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "util/number_text.h"
#include "synapse/error.h"
#include "synapse/extraction.h"
#include "synapse/model.h"

namespace synapse {
namespace {

constexpr int64_t kFloat = 4;
// A Transformer layer's live intermediates per token, in hidden widths: Q, K, V, the
// attention context and output, the 4× feed-forward and its activation, residuals, norms.
constexpr int64_t kIntermediatesPerToken = 24;
constexpr int64_t kAssumedHeads = 16;

int64_t ExampleLength(const Example& e) {
  if (!e.input_ids.empty()) return static_cast<int64_t>(e.input_ids.size());
  return 1;
}

}  // namespace

std::string FormatBytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return (u == 0 ? std::to_string(bytes) : Fixed(v, 1)) + " " + units[u];
}

std::string MemoryEstimate::Describe() const {
  const std::string held = layers > 0 ? " pooled activations of " + std::to_string(examples) + " examples × " +
                                            std::to_string(layers) + " layers × " + std::to_string(widest_layer)
                                      : " of logits for " + std::to_string(examples) + " examples";
  return FormatBytes(total()) + " (" + FormatBytes(activation_bytes) + held + ", " + FormatBytes(batch_bytes) +
         " for one batch of up to " + std::to_string(longest_example) + " tokens, " + FormatBytes(parameter_bytes) +
         " of parameters" +
         (cut_bytes > 0 ? ", " + FormatBytes(cut_bytes) + " of cut values at " + std::to_string(cuts) + " layers"
                        : "") +
         ")";
}

MemoryEstimate EstimateExtractionMemory(const Model& model, const std::vector<Example>& examples,
                                        const BatchOptions& options, const std::vector<int>& layers) {
  MemoryEstimate e;
  e.examples = static_cast<int64_t>(examples.size());
  int64_t pooled_width = 0;
  for (const LayerInfo& l : model.layers()) {
    if (!layers.empty() && std::find(layers.begin(), layers.end(), l.index) == layers.end()) continue;
    const int64_t width = std::max<int64_t>(l.hidden_size, 1);
    pooled_width += width;
    e.widest_layer = std::max(e.widest_layer, width);
    ++e.layers;
  }
  for (const Example& x : examples) {
    e.longest_example = std::max(e.longest_example, ExampleLength(x));
  }
  const int64_t classes = std::max<int64_t>(model.num_classes(), 1);
  e.activation_bytes = 2 * e.examples * (pooled_width + classes) * kFloat;
  const int64_t batch = std::min<int64_t>(std::max<int64_t>(options.batch_size(), 1), e.examples);
  const int64_t tokens = e.longest_example;
  e.batch_bytes = batch * tokens * e.widest_layer * kFloat * kIntermediatesPerToken +
                  batch * tokens * tokens * kFloat * kAssumedHeads;
  e.parameter_bytes = model.parameter_count() * kFloat;
  return e;
}

MemoryEstimate EstimateSweepMemory(const Model& model, const std::vector<Example>& examples,
                                   const BatchOptions& options, const std::vector<std::vector<Intervention>>& plans) {
  MemoryEstimate e = EstimateExtractionMemory(model, examples, options);
  e.activation_bytes = static_cast<int64_t>(plans.size()) * e.examples * std::max<int64_t>(model.num_classes(), 1) *
                       kFloat;  // the logits of every plan
  e.layers = 0;
  if (options.suffix_execution() && plans.size() > 1) {
    std::vector<int> starts;
    for (const std::vector<Intervention>& plan : plans) {
      int first = -1;
      for (const Intervention& iv : plan) {
        if (iv.op() == Intervention::Op::kShift) continue;
        const int layer = model.ResolveLayer(iv.site());
        first = first < 0 ? layer : std::min(first, layer);
      }
      if (first >= 0 && std::find(starts.begin(), starts.end(), first) == starts.end()) starts.push_back(first);
    }
    e.cuts = static_cast<int64_t>(starts.size());
    const int64_t batch = std::min<int64_t>(std::max<int64_t>(options.batch_size(), 1), e.examples);
    e.cut_bytes = e.cuts * batch * e.longest_example * e.widest_layer * kFloat;
  }
  return e;
}

int64_t DefaultMemoryBudget() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return -1;
  return static_cast<int64_t>(static_cast<double>(pages) * static_cast<double>(page_size) * 0.8);
}

void CheckMemoryBudget(const MemoryEstimate& estimate, int64_t budget_bytes, const std::string& what) {
  const bool default_budget = budget_bytes == 0;
  if (default_budget) budget_bytes = DefaultMemoryBudget();
  if (budget_bytes < 0 || estimate.total() <= budget_bytes) return;
  throw DataError(212, what + " would need about " + estimate.Describe() + ", more than the memory budget of " +
                           FormatBytes(budget_bytes) + (default_budget ? " (80% of this machine's memory)" : "") +
                           ": lower --max-examples, --layers or --batch-size, or raise --memory-budget");
}

int64_t ParseByteSize(const std::string& text, const std::string& what) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  std::string unit = text.substr(used);
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return std::toupper(c); });
  double scale = 0;
  if (unit.empty() || unit == "B")
    scale = 1;
  else if (unit == "K" || unit == "KB" || unit == "KIB")
    scale = 1024.0;
  else if (unit == "M" || unit == "MB" || unit == "MIB")
    scale = 1024.0 * 1024;
  else if (unit == "G" || unit == "GB" || unit == "GIB")
    scale = 1024.0 * 1024 * 1024;
  else if (unit == "T" || unit == "TB" || unit == "TIB")
    scale = 1024.0 * 1024 * 1024 * 1024;
  const double bytes = value * scale;
  if (used == 0 || scale == 0 || !std::isfinite(bytes) || bytes < 1 || bytes > 9.0e18) {
    throw UsageError(401, what + ": expected a size such as 512M, 4G or 1.5GiB, got \"" + text + "\"");
  }
  return static_cast<int64_t>(bytes);
}

}  // namespace synapse
