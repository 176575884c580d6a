// What an experiment did, in words that complete "after ...", from its report row (private:
// outcomes read from reports and the live model under test describe rows the same way).
#ifndef SYNAPSE_SRC_TESTING_DESCRIBE_H_
#define SYNAPSE_SRC_TESTING_DESCRIBE_H_

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "number_text.h"

namespace synapse::robustness::internal {

/// "zeroing class spam's top-10 neurons of layer 3 (encoder.layer.3) at every token" from a
/// row with selection (top, bottom, random, class_top, explicit, noise), k, class, op,
/// sigma, positions, and draws (or per_seed, as analysis reports pool random draws).
template <typename Json>
std::string DescribeExperiment(const Json& row, int layer, const std::string& layer_name) {
  std::ostringstream s;
  const std::string selection = row.value("selection", "");
  const std::string op = row.value("op", "zero") == "mean" ? "setting to their mean" : "zeroing";
  const int64_t k = row.value("k", int64_t{0});
  const size_t draws = row.contains("draws")      ? row["draws"].template get<size_t>()
                       : row.contains("per_seed") ? row["per_seed"].size()
                                                  : 1;
  const std::string pooled = draws > 1 ? " (" + std::to_string(draws) + " draws pooled)" : "";
  if (selection == "top") s << op << " the global top-" << k << " neurons";
  if (selection == "bottom") s << op << " the global bottom-" << k << " neurons";
  if (selection == "random") s << op << " " << k << " random neurons" << (draws > 1 ? pooled : " (1 draw)");
  if (selection == "class_top") s << op << " class " << row.value("class", "?") << "'s top-" << k << " neurons";
  if (selection == "explicit") s << op << " " << k << " chosen neurons";
  if (selection == "noise")
    s << "adding Gaussian noise of " << Shortest(row.value("sigma", 0.0)) << " × each neuron's std";
  s << " of layer " << layer << " (" << layer_name << ")";
  s << (row.value("positions", "all") == "pooled" ? " at the pooled token" : " at every token");
  if (selection == "noise") s << pooled;
  return s.str();
}

}  // namespace synapse::robustness::internal

#endif  // SYNAPSE_SRC_TESTING_DESCRIBE_H_
