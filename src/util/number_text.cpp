#include "util/number_text.h"

#include <cmath>
#include <iomanip>
#include <sstream>

namespace synapse {

std::string Fixed(double v, int digits) {
  if (!std::isfinite(v)) return "n/a";
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

std::string Shortest(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string Percent(double fraction) { return Shortest(fraction * 100) + "%"; }

}  // namespace synapse
