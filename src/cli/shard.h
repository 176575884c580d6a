// Shards of a command that spreads over CI machines, the way GoogleTest shards tests:
// `--shard I/N`, else GTEST_TOTAL_SHARDS and GTEST_SHARD_INDEX.
//
//   Shard s = ResolveShard(shard_flag);            // "1/4", or "" for the environment
//   for (size_t i = 0; i < items; ++i) if (s.Owns(i, items)) Run(i);
#ifndef SYNAPSE_SRC_CLI_SHARD_H_
#define SYNAPSE_SRC_CLI_SHARD_H_

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

namespace synapse::cli {

struct Shard {
  int index = 0;
  int total = 1;
  /// Whether item i of `count` is this shard's: shards own contiguous blocks, so shard
  /// reports merged in shard order keep the unsharded order.
  bool Owns(size_t i, size_t count) const;
  /// {"index": I, "total": N}.
  nlohmann::ordered_json Json() const;
};

/// The shard `flag` names ("I/N", 0 ≤ I < N), else the one GTEST_TOTAL_SHARDS and
/// GTEST_SHARD_INDEX name, else 0/1. Touches GTEST_SHARD_STATUS_FILE when set, as GoogleTest
/// does, to say the command shards. Throws UsageError 405 for a malformed or
/// out-of-range shard, naming where it came from.
Shard ResolveShard(const std::string& flag);

}  // namespace synapse::cli

#endif  // SYNAPSE_SRC_CLI_SHARD_H_
