// NumPy .npy files (format 1.0), written atomically (private).
#ifndef SYNAPSE_SRC_UTIL_NPY_H_
#define SYNAPSE_SRC_UTIL_NPY_H_

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

namespace synapse {

/// A row-major float32 array of shape rows × cols ("<f4", C order).
void WriteNpy(const std::string& path, const Eigen::MatrixXf& matrix);
/// A 1-D int64 array ("<i8").
void WriteNpy(const std::string& path, const std::vector<int64_t>& values);

}  // namespace synapse

#endif  // SYNAPSE_SRC_UTIL_NPY_H_
