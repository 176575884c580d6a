#include "shard.h"

#include <cstdlib>
#include <fstream>

#include "synapse/error.h"

namespace synapse::cli {
namespace {

bool ParseCount(const std::string& text, int* out) {
  if (text.empty() || text.size() > 6) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  *out = std::stoi(text);
  return true;
}

}  // namespace

bool Shard::Owns(size_t i, size_t count) const {
  const size_t first = count * static_cast<size_t>(index) / static_cast<size_t>(total);
  const size_t end = count * static_cast<size_t>(index + 1) / static_cast<size_t>(total);
  return i >= first && i < end;
}

nlohmann::ordered_json Shard::Json() const { return {{"index", index}, {"total", total}}; }

Shard ResolveShard(const std::string& flag) {
  Shard s;
  std::string index_text, total_text, origin;
  if (!flag.empty()) {
    const size_t slash = flag.find('/');
    if (slash == std::string::npos) {
      throw UsageError(405, "--shard " + flag + ": expected I/N (shard I of N, 0 ≤ I < N)");
    }
    index_text = flag.substr(0, slash);
    total_text = flag.substr(slash + 1);
    origin = "--shard " + flag;
  } else {
    const char* total = std::getenv("GTEST_TOTAL_SHARDS");
    const char* index = std::getenv("GTEST_SHARD_INDEX");
    if (total == nullptr && index == nullptr) return s;
    if (total == nullptr || index == nullptr) {
      throw UsageError(405, std::string(total ? "GTEST_TOTAL_SHARDS" : "GTEST_SHARD_INDEX") + " is set but " +
                                (total ? "GTEST_SHARD_INDEX" : "GTEST_TOTAL_SHARDS") + " is not");
    }
    index_text = index;
    total_text = total;
    origin = "GTEST_SHARD_INDEX=" + index_text + ", GTEST_TOTAL_SHARDS=" + total_text;
  }
  if (!ParseCount(index_text, &s.index) || !ParseCount(total_text, &s.total) || s.total < 1 || s.index >= s.total) {
    throw UsageError(405, origin + ": expected shard I of N with 0 ≤ I < N");
  }
  if (const char* status = std::getenv("GTEST_SHARD_STATUS_FILE")) std::ofstream touch(status, std::ios::app);
  return s;
}

}  // namespace synapse::cli
