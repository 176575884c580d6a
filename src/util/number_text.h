// Numbers as report and message text (private to Synapse: the library, the CLI and
// synapse::gtest).
#ifndef SYNAPSE_SRC_UTIL_NUMBER_TEXT_H_
#define SYNAPSE_SRC_UTIL_NUMBER_TEXT_H_

#include <string>

namespace synapse {

/// `digits` decimals ("0.958"); "n/a" for NaN and infinities.
std::string Fixed(double v, int digits = 3);

/// The shortest usual form, as an ostream writes it ("0.5", "1e-05", "100").
std::string Shortest(double v);

/// A fraction as a percentage: 0.95 → "95%".
std::string Percent(double fraction);

}  // namespace synapse

#endif  // SYNAPSE_SRC_UTIL_NUMBER_TEXT_H_
