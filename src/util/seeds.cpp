#include "util/seeds.h"

#include <algorithm>
#include <random>

#include "util/hashing.h"

namespace synapse {

uint64_t DeriveSeed(uint64_t seed, std::initializer_list<uint64_t> parts) {
  uint64_t h = SplitMix64(seed);
  for (uint64_t p : parts) h = SplitMix64(h ^ p);
  return h;
}

namespace {

// The first k of a partial Fisher-Yates shuffle of [0, width) on mt19937_64's raw output (the
// standard distributions differ between standard libraries), in drawing order.
std::vector<int64_t> ShuffledPrefix(int64_t width, int64_t k, uint64_t seed) {
  std::vector<int64_t> all(static_cast<size_t>(width));
  for (int64_t i = 0; i < width; ++i) all[static_cast<size_t>(i)] = i;
  std::mt19937_64 engine(seed);
  for (int64_t i = 0; i < k; ++i) {
    const uint64_t span = static_cast<uint64_t>(width - i);
    const int64_t j = i + static_cast<int64_t>(engine() % span);
    std::swap(all[static_cast<size_t>(i)], all[static_cast<size_t>(j)]);
  }
  all.resize(static_cast<size_t>(k));
  return all;
}

}  // namespace

std::vector<int64_t> RandomNeurons(int64_t width, int64_t k, uint64_t seed) {
  std::vector<int64_t> out = ShuffledPrefix(width, k, seed);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int64_t> RandomOrder(int64_t n, uint64_t seed) { return ShuffledPrefix(n, n, seed); }

}  // namespace synapse
