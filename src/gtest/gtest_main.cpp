// main() for robustness test binaries (link synapse::gtest_main). Linking synapse::gtest
// alone already reads the --synapse_* flags and writes the reports under any main()
// (reporters.cpp); this one adds, before anything runs: a one-line error and exit 2 for a
// bad --synapse_* flag, the --synapse_* flags out of argv, freed memory kept for the many
// forward passes (runtime.h), and one intra-op thread unless --synapse_threads says
// otherwise (small models run fastest single-threaded).
#include <gmock/gmock.h>

#include <iostream>

#include "synapse/error.h"
#include "synapse/robustness/config.h"
#include "synapse/runtime.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleMock(&argc, argv);
  try {
    synapse::robustness::InitSynapse(&argc, argv);
  } catch (const synapse::Error& e) {
    std::cerr << argv[0] << ": " << e.what() << "\n";
    return 2;
  }
  synapse::KeepFreedMemory();
  if (synapse::robustness::SettingFromFlagsOrEnvironment("threads").empty()) synapse::SetThreads(1);
  return RUN_ALL_TESTS();
}
