// Byte sizes as people write them (private): "512M" for --memory-budget, "1.5 GiB" in
// messages.
//
//   int64_t budget = synapse::ParseByteSize("4G");   // 4 << 30
//   std::string text = synapse::FormatBytes(budget);  // "4.0 GiB"
#ifndef SYNAPSE_SRC_UTIL_BYTE_SIZE_H_
#define SYNAPSE_SRC_UTIL_BYTE_SIZE_H_

#include <cstdint>
#include <string>

namespace synapse {

/// "512M", "4G", "1.5GiB", "2TB", "1000000" (bytes) → bytes; K/M/G/T are powers of 1024.
/// Throws UsageError 401 naming `what` on anything else.
int64_t ParseByteSize(const std::string& text, const std::string& what = "--memory-budget");

/// "1.5 GiB", "300.0 MiB", "12 B".
std::string FormatBytes(int64_t bytes);

}  // namespace synapse

#endif  // SYNAPSE_SRC_UTIL_BYTE_SIZE_H_
