// LoadDataset: reading, tokenizing, labelling and sampling as the CLI, the fixture and
// `synapse train` compose them, with one set of error ids.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "synapse/dataset.h"
#include "synapse/error.h"
#include "test_util.h"

namespace synapse {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The id and message of the DataError `f` throws; fails the test when it throws none.
template <typename F>
std::pair<int, std::string> DataErrorOf(F&& f) {
  try {
    f();
  } catch (const DataError& e) {
    return {e.id(), e.what()};
  }
  ADD_FAILURE() << "no DataError";
  return {0, ""};
}

const std::string kTokenizer = std::string(SYNAPSE_MODEL_DIR) + "/tokenizer.json";

TEST(LoadDataset, TokenizesTextAndFindsLabelsBesideTheModel) {
  const std::string dir = test::TempDir("loader_beside");
  test::WriteFile(dir + "/labels.json", "[\"ham\", \"spam\"]");
  test::WriteFile(dir + "/model.pt", "");
  test::WriteFile(dir + "/d.jsonl",
                  "{\"text\": \"win a free cruise\", \"label\": \"spam\"}\n"
                  "{\"text\": \"see you at lunch\", \"label\": \"ham\"}\n"
                  "{\"text\": \"no label here\"}\n");
  Dataset d = LoadDataset(DatasetSpec().data(dir + "/d.jsonl").tokenizer(kTokenizer).model(dir + "/model.pt"));
  EXPECT_EQ(d.labels_path, dir + "/labels.json");
  EXPECT_THAT(d.class_names, ElementsAre("ham", "spam"));
  EXPECT_THAT(d.labels(), ElementsAre(1, 0, -1));
  ASSERT_EQ(d.examples().size(), 3u);
  EXPECT_GT(d.examples()[0].input_ids.size(), 2u);  // [CLS] … [SEP]
  EXPECT_EQ(d.DescribeClasses(), "ham: 1, spam: 1, unlabelled: 1");
  EXPECT_EQ(d.total, 3);
}

TEST(LoadDataset, TextWithoutATokenizerSaysHowToNameOne) {
  const std::string dir = test::TempDir("loader_no_tok");
  test::WriteFile(dir + "/d.jsonl", "{\"text\": \"hello\", \"label\": 0}\n");
  auto [id, what] = DataErrorOf(
      [&] { LoadDataset(DatasetSpec().data(dir + "/d.jsonl").tokenizer_hint("Config().tokenizer(PATH)")); });
  EXPECT_EQ(id, 213);
  EXPECT_THAT(what, HasSubstr("d.jsonl has text rows: give the model's tokenizer with Config().tokenizer(PATH)"));
}

TEST(LoadDataset, NameLabelsWithoutClassNamesFailUnlessLabelsAreOptional) {
  const std::string dir = test::TempDir("loader_names");
  test::WriteFile(dir + "/d.jsonl",
                  "{\"input_ids\": [2, 3], \"label\": 1}\n{\"input_ids\": [2, 4], \"label\": \"spam\"}\n");
  auto [id, what] = DataErrorOf([&] { LoadDataset(DatasetSpec().data(dir + "/d.jsonl")); });
  EXPECT_EQ(id, 214);
  EXPECT_THAT(what, HasSubstr("d.jsonl:2: label \"spam\" is a name; give the class names with --labels labels.json"));
  Dataset d = LoadDataset(DatasetSpec().data(dir + "/d.jsonl").label_use(LabelUse::kOptional));
  EXPECT_THAT(d.labels(), ElementsAre(1, -1));
}

TEST(LoadDataset, RequiredLabelsNameTheUnlabelledRow) {
  const std::string dir = test::TempDir("loader_required");
  test::WriteFile(dir + "/d.jsonl", "{\"input_ids\": [2, 3], \"label\": 1}\n\n{\"input_ids\": [2, 4]}\n");
  auto [id, what] =
      DataErrorOf([&] { LoadDataset(DatasetSpec().data(dir + "/d.jsonl").label_use(LabelUse::kRequired)); });
  EXPECT_EQ(id, 203);
  EXPECT_THAT(what, HasSubstr("d.jsonl:3: the row has no label"));
}

TEST(LoadDataset, ClassNamesFromRowsAreSortedAndKeepTextLeavesRowsRaw) {
  const std::string dir = test::TempDir("loader_train");
  test::WriteFile(dir + "/t.csv", "text,label\nbuy now,spam\nhi mum,ham\ncheap pills,spam\n");
  Dataset d = LoadDataset(
      DatasetSpec().data(dir + "/t.csv").keep_text(true).label_use(LabelUse::kRequired).class_names_from_rows(true));
  EXPECT_THAT(d.class_names, ElementsAre("ham", "spam"));
  EXPECT_THAT(d.labels(), ElementsAre(1, 0, 1));
  EXPECT_EQ(*d.rows[1].text, "hi mum");
  EXPECT_TRUE(d.rows[1].example.input_ids.empty());

  test::WriteFile(dir + "/ids.csv", "text,label\nbuy now,1\n");
  auto [id, what] = DataErrorOf([&] {
    LoadDataset(
        DatasetSpec().data(dir + "/ids.csv").keep_text(true).class_names_from_rows(true).labels_hint("--labels a,b"));
  });
  EXPECT_EQ(id, 214);
  EXPECT_THAT(what, HasSubstr("ids.csv:2: label 1 is a class id, so the names cannot come from the rows; give the "
                              "class names with --labels a,b"));
}

TEST(LoadDataset, SkipsBadRowsCountingEachKindAndSamplesByClass) {
  const std::string dir = test::TempDir("loader_skip");
  std::string rows =
      "{\"input_ids\": [2, 3], \"label\": \"ham\"}\n"
      "{not json}\n"
      "{\"input_ids\": [2, 3], \"label\": \"spma\"}\n";
  for (int i = 0; i < 9; ++i)
    rows += "{\"input_ids\": [2, 5], \"label\": \"" + std::string(i < 6 ? "spam" : "ham") + "\"}\n";
  test::WriteFile(dir + "/d.jsonl", rows);
  Dataset d = LoadDataset(DatasetSpec()
                              .data(dir + "/d.jsonl")
                              .read(ReadOptions().skip_bad_rows(true))
                              .class_names({"ham", "spam"})
                              .max_examples(5)
                              .seed(3));
  EXPECT_EQ(d.skipped, 2);
  EXPECT_EQ(d.skipped_malformed, 1);
  EXPECT_THAT(d.first_skipped, HasSubstr("d.jsonl:2"));
  EXPECT_EQ(d.total, 10);
  EXPECT_EQ(d.DescribeClasses(), "ham: 2, spam: 3");  // 4 ham, 6 spam of 10, in proportion

  auto [id, what] = DataErrorOf([&] {
    LoadDataset(DatasetSpec().data(dir + "/d.jsonl").class_names({"ham", "spam"}));
  });
  EXPECT_EQ(id, 202);
  EXPECT_THAT(what, HasSubstr("d.jsonl:2"));
}

}  // namespace
}  // namespace synapse
