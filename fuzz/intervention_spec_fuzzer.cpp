// The intervention SPEC grammar (SITE:OP[=ARG]:NEURONS[:POSITIONS]): any string ends in an
// Intervention or a synapse::Error.
#include "fuzz_input.h"
#include "synapse/intervention.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string spec(reinterpret_cast<const char*>(data), size);
  synapse::fuzz::ExpectCleanErrors([&] { synapse::ParseIntervention(spec); });
  return 0;
}
