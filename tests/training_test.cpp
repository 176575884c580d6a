// TrainEncoderClassifier on real SpamAssassin text with a real WordPiece vocabulary: it
// learns, the saved file is a genuine TorchScript module (PyTorch loads it and agrees with
// Synapse's engine), Synapse's hooks work on it, it is deterministic, and bad input is
// refused with one-line errors.
#include "synapse/training.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "synapse/dataset.h"
#include "synapse/error.h"
#include "synapse/model.h"
#include "synapse/runtime.h"
#include "synapse/tokenizer.h"
#include "synapse/wordpiece_trainer.h"
#include "test_util.h"

namespace synapse {
namespace {

using test::ExpectError;
using ::testing::ElementsAre;

const std::vector<std::string> kClasses = {"ham", "hard_ham", "spam"};

EncoderConfig SmallConfig() { return EncoderConfig().layers(2).hidden(32).heads(4).intermediate(64).max_positions(48); }

TrainingOptions SmallOptions() { return TrainingOptions().epochs(4).batch_size(16).learning_rate(2e-3).seed(7); }

// A stratified sample of a corpus split, encoded with `tokenizer`.
LabelledExamples Sample(const std::string& split, int64_t n, const Tokenizer& tokenizer) {
  const std::string path = std::string(SYNAPSE_CORPUS_DIR) + "/" + split + ".jsonl";
  std::vector<DataRow> rows = ReadRows(path).rows;
  ResolveLabels(path, kClasses, &rows);
  rows = SampleStratified(std::move(rows), n, 1);
  TokenizeRows(path, tokenizer, &rows);
  LabelledExamples out;
  for (const DataRow& r : rows) {
    out.examples.push_back(r.example);
    out.labels.push_back(r.label_index);
  }
  return out;
}

class TrainingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SetThreads(1);
    KeepFreedMemory();  // LibTorch frees and re-faults its activations every step otherwise
    dir_ = new std::string(test::TempDir("training"));
    std::vector<DataRow> rows = ReadRows(std::string(SYNAPSE_CORPUS_DIR) + "/train.jsonl").rows;
    std::vector<std::string> texts;
    for (const DataRow& r : SampleStratified(rows, 600, 3)) texts.push_back(*r.text);
    SaveTokenizerJson(TrainWordPiece(texts, WordPieceTrainerOptions().vocab_size(1500).max_length(48)),
                      *dir_ + "/tokenizer.json");
    tokenizer_ = Tokenizer::Load(*dir_ + "/tokenizer.json").release();
    train_ = new LabelledExamples(Sample("train", 600, *tokenizer_));
    validation_ = new LabelledExamples(Sample("validation", 200, *tokenizer_));
    result_ = new TrainingResult(TrainEncoderClassifier(SmallConfig(), tokenizer_->vocab_size(), 3, *train_,
                                                        *validation_, SmallOptions(), *dir_ + "/model.pt"));
  }
  static void TearDownTestSuite() {
    delete result_;
    delete validation_;
    delete train_;
    delete tokenizer_;
    delete dir_;
  }

  static std::vector<Example> Head(const LabelledExamples& set, size_t n) {
    return {set.examples.begin(), set.examples.begin() + static_cast<std::ptrdiff_t>(n)};
  }

  static std::string* dir_;
  static Tokenizer* tokenizer_;
  static LabelledExamples *train_, *validation_;
  static TrainingResult* result_;
};

std::string* TrainingTest::dir_ = nullptr;
Tokenizer* TrainingTest::tokenizer_ = nullptr;
LabelledExamples* TrainingTest::train_ = nullptr;
LabelledExamples* TrainingTest::validation_ = nullptr;
TrainingResult* TrainingTest::result_ = nullptr;

TEST_F(TrainingTest, LearnsBeyondTheMajorityClass) {
  ASSERT_FALSE(result_->epochs.empty());
  EXPECT_LT(result_->epochs.back().train_loss, result_->epochs.front().train_loss);
  int64_t ham = 0;
  for (int64_t y : validation_->labels) ham += y == 0;
  const double majority = static_cast<double>(ham) / static_cast<double>(validation_->labels.size());
  const EpochRecord& best = result_->epochs[static_cast<size_t>(result_->best_epoch - 1)];
  EXPECT_GT(best.validation_accuracy, majority + 0.1) << "majority rate " << majority;
  // The kept epoch has the lowest validation loss.
  for (const EpochRecord& e : result_->epochs) EXPECT_GE(e.validation_loss, best.validation_loss);
  // Embeddings + 2 layers + pooler + head of this size.
  const int64_t h = 32, i = 64, v = tokenizer_->vocab_size();
  const int64_t layer = 4 * (h * h + h) + 2 * h + (h * i + i) + (i * h + h) + 2 * h;
  EXPECT_EQ(result_->parameter_count, v * h + 48 * h + 2 * h + 2 * layer + (h * h + h) + (3 * h + 3));
}

TEST_F(TrainingTest, SavedModelHasHuggingFaceNamesAndOneTypePerLayer) {
  Model model = Model::Load(*dir_ + "/model.pt");
  ASSERT_EQ(model.layers().size(), 2u);
  EXPECT_EQ(model.layers()[0].name, "encoder.layer.0");
  EXPECT_EQ(model.layers()[1].name, "encoder.layer.1");
  EXPECT_EQ(model.layers()[0].type, model.layers()[1].type);
  EXPECT_EQ(model.layers()[0].hidden_size, 32);
  std::vector<std::string> names;
  for (const auto& [name, shape] : model.parameters()) names.push_back(name);
  EXPECT_THAT(names, ::testing::IsSupersetOf({"embeddings.word_embeddings.weight",
                                              "encoder.layer.1.attention.self.query.weight",
                                              "encoder.layer.0.output.LayerNorm.bias", "pooler.dense.weight",
                                              "classifier.weight", "classifier.bias"}));
}

TEST_F(TrainingTest, PyTorchLoadsTheFileAndComputesTheSameLogits) {
  Model model = Model::Load(*dir_ + "/model.pt");
  const std::vector<Example> batch = Head(*validation_, 8);
  const Eigen::MatrixXf ours = model.Run(batch, {}, RunOptions().pad_id(tokenizer_->pad_id())).logits;
  nlohmann::json ids = nlohmann::json::array();
  for (const Example& e : batch) ids.push_back(e.input_ids);
  test::WriteFile(*dir_ + "/ids.json", ids.dump());
  const std::string script =
      "import json, sys, torch\n"
      "m = torch.jit.load(sys.argv[1]); m.eval()\n"
      "rows = json.load(open(sys.argv[2])); out = []\n"
      "for ids in rows:\n"
      "    t = torch.tensor([ids]); out.append(m(t, torch.ones_like(t))[0].tolist())\n"
      "print(json.dumps(out))\n";
  test::WriteFile(*dir_ + "/logits.py", script);
  test::CommandResult r =
      test::RunCommand("/usr/bin/python3 " + *dir_ + "/logits.py " + *dir_ + "/model.pt " + *dir_ + "/ids.json", *dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json theirs = nlohmann::json::parse(r.out);
  ASSERT_EQ(theirs.size(), batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    for (int c = 0; c < 3; ++c) {
      // Synapse pads the batch; PyTorch runs each example alone: masked padding must not matter.
      EXPECT_NEAR(ours(static_cast<Eigen::Index>(i), c), theirs[i][c].get<double>(), 1e-4) << "example " << i;
    }
  }
}

TEST_F(TrainingTest, HooksWorkOnTheTrainedModule) {
  Model model = Model::Load(*dir_ + "/model.pt");
  const std::vector<Example> batch = Head(*validation_, 6);
  // Zeroing the last layer's [CLS] vector leaves pooler and head a constant input, so every
  // example gets classifier(tanh(pooler.bias)).
  const Eigen::MatrixXf logits =
      model.Run(batch, {Intervention::Zero(Site::Layer(-1)).pooled_only()}, RunOptions().pad_id(tokenizer_->pad_id()))
          .logits;
  const Eigen::VectorXf pooled = model.ParameterValues("pooler.dense.bias").reshaped().array().tanh();
  const Eigen::VectorXf expected = model.ParameterValues("classifier.weight") * pooled +
                                   Eigen::VectorXf(model.ParameterValues("classifier.bias").reshaped());
  for (Eigen::Index i = 0; i < logits.rows(); ++i) {
    for (Eigen::Index c = 0; c < 3; ++c) EXPECT_NEAR(logits(i, c), expected(c), 1e-4) << "example " << i;
  }
  const Eigen::MatrixXf base = model.Run(batch, {}, RunOptions().pad_id(tokenizer_->pad_id())).logits;
  EXPECT_GT((base - logits).cwiseAbs().maxCoeff(), 1e-3);
}

TEST_F(TrainingTest, SameSeedSameModelOtherSeedOtherModel) {
  const std::vector<Example> batch = Head(*validation_, 16);
  auto logits_of = [&](const std::string& path) {
    return Model::Load(path).Run(batch, {}, RunOptions().pad_id(tokenizer_->pad_id())).logits;
  };
  TrainingOptions short_run = SmallOptions().epochs(1);
  TrainEncoderClassifier(SmallConfig(), tokenizer_->vocab_size(), 3, *train_, *validation_, short_run, *dir_ + "/a.pt");
  TrainEncoderClassifier(SmallConfig(), tokenizer_->vocab_size(), 3, *train_, *validation_, short_run, *dir_ + "/b.pt");
  TrainEncoderClassifier(SmallConfig(), tokenizer_->vocab_size(), 3, *train_, *validation_,
                         TrainingOptions(short_run).seed(8), *dir_ + "/c.pt");
  const Eigen::MatrixXf a = logits_of(*dir_ + "/a.pt");
  EXPECT_EQ((a - logits_of(*dir_ + "/b.pt")).cwiseAbs().maxCoeff(), 0.0f);
  EXPECT_GT((a - logits_of(*dir_ + "/c.pt")).cwiseAbs().maxCoeff(), 1e-3f);
}

TEST_F(TrainingTest, RefusesBadConfigurationsAndData) {
  const int64_t v = tokenizer_->vocab_size();
  const std::string out = *dir_ + "/bad.pt";
  auto train = [&](const EncoderConfig& c, const LabelledExamples& t, const TrainingOptions& o,
                   const std::string& path) { TrainEncoderClassifier(c, v, 3, t, *validation_, o, path); };
  ExpectError<SpecError>([&] { train(SmallConfig().heads(5), *train_, SmallOptions(), out); }, 310,
                         "heads (5) must divide hidden (32)");
  ExpectError<SpecError>([&] { train(SmallConfig(), *train_, SmallOptions().epochs(0), out); }, 310,
                         "epochs must be at least 1");
  LabelledExamples bad = *train_;
  bad.labels[5] = 3;
  ExpectError<DataError>([&] { train(SmallConfig(), bad, SmallOptions(), out); }, 209,
                         "train example 5: label 3 is outside [0, 3)");
  bad = *train_;
  bad.examples[2].input_ids[1] = v;
  ExpectError<DataError>([&] { train(SmallConfig(), bad, SmallOptions(), out); }, 203,
                         "train example 2: token id " + std::to_string(v) + " is outside the vocabulary");
  bad = *train_;
  bad.examples[4].input_ids.assign(49, 5);
  ExpectError<DataError>([&] { train(SmallConfig(), bad, SmallOptions(), out); }, 203,
                         "train example 4: 49 tokens; expected 1 to max_positions (48)");
  bad = *train_;
  bad.labels.pop_back();
  ExpectError<DataError>([&] { train(SmallConfig(), bad, SmallOptions(), out); }, 209, "labels");
  LabelledExamples tiny;
  tiny.examples = Head(*train_, 4);
  tiny.labels.assign(train_->labels.begin(), train_->labels.begin() + 4);
  ExpectError<DataError>([&] { train(SmallConfig(), tiny, SmallOptions().epochs(1), "/proc/no-such-dir/model.pt"); },
                         208, "/proc/no-such-dir/model.pt");
}

}  // namespace
}  // namespace synapse
