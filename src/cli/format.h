// Number formatting shared by the commands' printed summaries and the model card.
#ifndef SYNAPSE_SRC_CLI_FORMAT_H_
#define SYNAPSE_SRC_CLI_FORMAT_H_

#include <string>

namespace synapse::cli {

/// `v` with `digits` decimals ("0.958"), or "n/a" when it is not finite.
std::string Fixed(double v, int digits = 3);

}  // namespace synapse::cli

#endif  // SYNAPSE_SRC_CLI_FORMAT_H_
