// Writing output files so that a reader sees the old file or the whole new one (private).
//
//   synapse::MakeDirectories("reports/run-7");
//   synapse::WriteFileAtomically("reports/run-7/report.json", text);
#ifndef SYNAPSE_SRC_UTIL_ATOMIC_FILE_H_
#define SYNAPSE_SRC_UTIL_ATOMIC_FILE_H_

#include <string>

namespace synapse {

/// Writes `contents` to `path` via a temporary file in the same directory, flushed and
/// renamed into place. Throws DataError 208 naming the path when it cannot.
void WriteFileAtomically(const std::string& path, const std::string& contents);

/// Creates `dir` and its missing parents, like `mkdir -p`. Throws DataError 208 naming the
/// path when it cannot, or when it exists and is not a directory.
void MakeDirectories(const std::string& dir);

}  // namespace synapse

#endif  // SYNAPSE_SRC_UTIL_ATOMIC_FILE_H_
