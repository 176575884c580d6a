// `synapse train` end to end on a sample of the real corpus: the model directory it writes
// is read by predict and analyze through --model DIR, its card tells the truth, and bad
// input stops it with a one-line message and exit code 2.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "synapse/dataset.h"
#include "test_util.h"

namespace synapse {
namespace {

using nlohmann::json;
using test::ReadFile;
using test::RunCommand;
using ::testing::HasSubstr;

const std::string kCli = SYNAPSE_CLI;

// Writes a stratified sample of `n` rows of a corpus split to `path`.
void WriteSample(const std::string& split, int64_t n, const std::string& path) {
  std::vector<DataRow> rows = ReadRows(std::string(SYNAPSE_CORPUS_DIR) + "/" + split + ".jsonl").rows;
  std::string out;
  for (const DataRow& r : SampleStratified(std::move(rows), n, 5)) {
    out += json({{"text", *r.text}, {"label", json::parse(r.label_json)}}).dump() + "\n";
  }
  test::WriteFile(path, out);
}

class TrainCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(test::TempDir("train_cli"));
    WriteSample("train", 500, *dir_ + "/train.jsonl");
    WriteSample("validation", 150, *dir_ + "/validation.jsonl");
    WriteSample("test", 150, *dir_ + "/test.jsonl");
    test::WriteFile(*dir_ + "/intro.md", "# tiny test model\n\nTrained by train_cli_test.\n");
    run_ = new test::CommandResult(RunCommand(
        kCli + " train --train " + *dir_ + "/train.jsonl --validation " + *dir_ + "/validation.jsonl --test " + *dir_ +
            "/test.jsonl --out " + *dir_ + "/model --card-intro " + *dir_ +
            "/intro.md --vocab-size 1200 --max-length 40 --layers 2 --hidden 32 --heads 2 --intermediate 64 "
            "--epochs 3 --batch-size 16 --lr 2e-3 --threads 1",
        *dir_));
  }
  static void TearDownTestSuite() {
    delete run_;
    delete dir_;
  }
  static std::string* dir_;
  static test::CommandResult* run_;
};

std::string* TrainCliTest::dir_ = nullptr;
test::CommandResult* TrainCliTest::run_ = nullptr;

TEST_F(TrainCliTest, WritesACompleteModelDirectory) {
  ASSERT_EQ(run_->exit_code, 0) << run_->err;
  EXPECT_THAT(run_->err, HasSubstr("500 training, 150 validation, 150 test rows; classes ham hard_ham spam"));
  EXPECT_THAT(run_->err, HasSubstr("epoch  1: train loss"));
  for (const char* f : {"model.pt", "tokenizer.json", "labels.json", "eval.jsonl", "training.json", "MODEL_CARD.md"}) {
    EXPECT_FALSE(ReadFile(*dir_ + "/model/" + f).empty()) << f;
  }
  EXPECT_EQ(json::parse(ReadFile(*dir_ + "/model/labels.json")), json({"ham", "hard_ham", "spam"}));
  const json tok = json::parse(ReadFile(*dir_ + "/model/tokenizer.json"));
  EXPECT_EQ(tok["model"]["vocab"].size(), 1200u);
  EXPECT_EQ(tok["truncation"]["max_length"], 40);
  // eval.jsonl is the test split, row for row.
  std::vector<DataRow> test_rows = ReadRows(*dir_ + "/test.jsonl").rows;
  std::vector<DataRow> eval_rows = ReadRows(*dir_ + "/model/eval.jsonl").rows;
  ASSERT_EQ(eval_rows.size(), test_rows.size());
  for (size_t i = 0; i < eval_rows.size(); ++i) {
    EXPECT_EQ(*eval_rows[i].text, *test_rows[i].text);
    EXPECT_EQ(eval_rows[i].label_json, test_rows[i].label_json);
  }
}

TEST_F(TrainCliTest, TrainingRecordAndCardAgreeWithWhatPredictMeasures) {
  ASSERT_EQ(run_->exit_code, 0) << run_->err;
  const json record = json::parse(ReadFile(*dir_ + "/model/training.json"));
  EXPECT_THAT(record["command"].get<std::string>(), HasSubstr("train --train"));
  EXPECT_EQ(record["data"]["test"]["rows"], 150);
  EXPECT_LE(record["result"]["epochs"].size(), 3u);
  const json& test = record["test"];
  EXPECT_EQ(test["n"], 150);

  // predict reads the directory (model, tokenizer, eval.jsonl, labels) and must measure
  // the accuracy and per-class recall the record claims: exactly, but for examples whose
  // top two logits tie to float rounding (train scores in batches of its own, and which way
  // such an example goes depends on the batch; whether there is one, on what the run learned).
  test::CommandResult p = RunCommand(kCli + " predict --model " + *dir_ + "/model --threads 1", *dir_);
  ASSERT_EQ(p.exit_code, 0) << p.err;
  struct Counts {
    int correct = 0, total = 0, near_ties = 0;
  };
  std::map<std::string, Counts> per_class;
  Counts all;
  std::istringstream lines(p.out);
  for (std::string line; std::getline(lines, line);) {
    const json row = json::parse(line);
    const std::string label = row["label"];
    const bool hit = row["pred_label"] == label;
    std::vector<double> logits = row["logits"];
    ASSERT_GE(logits.size(), 2u);
    std::sort(logits.rbegin(), logits.rend());
    const bool tie = logits[0] - logits[1] < 1e-4 * (1 + std::abs(logits[0]));
    for (Counts* c : {&all, &per_class[label]}) {
      c->correct += hit;
      ++c->total;
      c->near_ties += tie;
    }
  }
  ASSERT_EQ(all.total, 150);
  // The count behind a recorded rate of `n` examples.
  auto count_of = [](const json& rate, int n) { return static_cast<int>(std::lround(rate.get<double>() * n)); };
  EXPECT_LE(std::abs(count_of(test["accuracy"], all.total) - all.correct), all.near_ties)
      << "predict: " << all.correct << " correct, " << all.near_ties << " on a tie";
  for (const auto& [label, counts] : per_class) {
    EXPECT_EQ(test["classes"][label]["support"], counts.total) << label;
    EXPECT_LE(std::abs(count_of(test["classes"][label]["recall"], counts.total) - counts.correct), counts.near_ties)
        << label;
  }

  const std::string card = ReadFile(*dir_ + "/model/MODEL_CARD.md");
  EXPECT_THAT(card, ::testing::StartsWith("# tiny test model"));
  for (const char* section : {"## Model", "## Training", "## Data", "## Test results", "## Reproducing"}) {
    EXPECT_THAT(card, HasSubstr(section));
  }
  char accuracy[16];
  std::snprintf(accuracy, sizeof accuracy, "%.3f", test["accuracy"].get<double>());
  EXPECT_THAT(card, HasSubstr(std::string("accuracy **") + accuracy + "**"));
  EXPECT_THAT(card, HasSubstr("| spam | " + std::to_string(per_class["spam"].total) + " | "));
}

TEST_F(TrainCliTest, AnalyzeReadsTheModelDirectory) {
  ASSERT_EQ(run_->exit_code, 0) << run_->err;
  test::CommandResult a = RunCommand(kCli + " analyze --model " + *dir_ + "/model --out " + *dir_ +
                                         "/report --k 2 --random-seeds 1 --noise none --no-weight-space "
                                         "--threads 1 --quiet",
                                     *dir_);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const json report = json::parse(ReadFile(*dir_ + "/report/report.json"));
  EXPECT_EQ(report["baseline"]["n"], 150);
  ASSERT_EQ(report["layers"].size(), 2u);  // the trained model's two encoder layers, each probed
  for (const json& layer : report["layers"]) EXPECT_TRUE(layer["probe"].contains("test_accuracy")) << layer.dump();
}

TEST_F(TrainCliTest, BadInputStopsWithOneLineAndExitCode2) {
  const std::string dir = test::TempDir("train_cli_bad");
  test::WriteFile(dir + "/train.jsonl",
                  "{\"text\": \"cheap pills\", \"label\": \"spam\"}\n"
                  "{\"text\": \"meeting at noon\", \"label\": \"ham\"}\n"
                  "{\"text\": \"free money\", \"label\": \"spma\"}\n");
  test::WriteFile(dir + "/validation.jsonl", "{\"text\": \"lunch?\", \"label\": \"ham\"}\n");
  auto run = [&](const std::string& args) { return RunCommand(kCli + " train " + args, dir); };
  test::CommandResult r = run("--train " + dir + "/train.jsonl --validation " + dir + "/validation.jsonl --out " + dir +
                              "/m --labels ham,spam");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("[synapse.data.204] " + dir + "/train.jsonl:3: label \"spma\" is not one of ham, spam"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

  r = run("--train " + dir + "/train.jsonl --out " + dir + "/m");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--validation"));

  r = run("--train " + dir + "/train.jsonl --validation " + dir + "/validation.jsonl --out " + dir +
          "/m --labels ham,spam,spma --heads 3");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("[synapse.spec.310] training: heads (3) must divide hidden (128)"));

  r = run("--train " + dir + "/missing.jsonl --validation " + dir + "/validation.jsonl --out " + dir + "/m");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("[synapse.data.201]"));
  EXPECT_THAT(r.err, HasSubstr("missing.jsonl"));
}

}  // namespace
}  // namespace synapse
