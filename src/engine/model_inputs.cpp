// PrepareInputs: a batch of examples as the arguments of the model's forward.
#include <algorithm>
#include <string>
#include <vector>

#include "engine/model_impl.h"
#include "synapse/error.h"

namespace synapse {
namespace {

// The batch's size, pooling, seed and dataset index of each example (from `options`).
BatchGeometry GeometryOf(int64_t n, const RunOptions& options) {
  BatchGeometry geometry;
  geometry.batch = n;
  geometry.pool = options.pool();
  geometry.seed = options.seed();
  if (!options.example_indices().empty()) {
    if (static_cast<int64_t>(options.example_indices().size()) != n) {
      throw DataError(207, "example_indices has " + std::to_string(options.example_indices().size()) +
                               " entries for a batch of " + std::to_string(n));
    }
    geometry.example_index = options.example_indices();
  } else {
    for (int64_t i = 0; i < n; ++i) geometry.example_index.push_back(options.first_example_index() + i);
  }
  return geometry;
}

// DataError 203 when a token example has no ids, or a mask or types of another length.
void CheckTokenExample(const Example& e, int64_t example) {
  if (e.input_ids.empty()) {
    throw DataError(203, "example " + std::to_string(example) + ": no input_ids (the model takes token ids)", example);
  }
  if (!e.attention_mask.empty() && e.attention_mask.size() != e.input_ids.size()) {
    throw DataError(203,
                    "example " + std::to_string(example) + ": attention_mask has " +
                        std::to_string(e.attention_mask.size()) + " entries, input_ids " +
                        std::to_string(e.input_ids.size()),
                    example);
  }
  if (!e.token_type_ids.empty() && e.token_type_ids.size() != e.input_ids.size()) {
    throw DataError(203,
                    "example " + std::to_string(example) + ": token_type_ids has " +
                        std::to_string(e.token_type_ids.size()) + " entries, input_ids " +
                        std::to_string(e.input_ids.size()),
                    example);
  }
}

struct TokenTensors {
  at::Tensor ids, mask, types;
};

// The token examples padded to the longest with `pad_id` (mask 0, type 0); sets the
// geometry's token count and real positions.
TokenTensors PadTokens(const std::vector<Example>& batch, int64_t pad_id, BatchGeometry* geometry) {
  const int64_t n = geometry->batch;
  int64_t t = 0;
  for (int64_t i = 0; i < n; ++i) {
    const Example& e = batch[static_cast<size_t>(i)];
    CheckTokenExample(e, geometry->example_index[static_cast<size_t>(i)]);
    t = std::max<int64_t>(t, static_cast<int64_t>(e.input_ids.size()));
  }
  TokenTensors out;
  out.ids = at::full({n, t}, pad_id, at::kLong);
  out.mask = at::zeros({n, t}, at::kLong);
  out.types = at::zeros({n, t}, at::kLong);
  auto ids_a = out.ids.accessor<int64_t, 2>();
  auto mask_a = out.mask.accessor<int64_t, 2>();
  auto types_a = out.types.accessor<int64_t, 2>();
  for (int64_t i = 0; i < n; ++i) {
    const Example& e = batch[static_cast<size_t>(i)];
    for (size_t j = 0; j < e.input_ids.size(); ++j) {
      ids_a[i][j] = e.input_ids[j];
      mask_a[i][j] = e.attention_mask.empty() ? 1 : e.attention_mask[j];
      types_a[i][j] = e.token_type_ids.empty() ? 0 : e.token_type_ids[j];
    }
  }
  geometry->tokens = t;
  geometry->real = out.mask.ne(0);
  return out;
}

// DataError 203 when a row is outside what a package was exported for: its token count
// (the padded batch's) outside the exported range, or an id or token type past its
// embeddings. The compiled code would index out of bounds inside a parallel region, where
// the error cannot be reported, so rows are checked before it runs.
void CheckPackageRows(const aoti::Package& package, const std::vector<Example>& batch, int64_t pad_id,
                      const BatchGeometry& geometry) {
  const std::string range = std::to_string(package.min_tokens()) + " to " + std::to_string(package.max_tokens());
  for (size_t i = 0; i < batch.size(); ++i) {
    const Example& e = batch[i];
    const int64_t example = geometry.example_index[i];
    const int64_t n = static_cast<int64_t>(e.input_ids.size());
    if (n > package.max_tokens()) {
      throw DataError(203,
                      "example " + std::to_string(example) + ": " + std::to_string(n) +
                          " tokens; the package takes " + range + " per row (truncate with --max-length " +
                          std::to_string(package.max_tokens()) + ")",
                      example);
    }
    for (int64_t id : e.input_ids) {
      if (package.vocab_size() > 0 && (id < 0 || id >= package.vocab_size())) {
        throw DataError(203,
                        "example " + std::to_string(example) + ": token id " + std::to_string(id) +
                            " is outside the model's vocabulary (0.." + std::to_string(package.vocab_size() - 1) + ")",
                        example);
      }
    }
    for (int64_t t : e.token_type_ids) {
      if (package.type_vocab_size() > 0 && (t < 0 || t >= package.type_vocab_size())) {
        throw DataError(203,
                        "example " + std::to_string(example) + ": token type " + std::to_string(t) +
                            " is outside the model's " + std::to_string(package.type_vocab_size()) + " types",
                        example);
      }
    }
  }
  if (package.vocab_size() > 0 && (pad_id < 0 || pad_id >= package.vocab_size()) &&
      static_cast<int64_t>(batch.size()) > 1) {
    throw DataError(203, "the pad id " + std::to_string(pad_id) + " is outside the model's vocabulary (0.." +
                             std::to_string(package.vocab_size() - 1) + "); give the model's own with --pad-id");
  }
  if (geometry.tokens < package.min_tokens()) {
    throw DataError(203, "example " + std::to_string(geometry.example_index.front()) + ": " +
                             std::to_string(geometry.tokens) + " token(s); the package takes " + range +
                             " per row (add the model's special tokens, or export again)",
                    geometry.example_index.front());
  }
}

// The feature examples as one float tensor [batch, shape...]; sets the geometry's one
// token per example.
at::Tensor StackFeatures(const Model::Impl& m, const std::vector<Example>& batch, BatchGeometry* geometry) {
  const int64_t n = geometry->batch;
  // Every example must have the model's declared shape, else the first example's.
  auto shape_of = [](const Example& e) {
    return e.feature_shape.empty() ? std::vector<int64_t>{static_cast<int64_t>(e.features.size())} : e.feature_shape;
  };
  const bool declared = !m.options.input_shape().empty();
  const std::vector<int64_t> shape = declared ? m.options.input_shape() : shape_of(batch.front());
  const std::string reference = declared ? "the model expects " : "the batch's first example has ";
  int64_t size = 1;
  for (int64_t d : shape) size *= d;
  std::vector<int64_t> full = {n};
  full.insert(full.end(), shape.begin(), shape.end());
  at::Tensor features = at::empty(full, at::kFloat);
  float* dst = features.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    const Example& e = batch[static_cast<size_t>(i)];
    const int64_t example = geometry->example_index[static_cast<size_t>(i)];
    if (shape_of(e) != shape || static_cast<int64_t>(e.features.size()) != size) {
      throw DataError(206,
                      "example " + std::to_string(example) + ": features of shape " + DescribeShape(shape_of(e)) +
                          ", " + reference + DescribeShape(shape),
                      example);
    }
    std::copy(e.features.begin(), e.features.end(), dst + i * size);
  }
  geometry->tokens = 1;
  geometry->real = at::ones({n, 1}, at::kBool);
  return features;
}

// The padded tensor of a token argument ("input_ids", "attention_mask", "token_type_ids"),
// or null for any other name.
const at::Tensor* TokenTensorNamed(const TokenTensors& tokens, const std::string& name) {
  if (name == "input_ids") return &tokens.ids;
  if (name == "attention_mask") return &tokens.mask;
  if (name == "token_type_ids") return &tokens.types;
  return nullptr;
}

// forward's arguments after `self`, in its signature's order; defaults for the others.
std::vector<c10::IValue> ForwardArguments(const Model::Impl& m, const TokenTensors& tokens,
                                          const at::Tensor& features) {
  std::vector<c10::IValue> arguments;
  if (m.package) {
    for (const std::string& name : m.inputs.argument_names) {
      const at::Tensor* t = TokenTensorNamed(tokens, name);
      if (t == nullptr) {
        throw ModelError(103, m.path + ": the package takes \"" + name + "\", which Synapse cannot supply");
      }
      arguments.emplace_back(*t);
    }
    return arguments;
  }
  const auto& schema = m.module.get_method("forward").function().getSchema();
  for (size_t a = 1; a < schema.arguments().size(); ++a) {
    const auto& arg = schema.arguments()[a];
    const std::string& name = arg.name();
    if (const at::Tensor* t = TokenTensorNamed(tokens, name))
      arguments.emplace_back(*t);
    else if (name == m.inputs.float_argument)
      arguments.emplace_back(features);
    else
      arguments.push_back(*arg.default_value());
  }
  return arguments;
}

}  // namespace

PreparedInputs PrepareInputs(const Model::Impl& m, const std::vector<Example>& batch, const RunOptions& options) {
  if (batch.empty()) throw DataError(207, "a batch needs at least one example");
  PreparedInputs out;
  out.geometry = GeometryOf(static_cast<int64_t>(batch.size()), options);
  TokenTensors tokens;
  at::Tensor features;
  if (m.inputs.kind == InputInfo::Kind::kTokens) {
    tokens = PadTokens(batch, options.pad_id(), &out.geometry);
    if (m.package) CheckPackageRows(*m.package, batch, options.pad_id(), out.geometry);
  } else {
    features = StackFeatures(m, batch, &out.geometry);
  }
  out.arguments = ForwardArguments(m, tokens, features);
  return out;
}

}  // namespace synapse
