// What every fuzz target shares: the input as a file (the readers take paths), and the
// contract that bad input may only end in a synapse::Error with a one-line message.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "synapse/error.h"

namespace synapse::fuzz {

// Writes `size` bytes to a file named `name` in this process's scratch directory and
// returns its path.
inline std::string WriteInput(const std::string& name, const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    const char* base = std::getenv("TMPDIR");
    std::string d = std::string(base ? base : "/tmp") + "/synapse-fuzz-" + std::to_string(getpid());
    std::string cmd = "mkdir -p '" + d + "'";
    if (std::system(cmd.c_str()) != 0) std::abort();
    return d;
  }();
  const std::string path = dir + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

// Runs `f`; a synapse::Error is the documented outcome of bad input, but its message must be
// one line. Any other exception escapes, and libFuzzer reports it as a crash.
template <typename F>
void ExpectCleanErrors(F&& f) {
  try {
    f();
  } catch (const synapse::Error& e) {
    if (std::strchr(e.what(), '\n') != nullptr) {
      std::fprintf(stderr, "error message is not one line: %s\n", e.what());
      std::abort();
    }
  }
}

}  // namespace synapse::fuzz
