// TrainEncoderClassifier: a BERT-style encoder built as a scripted TorchScript module in
// C++ (Module::define), trained with LibTorch's autograd and AdamW.
#include "synapse/training.h"

#include <torch/csrc/jit/python/update_graph_executor_opt.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <sstream>

#include "util/atomic_file.h"
#include "synapse/error.h"

namespace synapse {
namespace {

using torch::jit::Module;

// Creates module instances; instances of one kind share one class type, so every encoder
// layer has one graph, as in a scripted Hugging Face model.
class ModuleFactory {
 public:
  // A fresh instance of `kind`; `is_new` tells the caller to define its methods once its
  // attributes are registered.
  Module Make(const std::string& kind, bool* is_new) {
    auto it = types_.find(kind);
    *is_new = it == types_.end();
    Module m = *is_new ? Module(c10::QualifiedName("__torch__.synapse." + kind), cu_) : Module(cu_, it->second);
    if (*is_new) types_[kind] = m.type();
    m.register_attribute("training", c10::BoolType::get(), true);
    return m;
  }

 private:
  std::shared_ptr<torch::jit::CompilationUnit> cu_ = std::make_shared<torch::jit::CompilationUnit>();
  std::map<std::string, c10::ClassTypePtr> types_;
};

class EncoderBuilder {
 public:
  explicit EncoderBuilder(const EncoderConfig& c) : c_(c) {
    std::ostringstream p;
    p.precision(9);
    p << c.dropout();
    dropout_ = p.str();
    if (dropout_.find_first_of(".e") == std::string::npos) dropout_ += ".0";
  }

  Module Classifier(int64_t vocab_size, int64_t num_classes) {
    bool is_new = false;
    Module m = factory_.Make("BertForSequenceClassification", &is_new);
    m.register_module("embeddings", Embeddings(vocab_size));
    m.register_module("encoder", Encoder());
    m.register_module("pooler", WithDense("BertPooler", c_.hidden(), c_.hidden(), false,
                                          "def forward(self, hidden):\n"
                                          "    return torch.tanh(self.dense.forward(hidden[:, 0]))\n"));
    m.register_module("classifier", Linear(c_.hidden(), num_classes));
    m.define(
        "def forward(self, input_ids, attention_mask):\n"
        "    mask_bias = (1.0 - attention_mask.unsqueeze(1).unsqueeze(2)) * -10000.0\n"
        "    hidden = self.encoder.forward(self.embeddings.forward(input_ids), mask_bias)\n"
        "    pooled = torch.dropout(self.pooler.forward(hidden), " +
        dropout_ +
        ", self.training)\n"
        "    return self.classifier.forward(pooled)\n");
    return m;
  }

 private:
  Module Linear(int64_t in, int64_t out) {
    bool is_new = false;
    Module m = factory_.Make("Linear", &is_new);
    m.register_parameter("weight", torch::randn({out, in}) * 0.02, false);
    m.register_parameter("bias", torch::zeros({out}), false);
    if (is_new) m.define("def forward(self, x):\n    return torch.linear(x, self.weight, self.bias)\n");
    return m;
  }

  Module LayerNorm(int64_t width) {
    bool is_new = false;
    Module m = factory_.Make("LayerNorm", &is_new);
    m.register_parameter("weight", torch::ones({width}), false);
    m.register_parameter("bias", torch::zeros({width}), false);
    if (is_new) {
      m.define(
          "def forward(self, x):\n"
          "    return torch.layer_norm(x, [self.weight.size(0)], self.weight, self.bias, 1e-12)\n");
    }
    return m;
  }

  Module Embedding(int64_t rows) {
    bool is_new = false;
    Module m = factory_.Make("Embedding", &is_new);
    m.register_parameter("weight", torch::randn({rows, c_.hidden()}) * 0.02, false);
    if (is_new) m.define("def forward(self, ids):\n    return torch.embedding(self.weight, ids)\n");
    return m;
  }

  // A module whose parts are `dense` (in → out) and, with `norm`, a LayerNorm.
  Module WithDense(const std::string& kind, int64_t in, int64_t out, bool norm, const std::string& source) {
    bool is_new = false;
    Module m = factory_.Make(kind, &is_new);
    m.register_module("dense", Linear(in, out));
    if (norm) m.register_module("LayerNorm", LayerNorm(out));
    if (is_new) m.define(source);
    return m;
  }

  Module Embeddings(int64_t vocab_size) {
    bool is_new = false;
    Module m = factory_.Make("BertEmbeddings", &is_new);
    m.register_module("word_embeddings", Embedding(vocab_size));
    m.register_module("position_embeddings", Embedding(c_.max_positions()));
    m.register_module("LayerNorm", LayerNorm(c_.hidden()));
    m.define(
        "def forward(self, input_ids):\n"
        "    positions = torch.arange(input_ids.size(1), device=input_ids.device).unsqueeze(0)\n"
        "    x = self.word_embeddings.forward(input_ids) + self.position_embeddings.forward(positions)\n"
        "    return torch.dropout(self.LayerNorm.forward(x), " +
        dropout_ + ", self.training)\n");
    return m;
  }

  // The residual output blocks: dense, dropout, add, LayerNorm.
  std::string ResidualSource() const {
    return "def forward(self, x, residual):\n"
           "    return self.LayerNorm.forward(torch.dropout(self.dense.forward(x), " +
           dropout_ + ", self.training) + residual)\n";
  }

  Module SelfAttention() {
    bool is_new = false;
    Module m = factory_.Make("BertSelfAttention", &is_new);
    for (const char* name : {"query", "key", "value"}) m.register_module(name, Linear(c_.hidden(), c_.hidden()));
    if (is_new) {
      const int64_t heads = c_.heads(), head_size = c_.hidden() / c_.heads();
      const std::string h = std::to_string(heads), d = std::to_string(head_size);
      std::ostringstream scale;
      scale.precision(17);
      scale << 1.0 / std::sqrt(static_cast<double>(head_size));
      m.define(
          "def forward(self, hidden, mask_bias):\n"
          "    b = hidden.size(0)\n"
          "    t = hidden.size(1)\n"
          "    q = self.query.forward(hidden).view(b, t, " +
          h + ", " + d +
          ").transpose(1, 2)\n"
          "    k = self.key.forward(hidden).view(b, t, " +
          h + ", " + d +
          ").transpose(1, 2)\n"
          "    v = self.value.forward(hidden).view(b, t, " +
          h + ", " + d +
          ").transpose(1, 2)\n"
          "    scores = torch.matmul(q, k.transpose(-1, -2)) * " +
          scale.str() +
          " + mask_bias\n"
          "    probs = torch.dropout(torch.softmax(scores, -1), " +
          dropout_ +
          ", self.training)\n"
          "    return torch.matmul(probs, v).transpose(1, 2).reshape(b, t, " +
          std::to_string(c_.hidden()) + ")\n");
    }
    return m;
  }

  Module Attention() {
    bool is_new = false;
    Module m = factory_.Make("BertAttention", &is_new);
    m.register_module("self", SelfAttention());
    m.register_module("output", WithDense("BertSelfOutput", c_.hidden(), c_.hidden(), true, ResidualSource()));
    if (is_new) {
      m.define(
          "def forward(self, hidden, mask_bias):\n"
          "    return self.output.forward(self.self.forward(hidden, mask_bias), hidden)\n");
    }
    return m;
  }

  Module Layer() {
    bool is_new = false;
    Module m = factory_.Make("BertLayer", &is_new);
    m.register_module("attention", Attention());
    m.register_module("intermediate",
                      WithDense("BertIntermediate", c_.hidden(), c_.intermediate(), false,
                                "def forward(self, x):\n    return torch.gelu(self.dense.forward(x))\n"));
    m.register_module("output", WithDense("BertOutput", c_.intermediate(), c_.hidden(), true, ResidualSource()));
    if (is_new) {
      m.define(
          "def forward(self, hidden, mask_bias):\n"
          "    attended = self.attention.forward(hidden, mask_bias)\n"
          "    return self.output.forward(self.intermediate.forward(attended), attended)\n");
    }
    return m;
  }

  Module Encoder() {
    bool is_new = false;
    Module layers = factory_.Make("BertLayers", &is_new);
    for (int64_t i = 0; i < c_.layers(); ++i) layers.register_module(std::to_string(i), Layer());
    Module m = factory_.Make("BertEncoder", &is_new);
    m.register_module("layer", layers);
    std::string source = "def forward(self, hidden, mask_bias):\n";
    for (int64_t i = 0; i < c_.layers(); ++i) {
      source += "    hidden = getattr(self.layer, \"" + std::to_string(i) + "\").forward(hidden, mask_bias)\n";
    }
    m.define(source + "    return hidden\n");
    return m;
  }

  EncoderConfig c_;
  std::string dropout_;
  ModuleFactory factory_;
};

void CheckConfig(const EncoderConfig& c, int64_t vocab_size, int64_t num_classes, const TrainingOptions& o) {
  auto fail = [](const std::string& what) { throw SpecError(310, "training: " + what); };
  if (c.layers() < 1) fail("layers must be at least 1, got " + std::to_string(c.layers()));
  if (c.hidden() < 1 || c.heads() < 1 || c.hidden() % c.heads() != 0) {
    fail("heads (" + std::to_string(c.heads()) + ") must divide hidden (" + std::to_string(c.hidden()) + ")");
  }
  if (c.intermediate() < 1) fail("intermediate must be at least 1");
  if (c.max_positions() < 2) fail("max_positions must be at least 2");
  if (!(c.dropout() >= 0 && c.dropout() < 1)) fail("dropout must lie in [0, 1)");
  if (vocab_size < 1) fail("the vocabulary is empty");
  if (num_classes < 2) fail("at least 2 classes are needed, got " + std::to_string(num_classes));
  if (o.epochs() < 1) fail("epochs must be at least 1");
  if (o.patience() < 1) fail("patience must be at least 1");
  if (o.batch_size() < 1) fail("batch_size must be at least 1");
  if (!(o.learning_rate() > 0)) fail("learning_rate must be positive");
  if (!(o.warmup_fraction() >= 0 && o.warmup_fraction() < 1)) fail("warmup_fraction must lie in [0, 1)");
  if (!(o.weight_decay() >= 0)) fail("weight_decay must not be negative");
}

void CheckExamples(const LabelledExamples& set, const char* name, int64_t vocab_size, int64_t num_classes,
                   int64_t max_positions) {
  const std::string where = std::string("training: ") + name + " ";
  if (set.examples.empty()) throw DataError(209, where + "set is empty");
  if (set.examples.size() != set.labels.size()) {
    throw DataError(209, where + "set has " + std::to_string(set.examples.size()) + " examples but " +
                             std::to_string(set.labels.size()) + " labels");
  }
  for (size_t i = 0; i < set.examples.size(); ++i) {
    const int64_t example = static_cast<int64_t>(i);
    const Example& e = set.examples[i];
    if (set.labels[i] < 0 || set.labels[i] >= num_classes) {
      throw DataError(209,
                      where + "example " + std::to_string(i) + ": label " + std::to_string(set.labels[i]) +
                          " is outside [0, " + std::to_string(num_classes) + ")",
                      example);
    }
    if (e.input_ids.empty() || static_cast<int64_t>(e.input_ids.size()) > max_positions) {
      throw DataError(203,
                      where + "example " + std::to_string(i) + ": " + std::to_string(e.input_ids.size()) +
                          " tokens; expected 1 to max_positions (" + std::to_string(max_positions) + ")",
                      example);
    }
    for (int64_t id : e.input_ids) {
      if (id < 0 || id >= vocab_size) {
        throw DataError(203,
                        where + "example " + std::to_string(i) + ": token id " + std::to_string(id) +
                            " is outside the vocabulary [0, " + std::to_string(vocab_size) + ")",
                        example);
      }
    }
  }
}

// Runs the plain interpreter while alive. The optimizing executor re-profiles the graph for
// every new batch shape; with batches of varying length that made training ~1.5x slower.
class PlainExecutor {
 public:
  PlainExecutor() : saved_(torch::jit::getGraphExecutorOptimize()) { torch::jit::setGraphExecutorOptimize(false); }
  ~PlainExecutor() { torch::jit::setGraphExecutorOptimize(saved_); }
  PlainExecutor(const PlainExecutor&) = delete;
  PlainExecutor& operator=(const PlainExecutor&) = delete;

 private:
  bool saved_;
};

struct Batch {
  torch::Tensor ids, mask, labels;
};

Batch MakeBatch(const LabelledExamples& set, const std::vector<int64_t>& rows) {
  int64_t t = 0;
  for (int64_t r : rows) t = std::max<int64_t>(t, static_cast<int64_t>(set.examples[r].input_ids.size()));
  const int64_t b = static_cast<int64_t>(rows.size());
  Batch out{torch::zeros({b, t}, torch::kLong), torch::zeros({b, t}, torch::kLong), torch::empty({b}, torch::kLong)};
  auto ids = out.ids.accessor<int64_t, 2>();
  auto mask = out.mask.accessor<int64_t, 2>();
  auto labels = out.labels.accessor<int64_t, 1>();
  for (int64_t i = 0; i < b; ++i) {
    const Example& e = set.examples[rows[i]];
    for (size_t j = 0; j < e.input_ids.size(); ++j) {
      ids[i][j] = e.input_ids[j];
      mask[i][j] = e.attention_mask.empty() ? 1 : e.attention_mask[j];
    }
    labels[i] = set.labels[rows[i]];
  }
  return out;
}

// Shuffled batches of similar length: shuffle, sort runs of 50 batches by length, cut,
// shuffle the batch order. Little compute goes to padding and every epoch differs.
std::vector<std::vector<int64_t>> TrainingBatches(const LabelledExamples& set, int64_t batch_size,
                                                  std::mt19937_64* rng) {
  std::vector<int64_t> order(set.examples.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  std::shuffle(order.begin(), order.end(), *rng);
  const size_t chunk = static_cast<size_t>(batch_size) * 50;
  std::vector<std::vector<int64_t>> batches;
  for (size_t start = 0; start < order.size(); start += chunk) {
    auto first = order.begin() + static_cast<std::ptrdiff_t>(start);
    auto last = order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), start + chunk));
    std::stable_sort(first, last, [&](int64_t a, int64_t b) {
      return set.examples[a].input_ids.size() < set.examples[b].input_ids.size();
    });
    for (auto it = first; it < last; it += std::min<std::ptrdiff_t>(batch_size, last - it)) {
      batches.emplace_back(it, it + std::min<std::ptrdiff_t>(batch_size, last - it));
    }
  }
  std::shuffle(batches.begin(), batches.end(), *rng);
  return batches;
}

struct Evaluation {
  double loss = 0, accuracy = 0;
};

Evaluation Evaluate(Module& model, const LabelledExamples& set, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  model.eval();
  std::vector<int64_t> order(set.examples.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return set.examples[a].input_ids.size() < set.examples[b].input_ids.size();
  });
  double loss = 0;
  int64_t correct = 0;
  for (size_t start = 0; start < order.size(); start += static_cast<size_t>(batch_size)) {
    std::vector<int64_t> rows(
        order.begin() + static_cast<std::ptrdiff_t>(start),
        order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), start + static_cast<size_t>(batch_size))));
    Batch batch = MakeBatch(set, rows);
    torch::Tensor logits = model.forward({batch.ids, batch.mask}).toTensor();
    loss += torch::nn::functional::cross_entropy(
                logits, batch.labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                .item<double>();
    correct += logits.argmax(1).eq(batch.labels).sum().item<int64_t>();
  }
  const double n = static_cast<double>(set.examples.size());
  return {loss / n, static_cast<double>(correct) / n};
}

}  // namespace

namespace {

// The model's parameters: weight matrices (decayed by AdamW), the rest (not), and all.
struct TrainedParameters {
  std::vector<torch::Tensor> decayed, plain, all;
  int64_t count = 0;
};

TrainedParameters CollectParameters(const Module& model) {
  TrainedParameters p;
  for (const torch::jit::NameTensor& t : model.named_parameters()) {
    t.value.requires_grad_(true);
    (t.value.dim() >= 2 ? p.decayed : p.plain).push_back(t.value);
    p.all.push_back(t.value);
    p.count += t.value.numel();
  }
  return p;
}

std::unique_ptr<torch::optim::AdamW> MakeOptimizer(const TrainedParameters& p, const TrainingOptions& options) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(p.decayed,
                      std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(options.learning_rate()).weight_decay(options.weight_decay())));
  groups.emplace_back(p.plain, std::make_unique<torch::optim::AdamWOptions>(
                                   torch::optim::AdamWOptions(options.learning_rate()).weight_decay(0.0)));
  return std::make_unique<torch::optim::AdamW>(std::move(groups));
}

// Linear warm-up over the first warmup_fraction of the steps, then linear decay to 0.
class LearningRateSchedule {
 public:
  LearningRateSchedule(const TrainingOptions& options, int64_t examples)
      : peak_(options.learning_rate()),
        total_(((examples + options.batch_size() - 1) / options.batch_size()) * options.epochs()),
        warmup_(static_cast<int64_t>(options.warmup_fraction() * static_cast<double>(total_))) {}

  double RateAt(int64_t step) const {
    if (step < warmup_) return peak_ * static_cast<double>(step + 1) / warmup_;
    const double left = static_cast<double>(total_ - step) / std::max<int64_t>(1, total_ - warmup_);
    return peak_ * std::max(0.0, left);
  }

 private:
  double peak_;
  int64_t total_, warmup_;
};

// One pass over the shuffled training batches; the mean training loss.
double TrainEpoch(Module& model, const LabelledExamples& train, const TrainingOptions& options,
                  const LearningRateSchedule& schedule, const std::vector<torch::Tensor>& all,
                  torch::optim::AdamW* optimizer, std::mt19937_64* rng, int64_t* step) {
  model.train();
  double loss_sum = 0;
  for (const std::vector<int64_t>& rows : TrainingBatches(train, options.batch_size(), rng)) {
    for (auto& group : optimizer->param_groups()) group.options().set_lr(schedule.RateAt(*step));
    Batch batch = MakeBatch(train, rows);
    torch::Tensor logits = model.forward({batch.ids, batch.mask}).toTensor();
    torch::Tensor loss = torch::nn::functional::cross_entropy(logits, batch.labels);
    optimizer->zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(all, 1.0);
    optimizer->step();
    loss_sum += loss.item<double>() * static_cast<double>(rows.size());
    ++*step;
  }
  return loss_sum / static_cast<double>(train.examples.size());
}

// Puts the best epoch's weights back and writes the model, frozen for inference.
void SaveBest(Module& model, const std::vector<torch::Tensor>& all, const std::vector<torch::Tensor>& best,
              const std::string& model_path) {
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < all.size(); ++i) all[i].copy_(best[i]);
  }
  for (const torch::Tensor& p : all) p.requires_grad_(false);
  model.eval();
  std::ostringstream bytes;
  try {
    model.save(bytes);
  } catch (const c10::Error& e) {
    throw DataError(208, model_path + ": cannot serialize the model: " + e.what_without_backtrace());
  }
  WriteFileAtomically(model_path, bytes.str());
}

}  // namespace

TrainingResult TrainEncoderClassifier(const EncoderConfig& config, int64_t vocab_size, int64_t num_classes,
                                      const LabelledExamples& train, const LabelledExamples& validation,
                                      const TrainingOptions& options, const std::string& model_path,
                                      const EpochCallback& on_epoch) {
  CheckConfig(config, vocab_size, num_classes, options);
  CheckExamples(train, "train", vocab_size, num_classes, config.max_positions());
  CheckExamples(validation, "validation", vocab_size, num_classes, config.max_positions());
  const auto started = std::chrono::steady_clock::now();
  const PlainExecutor plain_executor;

  torch::manual_seed(options.seed());
  std::mt19937_64 rng(options.seed());
  Module model = [&] {
    try {
      return EncoderBuilder(config).Classifier(vocab_size, num_classes);
    } catch (const c10::Error& e) {
      throw std::runtime_error(std::string("building the encoder failed: ") + e.what_without_backtrace());
    }
  }();

  TrainingResult result;
  const TrainedParameters params = CollectParameters(model);
  result.parameter_count = params.count;
  const std::unique_ptr<torch::optim::AdamW> optimizer = MakeOptimizer(params, options);
  const LearningRateSchedule schedule(options, static_cast<int64_t>(train.examples.size()));

  std::vector<torch::Tensor> best;
  double best_loss = INFINITY;
  int64_t step = 0;
  for (int64_t epoch = 1; epoch <= options.epochs(); ++epoch) {
    const auto epoch_started = std::chrono::steady_clock::now();
    EpochRecord record;
    record.epoch = epoch;
    record.train_loss = TrainEpoch(model, train, options, schedule, params.all, optimizer.get(), &rng, &step);
    const Evaluation v = Evaluate(model, validation, 64);
    record.validation_loss = v.loss;
    record.validation_accuracy = v.accuracy;
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_started).count();
    result.epochs.push_back(record);
    if (on_epoch) on_epoch(record);
    if (v.loss < best_loss) {
      best_loss = v.loss;
      result.best_epoch = epoch;
      best.clear();
      for (const torch::Tensor& p : params.all) best.push_back(p.detach().clone());
    } else if (epoch - result.best_epoch >= options.patience()) {
      break;
    }
  }
  SaveBest(model, params.all, best, model_path);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace synapse
