// Reading pre-tokenized and float JSONL rows, and the errors for bad ones.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "synapse/dataset.h"
#include "synapse/error.h"
#include "test_util.h"

namespace synapse {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ReadJsonlRows, ReadsTokensFeaturesAndLabels) {
  std::string dir = test::TempDir("dataset_ok");
  test::WriteFile(dir + "/d.jsonl",
                  "{\"input_ids\": [2, 5, 7], \"attention_mask\": [1, 1, 0], \"label\": 2}\n"
                  "\n"
                  "{\"features\": [[1, 2], [3, 4.5]], \"label\": \"spam\"}\n");
  auto rows = ReadJsonlRows(dir + "/d.jsonl");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_THAT(rows[0].example.input_ids, ElementsAre(2, 5, 7));
  EXPECT_THAT(rows[0].example.attention_mask, ElementsAre(1, 1, 0));
  EXPECT_EQ(rows[0].label_index, 2);
  EXPECT_EQ(rows[1].line, 3);
  EXPECT_THAT(rows[1].example.features, ElementsAre(1, 2, 3, 4.5));
  EXPECT_THAT(rows[1].example.feature_shape, ElementsAre(2, 2));
  EXPECT_EQ(rows[1].label_json, "\"spam\"");
  EXPECT_EQ(rows[1].label_index, -1);
}

struct BadData {
  const char* name;
  std::string contents;
  int id;
  const char* message;
};

void PrintTo(const BadData& p, std::ostream* os) { *os << "\"" << p.name << "\""; }

class BadDataTest : public ::testing::TestWithParam<BadData> {};

TEST_P(BadDataTest, NamesFileLineAndProblem) {
  std::string dir = test::TempDir(std::string("dataset_") + GetParam().name);
  std::string path = dir + "/d.jsonl";
  test::WriteFile(path, GetParam().contents);
  try {
    ReadJsonlRows(path);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.id(), GetParam().id) << e.what();
    EXPECT_THAT(e.what(), HasSubstr(path));
    EXPECT_THAT(e.what(), HasSubstr(GetParam().message));
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Rows, BadDataTest,
    ::testing::Values(
        BadData{"empty", "", 205, "no rows"},
        BadData{"malformed", "{\"input_ids\": [1]}\n{\"input_ids\": [1,}\n", 202, ":2: malformed JSON"},
        BadData{"not_object", "[1, 2]\n", 203, ":1: a row must be a JSON object"},
        BadData{"no_ids", "{\"label\": 1}\n", 203, "no \"text\", \"input_ids\" or \"features\" field"},
        BadData{"text_type", "{\"text\": 5}\n", 203, "\"text\" must be a string"},
        BadData{"float_ids", "{\"input_ids\": [1.5]}\n", 203, "must hold integers"},
        BadData{"mask_len", "{\"input_ids\": [1, 2], \"attention_mask\": [1]}\n", 203, "attention_mask has 1"},
        BadData{"ragged", "{\"features\": [[1, 2], [3]]}\n", 203, "not rectangular"},
        BadData{"bad_label", "{\"input_ids\": [1], \"label\": [1]}\n", 203, "\"label\" must be"},
        BadData{"bad_utf8", "{\"input_ids\": [1], \"label\": \"\xff\xfe\"}\n", 202, "malformed JSON"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ReadJsonlRows, MissingFile) {
  try {
    ReadJsonlRows("/nonexistent/x.jsonl");
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.id(), 201);
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/x.jsonl: cannot open"));
  }
}

}  // namespace
}  // namespace synapse
