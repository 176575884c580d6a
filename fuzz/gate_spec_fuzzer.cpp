// The gate spec and the robustness suite spec parsers: any file ends in a Spec or a
// synapse::Error naming the JSON path.
#include "fuzz_input.h"
#include "synapse/robustness/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = synapse::fuzz::WriteInput("spec.json", data, size);
  synapse::fuzz::ExpectCleanErrors([&] { synapse::robustness::LoadGateSpec(path); });
  synapse::fuzz::ExpectCleanErrors([&] { synapse::robustness::LoadSuiteSpec(path); });
  return 0;
}
