// Training a small BERT-style encoder classifier from scratch, saved as TorchScript.
//
//   synapse::EncoderConfig config;                         // 4 layers, hidden 128, 4 heads
//   synapse::LabelledExamples train = ..., validation = ...;  // token ids + class indices
//   synapse::TrainingResult r = synapse::TrainEncoderClassifier(
//       config, tokenizer->vocab_size(), /*num_classes=*/3, train, validation,
//       synapse::TrainingOptions().epochs(12), "model.pt");
//
// The module is built in C++ as a scripted TorchScript module with Hugging Face's names
// (`embeddings.word_embeddings`, `encoder.layer.N.attention.self.query`, ...,
// `pooler.dense`, `classifier`); every encoder layer is an instance of one class type, as
// in a scripted Hugging Face model. `forward(input_ids, attention_mask)` returns the
// logits (batch × classes). Post-LayerNorm blocks, GELU, learned positions, no token
// types. The saved file loads in Python with `torch.jit.load` and in Synapse with
// `Model::Load`.
//
// Training: AdamW (decoupled weight decay on matrices only), linear warm-up then linear
// decay, gradient clipping at norm 1, dropout, batches of similar length in a seeded
// shuffled order, and early stopping on the validation loss: the saved weights are those
// of the best epoch. Seeded; with one thread the result is the same on every run.
#ifndef SYNAPSE_TRAINING_H_
#define SYNAPSE_TRAINING_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "synapse/example.h"
#include "synapse/options.h"

namespace synapse {

struct EncoderConfig {
  SYNAPSE_ARG(int64_t, layers) = 4;
  SYNAPSE_ARG(int64_t, hidden) = 128;
  /// Attention heads; must divide `hidden`.
  SYNAPSE_ARG(int64_t, heads) = 4;
  /// Width of each layer's feed-forward block.
  SYNAPSE_ARG(int64_t, intermediate) = 256;
  /// Longest input the position embeddings cover (the tokenizer's max_length).
  SYNAPSE_ARG(int64_t, max_positions) = 128;
  SYNAPSE_ARG(double, dropout) = 0.1;
};

struct TrainingOptions {
  /// Most epochs; training stops earlier when the validation loss has not improved for
  /// `patience` epochs.
  SYNAPSE_ARG(int64_t, epochs) = 12;
  SYNAPSE_ARG(int64_t, patience) = 3;
  SYNAPSE_ARG(int64_t, batch_size) = 32;
  /// Peak learning rate, reached after `warmup_fraction` of all steps.
  SYNAPSE_ARG(double, learning_rate) = 1e-3;
  SYNAPSE_ARG(double, warmup_fraction) = 0.1;
  SYNAPSE_ARG(double, weight_decay) = 0.01;
  /// Seeds the initial weights, the dropout masks and the batch order.
  SYNAPSE_ARG(uint64_t, seed) = 2026;
};

/// Token-id examples with their class indices (0 .. num_classes-1).
struct LabelledExamples {
  std::vector<Example> examples;
  std::vector<int64_t> labels;
};

struct EpochRecord {
  int64_t epoch = 0;  // 1-based
  double train_loss = 0;
  double validation_loss = 0;
  double validation_accuracy = 0;
  double seconds = 0;
};

struct TrainingResult {
  std::vector<EpochRecord> epochs;
  /// The epoch whose weights were saved (lowest validation loss).
  int64_t best_epoch = 0;
  int64_t parameter_count = 0;
  double seconds = 0;
};

using EpochCallback = std::function<void(const EpochRecord&)>;

/// Builds the encoder, trains it on `train`, keeps the epoch with the lowest loss on
/// `validation`, and saves it in eval mode to `model_path` (written atomically).
/// Throws SpecError 310 for a bad configuration or option, DataError 209 for labels that
/// disagree with the examples or lie outside [0, num_classes), DataError 203 for a token id
/// outside [0, vocab_size) or an example longer than max_positions, DataError 208 when
/// `model_path` cannot be written.
TrainingResult TrainEncoderClassifier(const EncoderConfig& config, int64_t vocab_size, int64_t num_classes,
                                      const LabelledExamples& train, const LabelledExamples& validation,
                                      const TrainingOptions& options, const std::string& model_path,
                                      const EpochCallback& on_epoch = {});

}  // namespace synapse

#endif  // SYNAPSE_TRAINING_H_
