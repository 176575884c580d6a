// The memory budget's arithmetic: sizes as users write them, the refusal and its message.
#include "synapse/memory_budget.h"
#include "util/byte_size.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "synapse/error.h"
#include "test_util.h"

namespace synapse {
namespace {

TEST(ParseByteSize, AcceptsBytesAndBinaryUnits) {
  EXPECT_EQ(ParseByteSize("1000000"), 1000000);
  EXPECT_EQ(ParseByteSize("512M"), 512LL << 20);
  EXPECT_EQ(ParseByteSize("4g"), 4LL << 30);
  EXPECT_EQ(ParseByteSize("1.5GiB"), 3LL << 29);
  EXPECT_EQ(ParseByteSize("2TB"), 2LL << 40);
  EXPECT_EQ(ParseByteSize("64KiB"), 64LL << 10);
}

TEST(ParseByteSize, RejectsWhatIsNotASize) {
  for (const char* bad : {"", "G", "10Q", "-1G", "0", "nan", "1e30T", "4 G"}) {
    test::ExpectError<UsageError>([&] { ParseByteSize(bad, "--memory-budget"); }, 401,
                                  "--memory-budget: expected a size such as 512M");
  }
}

TEST(FormatBytes, PicksTheLargestUnitBelow1024) {
  EXPECT_EQ(FormatBytes(12), "12 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(3LL << 29), "1.5 GiB");
}

TEST(CheckMemoryBudget, RefusesAnEstimateOverTheBudgetAndSaysWhatToLower) {
  MemoryEstimate e;
  e.activation_bytes = 600LL << 20;
  e.batch_bytes = 300LL << 20;
  e.parameter_bytes = 100LL << 20;
  e.examples = 100000;
  e.layers = 12;
  e.widest_layer = 768;
  e.longest_example = 128;
  EXPECT_EQ(e.total(), 1000LL << 20);
  CheckMemoryBudget(e, 1000LL << 20);  // exactly fits
  CheckMemoryBudget(e, -1);            // no check
  test::ExpectError<DataError>([&] { CheckMemoryBudget(e, 512LL << 20); }, 212,
                               "extraction would need about 1000.0 MiB (600.0 MiB pooled activations of 100000 "
                               "examples × 12 layers × 768, 300.0 MiB for one batch of up to 128 tokens, 100.0 MiB "
                               "of parameters), more than the memory budget of 512.0 MiB: lower --max-examples");
  EXPECT_GT(DefaultMemoryBudget(), 0);
}

TEST(CheckMemoryBudget, CountsTheCutValuesOfASweep) {
  MemoryEstimate e;
  e.activation_bytes = 1LL << 20;
  e.batch_bytes = 100LL << 20;
  e.parameter_bytes = 10LL << 20;
  e.cut_bytes = 400LL << 20;
  e.cuts = 4;
  e.examples = 1000;
  e.widest_layer = 768;
  e.longest_example = 128;
  EXPECT_EQ(e.total(), 511LL << 20);
  CheckMemoryBudget(e, 511LL << 20, "the sweep");
  test::ExpectError<DataError>([&] { CheckMemoryBudget(e, 200LL << 20, "the sweep"); }, 212,
                               "the sweep would need about 511.0 MiB (1.0 MiB of logits for 1000 examples, 100.0 MiB "
                               "for one batch of up to 128 tokens, 10.0 MiB of parameters, 400.0 MiB of cut values at "
                               "4 layers), more than the memory budget of 200.0 MiB");
}

}  // namespace
}  // namespace synapse
