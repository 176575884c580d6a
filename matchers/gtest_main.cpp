// main() for robustness test binaries (link synapse::gtest_main): GoogleTest's and
// Synapse's flags, the reporters, and one-line errors for bad --synapse_* flags (exit 2).
#include <gmock/gmock.h>

#include <iostream>

#include "synapse/error.h"
#include "synapse/runtime.h"
#include "synapse/testing/config.h"
#include "synapse/testing/reporters.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleMock(&argc, argv);
  try {
    synapse::testing::InitSynapse(&argc, argv);
    // Robustness tests run many forward passes: keep freed memory (runtime.h), and use the
    // thread count asked for, else one (small models run fastest single-threaded).
    synapse::KeepFreedMemory();
    const std::string threads = synapse::testing::SettingFromFlagsOrEnvironment("threads");
    synapse::SetThreads(threads.empty() ? 1 : std::max(1, std::atoi(threads.c_str())));
  } catch (const synapse::Error& e) {
    std::cerr << argv[0] << ": " << e.what() << "\n";
    return 2;
  }
  synapse::testing::InstallReporters();
  return RUN_ALL_TESTS();
}
