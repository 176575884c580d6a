#include "util/npy.h"

#include <cstring>

#include "util/atomic_file.h"

namespace synapse {
namespace {

// Magic, version 1.0, a little-endian header length, and the header dict padded with
// spaces to a multiple of 64 bytes and ended by '\n' (the NumPy format specification).
std::string Header(const std::string& descr, const std::string& shape) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(1);
  out += static_cast<char>(0);
  const uint16_t len = static_cast<uint16_t>(dict.size());
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>(len >> 8);
  return out + dict;
}

template <typename T>
void AppendLittleEndian(std::string* out, const T* data, size_t n) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8);
  // Every platform LibTorch runs on is little-endian; NumPy's "<" says so.
  const size_t at = out->size();
  out->resize(at + n * sizeof(T));
  std::memcpy(&(*out)[at], data, n * sizeof(T));
}

}  // namespace

void WriteNpy(const std::string& path, const Eigen::MatrixXf& matrix) {
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows = matrix;
  std::string out = Header("<f4", "(" + std::to_string(rows.rows()) + ", " + std::to_string(rows.cols()) + ")");
  AppendLittleEndian(&out, rows.data(), static_cast<size_t>(rows.size()));
  WriteFileAtomically(path, out);
}

void WriteNpy(const std::string& path, const std::vector<int64_t>& values) {
  std::string out = Header("<i8", "(" + std::to_string(values.size()) + ",)");
  AppendLittleEndian(&out, values.data(), values.size());
  WriteFileAtomically(path, out);
}

}  // namespace synapse
