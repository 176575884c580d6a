// Bad model files and bad requests: a typed error with a one-line message, never a crash
// or a raw TorchScript traceback.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "synapse/synapse.h"
#include "test_util.h"

namespace synapse {
namespace {

const std::string kFixtures = SYNAPSE_FIXTURE_DIR;

using test::ExpectError;

TEST(ModelLoadErrors, MissingFile) {
  ExpectError<ModelError>([] { Model::Load("/nonexistent/model.pt"); }, 101, "/nonexistent/model.pt: no such file");
}

TEST(ModelLoadErrors, Directory) {
  ExpectError<ModelError>([] { Model::Load(kFixtures); }, 101, "is a directory");
}

TEST(ModelLoadErrors, DirectoryHoldingAModelLoadsIt) {
  std::string dir = test::TempDir("model_directory");
  test::WriteFile(dir + "/model.pt", test::ReadFile(kFixtures + "/bert_traced.pt"));
  const Model model = Model::Load(dir);
  EXPECT_EQ(model.path(), dir + "/model.pt");
  EXPECT_EQ(model.layers().size(), Model::Load(kFixtures + "/bert_traced.pt").layers().size());
  EXPECT_GE(model.layers().size(), 2u);
}

// A .pt2 that is no package: on a LibTorch that loads packages, not a package (102); on
// an older one, what to do (111). Neither crashes.
TEST(ModelLoadErrors, PackageThatIsNotOne) {
  std::string dir = test::TempDir("not_a_package");
  test::WriteFile(dir + "/model.pt2", test::ReadFile(kFixtures + "/not_torchscript.zip"));
  if (test::LibTorchAtLeast(2, 6)) {
    ExpectError<ModelError>([&] { Model::Load(dir + "/model.pt2"); }, 102, "cannot load the program \"model\"");
  } else {
    ExpectError<ModelError>([&] { Model::Load(dir + "/model.pt2"); }, 111, "LibTorch 2.6 or later");
  }
  ExpectError<ModelError>([&] { Model::Load(dir + "/missing.pt2"); }, 101, "no such file");
  test::WriteFile(dir + "/empty.pt2", "");
  ExpectError<ModelError>([&] { Model::Load(dir + "/empty.pt2"); }, test::LibTorchAtLeast(2, 6) ? 102 : 111, "");
}

TEST(ModelLoadErrors, ZeroBytes) {
  std::string dir = test::TempDir("zero_bytes");
  test::WriteFile(dir + "/m.pt", "");
  ExpectError<ModelError>([&] { Model::Load(dir + "/m.pt"); }, 102, "is empty (0 bytes)");
}

TEST(ModelLoadErrors, TruncatedArchive) {
  std::string dir = test::TempDir("truncated");
  std::string bytes = test::ReadFile(kFixtures + "/bert_traced.pt");
  test::WriteFile(dir + "/m.pt", bytes.substr(0, bytes.size() / 2));
  ExpectError<ModelError>([&] { Model::Load(dir + "/m.pt"); }, 102, "not a loadable TorchScript file");
}

TEST(ModelLoadErrors, RandomBytes) {
  std::string dir = test::TempDir("random_bytes");
  std::string junk(4096, '\0');
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 2654435761u) >> 13);
  test::WriteFile(dir + "/m.pt", junk);
  ExpectError<ModelError>([&] { Model::Load(dir + "/m.pt"); }, 102, "not a loadable TorchScript file");
}

TEST(ModelLoadErrors, ZipThatIsNotTorchScript) {
  ExpectError<ModelError>([] { Model::Load(kFixtures + "/not_torchscript.zip"); }, 102,
                          "not a loadable TorchScript file");
}

TEST(ModelLoadErrors, ForwardTakesAString) {
  ExpectError<ModelError>([] { Model::Load(kFixtures + "/string_input.pt"); }, 103, "forward takes \"text\" as str");
}

TEST(ModelLoadErrors, NoRepeatedLayers) {
  ExpectError<ModelError>([] { Model::Load(kFixtures + "/no_layers.pt"); }, 104, "found no encoder layers");
}

TEST(ModelLoadErrors, GlobMatchesNothing) {
  ExpectError<ModelError>([] { Model::Load(kFixtures + "/bert_traced.pt", ModelOptions().layers_glob("nope.*")); }, 104,
                          "no module path matches --layer-modules \"nope.*\"");
}

// What LibTorch 1.13 says of a model traced by PyTorch 2.x with Hugging Face's default SDPA
// attention, reproduced by renaming an operator in a 1.13 archive's code/ files.
TEST(ModelLoadErrors, OperatorFromANewerPyTorch) {
  if (test::LibTorchMajor() >= 2) GTEST_SKIP() << "LibTorch " << test::LibTorchVersion() << " has the operator";
  const std::string path = kFixtures + "/sdpa_operator.pt";
  ExpectError<ModelError>([&] { Model::Load(path); }, 110,
                          path + ": calls aten::scaled_dot_product_attention, an operator LibTorch 1.");
  ExpectError<ModelError>([&] { Model::Load(path); }, 110, "synapse-export SAVED_DIR OUT_DIR --attn eager");
  ExpectError<ModelError>([&] { Model::Load(path); }, 110, "attn_implementation=\"eager\"");
  ExpectError<ModelError>([&] { Model::Load(path); }, 110, "or build Synapse against a LibTorch that has it");
}

TEST(ModelLoadErrors, FileFormatFromANewerPyTorch) {
  // roberta_traced.pt with its version record raised from 10 to 11.
  const std::string path = kFixtures + "/newer_format.pt";
  ExpectError<ModelError>([&] { Model::Load(path); }, 110,
                          path + ": written in TorchScript file format 11, LibTorch " + test::LibTorchVersion());
  ExpectError<ModelError>([&] { Model::Load(path); }, 110, "reads up to 10 (the model was saved by a newer PyTorch)");
}

TEST(ModelLoadErrors, LayersReturningLists) {
  ExpectError<ModelError>([] { Model::Load(kFixtures + "/list_layers.pt"); }, 105,
                          "a hook site must return a Tensor or a tuple starting with one");
}

// LibTorch loads these without complaint; reading the tensors would run far past the bytes
// the file holds.
TEST(ModelLoadErrors, StorageClaimingMoreBytesThanTheFileHolds) {
  ExpectError<ModelError>([] { Model::Load(kFixtures + "/forged_storage_size.pt"); }, 102,
                          "tensor \"bert.embeddings.word_embeddings.weight\" is corrupt: its storage claims 8589934588 "
                          "bytes but the file holds");
}

TEST(ModelLoadErrors, TensorOffsetPastItsStorage) {
  // LibTorch 2.14's unpickler checks the offset itself; 1.13's and 2.6's (Debian 13) load the
  // tensor as it is, and Synapse's own check refuses it. Which release between 2.6 and 2.14
  // started checking is not pinned down here: a pytorch.org 2.7 to 2.13 may need the bound moved.
  ExpectError<ModelError>([] { Model::Load(kFixtures + "/forged_tensor_offset.pt"); }, 102,
                          test::LibTorchAtLeast(2, 14)
                              ? "storage offset 2147483647 is out of bounds for storage of size 12800 bytes"
                              : "is corrupt: its shape and offset reach 8589947388 bytes into a storage of 12800");
}

TEST(ModelLoadErrors, CodeThatReadsFiles) {
  ExpectError<ModelError>([] { Model::Load(kFixtures + "/reads_files.pt"); }, 109,
                          "FileReadingModel.forward calls aten::from_file, which reaches outside the model");
}

TEST(ModelLoadErrors, ZipClaimingAHugeRecord) {
  // A central directory that claims a 4 GB record in a 250 KB file: refused before any
  // allocation of that size.
  std::string bytes = test::ReadFile(kFixtures + "/bert_traced.pt");
  for (size_t at = bytes.find("PK\x01\x02"); at != std::string::npos; at = bytes.find("PK\x01\x02", at + 4)) {
    for (size_t field : {at + 20, at + 24}) bytes.replace(field, 4, "\x00\x00\x00\xf0", 4);
  }
  std::string dir = test::TempDir("huge_record");
  test::WriteFile(dir + "/m.pt", bytes);
  ExpectError<ModelError>([&] { Model::Load(dir + "/m.pt"); }, 102, "not a loadable TorchScript file");
}

class RunErrors : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { bert_ = new Model(Model::Load(kFixtures + "/bert_traced.pt")); }
  static void TearDownTestSuite() { delete bert_; }
  static Model* bert_;
  std::vector<Example> batch_ = {Example::Tokens({2, 5, 9}), Example::Tokens({2, 7})};
};
Model* RunErrors::bert_ = nullptr;

TEST_F(RunErrors, NeuronOutOfRange) {
  ExpectError<SpecError>([&] { bert_->Run(batch_, {ParseIntervention("1:zero:40")}); }, 305,
                         "neuron 40 is out of range for layer bert.encoder.layer.1 (it has 32 neurons");
}

TEST_F(RunErrors, LayerOutOfRange) {
  ExpectError<SpecError>([&] { bert_->Run(batch_, {ParseIntervention("7:zero:1")}); }, 304,
                         "no layer 7: the model has 3 layers");
  ExpectError<SpecError>([&] { bert_->Run(batch_, {ParseIntervention("encoder.x:zero:1")}); }, 304,
                         "no layer is named \"encoder.x\"");
}

TEST_F(RunErrors, ShiftOfWrongLength) {
  ExpectError<SpecError>([&] { bert_->Run(batch_, {ParseIntervention("logits:shift:1,2")}); }, 309,
                         "one value per class (3), got 2");
}

TEST_F(RunErrors, PooledPositionWithMeanPooling) {
  ExpectError<SpecError>(
      [&] { bert_->Run(batch_, {ParseIntervention("0:zero:1:pooled")}, RunOptions().pool(Pooling::kMean)); }, 307,
      "pooled positions need pooling first or last");
}

TEST_F(RunErrors, MeansOfWrongLength) {
  ExpectError<SpecError>(
      [&] {
        bert_->Run(batch_, {Intervention::Mean(Site::Layer(0), {1.f, 2.f})});
      },
      308, "needs one mean per neuron");
}

TEST_F(RunErrors, FeaturesForATokenModel) {
  ExpectError<DataError>([&] { bert_->Run({Example::Features({1.f, 2.f})}); }, 203, "example 0: no input_ids");
}

TEST_F(RunErrors, DataErrorsCarryTheExampleIndex) {
  try {
    bert_->Run({Example::Tokens({2, 5}), Example::Tokens({2, 5}, {1})}, {}, RunOptions().example_indices({7, 9}));
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.example(), 9);
    EXPECT_THAT(e.detail(), ::testing::StartsWith("example 9: attention_mask has 1 entries"));
  }
}

TEST_F(RunErrors, TokenIdOutsideVocabulary) {
  ExpectError<ModelError>([&] { bert_->Run({Example::Tokens({2, 5000})}); }, 106, "index out of range");
}

TEST_F(RunErrors, ModelStaysUsableAfterAnError) {
  EXPECT_THROW(bert_->Run({Example::Tokens({2, 5000})}), ModelError);
  EXPECT_EQ(bert_->Run(batch_).logits.rows(), 2);
}

TEST(FloatModelErrors, WrongFeatureShape) {
  Model m = Model::Load(kFixtures + "/tabular_traced.pt", ModelOptions().input_shape({16}));
  ExpectError<DataError>([&] { m.Run({Example::Features(std::vector<float>(5, 0.f))}); }, 206,
                         "features of shape [5], the model expects [16]");
}

TEST(FloatModelErrors, WrongFeatureShapeWithoutDeclaredShape) {
  Model m = Model::Load(kFixtures + "/tabular_traced.pt");
  ExpectError<ModelError>([&] { m.Run({Example::Features(std::vector<float>(5, 0.f))}); }, 106,
                          "shapes cannot be multiplied");
}

}  // namespace
}  // namespace synapse
