// Seeds and random draws (private): every seed Synapse uses is derived here from the
// user's seed and what it seeds, so that adding a layer, a k or a query changes no other
// experiment's draws, and the analysis and the robustness tests draw alike.
#ifndef SYNAPSE_SRC_UTIL_SEEDS_H_
#define SYNAPSE_SRC_UTIL_SEEDS_H_

#include <cstdint>
#include <initializer_list>
#include <vector>

namespace synapse {

/// What each derived seed is for; DeriveSeed(seed, {purpose, ...}).
enum SeedPurpose : uint64_t {
  kSeedSplit = 1,          ///< the probes' train/test split
  kSeedRandomNeurons = 2,  ///< random-control neuron sets
  kSeedWeightNoise = 3,    ///< weight-noise draws
  kSeedNoiseDraw = 4,      ///< activation-noise draws after the first (robustness tests)
  kSeedHeadColumns = 5,    ///< random head columns (robustness tests)
  kSeedAdaptiveOrder = 6,  ///< the order adaptive evaluation reads examples in
};

/// A seed derived from the user's seed and what it seeds, so that adding a layer or a k
/// does not change any other experiment's draws (SplitMix64 over the parts).
uint64_t DeriveSeed(uint64_t seed, std::initializer_list<uint64_t> parts);

/// k distinct indices of [0, width), sorted: a partial Fisher-Yates shuffle on mt19937_64's
/// raw output (the standard distributions differ between standard libraries).
std::vector<int64_t> RandomNeurons(int64_t width, int64_t k, uint64_t seed);

/// A random order of [0, n): the same Fisher-Yates shuffle run to the end (adaptive
/// evaluation visits examples in it).
std::vector<int64_t> RandomOrder(int64_t n, uint64_t seed);

/// The random control's draw `draw` of k neurons at `layer`, as the analysis makes it.
inline std::vector<int64_t> RandomControlNeurons(uint64_t seed, int layer, int64_t width, int64_t k, int draw) {
  return RandomNeurons(width, k,
                       DeriveSeed(seed, {kSeedRandomNeurons, static_cast<uint64_t>(layer), static_cast<uint64_t>(k),
                                         static_cast<uint64_t>(draw)}));
}

}  // namespace synapse

#endif  // SYNAPSE_SRC_UTIL_SEEDS_H_
