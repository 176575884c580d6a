// synapse::KeepFreedMemory: large blocks come from the heap and stay there once freed.
#include "synapse/runtime.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace synapse {
namespace {

#ifdef __GLIBC__
TEST(KeepFreedMemoryTest, LargeBlocksAreHeapMemoryThatFreeKeeps) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer replaces glibc's malloc, whose tuning this tests";
#endif
  // Where glibc trims the heap whatever its settings (2.43 does), KeepFreedMemory says so.
  if (!KeepFreedMemory()) GTEST_SKIP() << "this glibc gives freed heap blocks back to the kernel whatever its settings";
  const size_t size = 8u << 20;  // like an activation tensor: far above glibc's 128 KiB default threshold
  const struct mallinfo2 before = mallinfo2();
  void* block = std::malloc(size);
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, size);
  const struct mallinfo2 held = mallinfo2();
  EXPECT_EQ(held.hblks, before.hblks) << "the block was mmapped, not taken from the heap";
  std::free(block);
  const struct mallinfo2 after = mallinfo2();
  EXPECT_GE(after.fordblks, size) << "the freed block was handed back to the kernel";
  EXPECT_GE(after.arena, size);
}
#endif

}  // namespace
}  // namespace synapse

namespace synapse {
namespace {

// A loaded machine slows OpenBLAS below the speed threshold (8 GFLOP/s measured with a CI
// run beside it); it must not be told to install what it already has.
TEST(FastBlasTest, AKnownOptimizedBlasIsFastHoweverBusyTheMachine) {
  EXPECT_TRUE(IsFastBlas("openblas", 8.0));
  EXPECT_TRUE(IsFastBlas("mkl", 0.5));
  EXPECT_TRUE(IsFastBlas("blis", 3.0));
  EXPECT_FALSE(IsFastBlas("reference", 500.0));
  EXPECT_FALSE(IsFastBlas("unknown", 6.0));
  EXPECT_TRUE(IsFastBlas("unknown", 40.0));
}

}  // namespace
}  // namespace synapse
