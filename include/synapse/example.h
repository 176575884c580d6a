// One model input: token ids (with optional mask and token types) or one float tensor.
//
//   synapse::Example e;
//   e.input_ids = {101, 7592, 2088, 102};          // attention_mask defaults to all ones
//   synapse::Example f = synapse::Example::Features({0.1f, 0.2f}, {2});
#ifndef SYNAPSE_EXAMPLE_H_
#define SYNAPSE_EXAMPLE_H_

#include <cstdint>
#include <vector>

namespace synapse {

struct Example {
  /// Token ids, for models whose forward takes `input_ids`.
  std::vector<int64_t> input_ids;
  /// 1 for real tokens, 0 for padding; empty means all ones.
  std::vector<int64_t> attention_mask;
  /// Segment ids for sentence pairs; empty means all zeros.
  std::vector<int64_t> token_type_ids;
  /// Values of the float input (row-major), for models such as tabular or vision encoders.
  std::vector<float> features;
  /// Shape of `features` for one example, e.g. {16} or {3, 32, 32}; empty means {size}.
  std::vector<int64_t> feature_shape;

  static Example Tokens(std::vector<int64_t> ids, std::vector<int64_t> mask = {}) {
    Example e;
    e.input_ids = std::move(ids);
    e.attention_mask = std::move(mask);
    return e;
  }
  static Example Features(std::vector<float> values, std::vector<int64_t> shape = {}) {
    Example e;
    e.features = std::move(values);
    e.feature_shape = std::move(shape);
    return e;
  }
};

}  // namespace synapse

#endif  // SYNAPSE_EXAMPLE_H_
