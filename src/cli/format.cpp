#include "format.h"

#include <cmath>
#include <iomanip>
#include <sstream>

namespace synapse::cli {

std::string Fixed(double v, int digits) {
  if (!std::isfinite(v)) return "n/a";
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

}  // namespace synapse::cli
