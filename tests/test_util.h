// Helpers shared by the tests.
#ifndef SYNAPSE_TESTS_TEST_UTIL_H_
#define SYNAPSE_TESTS_TEST_UTIL_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include "synapse/runtime.h"

namespace synapse::test {

/// A fresh scratch directory for one test.
// The LibTorch this build runs on ("1.13.0", "2.6.0", "2.14.1"), and its major version: where a
// behaviour is LibTorch's own, tests expect what that version does.
inline const std::string& LibTorchVersion() {
  static const std::string version = DescribeRuntime().libtorch_version;
  return version;
}
inline int LibTorchMajor() { return std::stoi(LibTorchVersion()); }
/// Whether this LibTorch is MAJOR.MINOR or later ("2.6.0" is at least 2.6, not 2.14).
inline bool LibTorchAtLeast(int major, int minor) {
  const std::string& v = LibTorchVersion();
  const size_t dot = v.find('.');
  const int have_minor = dot == std::string::npos ? 0 : std::stoi(v.substr(dot + 1));
  return LibTorchMajor() > major || (LibTorchMajor() == major && have_minor >= minor);
}

inline std::string TempDir(const std::string& name) {
  std::string base = SYNAPSE_TEST_TMP;
  mkdir(base.c_str(), 0755);
  std::string dir = base + "/" + name;
  std::system(("rm -rf '" + dir + "'").c_str());
  mkdir(dir.c_str(), 0755);
  return dir;
}

inline void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

/// Runs a shell command, capturing stdout and stderr separately.
inline CommandResult RunCommand(const std::string& command, const std::string& scratch) {
  std::string err_path = scratch + "/stderr.txt";
  CommandResult r;
  FILE* pipe = popen((command + " 2>'" + err_path + "'").c_str(), "r");
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.err = ReadFile(err_path);
  return r;
}

/// Expects `f` to throw E with stable id `id`, a one-line message containing `message`,
/// and no C++ backtrace.
template <typename E, typename F>
void ExpectError(F&& f, int id, const std::string& message) {
  try {
    f();
    ADD_FAILURE() << "expected error " << id;
  } catch (const E& e) {
    EXPECT_EQ(e.id(), id) << e.what();
    EXPECT_THAT(e.what(), ::testing::HasSubstr(message));
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "not one line: " << e.what();
    EXPECT_THAT(e.what(), ::testing::Not(::testing::HasSubstr("Exception raised from")));
  }
}

}  // namespace synapse::test

#endif  // SYNAPSE_TESTS_TEST_UTIL_H_
