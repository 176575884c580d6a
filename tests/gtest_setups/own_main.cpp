// A team's own main(): GoogleTest's initialisation and nothing from Synapse. Linking
// synapse::gtest is enough for the --synapse_* flags, SYNAPSE_* variables and reports.
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
