// Reading pre-tokenized and float JSONL rows, and the errors for bad ones.
#include "synapse/dataset.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

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
    ::testing::Values(BadData{"empty", "", 205, "no rows"},
                      BadData{"malformed", "{\"input_ids\": [1]}\n{\"input_ids\": [1,}\n", 202, ":2: malformed JSON"},
                      BadData{"not_object", "[1, 2]\n", 203, ":1: a row must be a JSON object"},
                      BadData{"no_ids", "{\"label\": 1}\n", 203, "no \"text\", \"input_ids\" or \"features\" field"},
                      BadData{"text_type", "{\"text\": 5}\n", 203, "\"text\" must be a string"},
                      BadData{"float_ids", "{\"input_ids\": [1.5]}\n", 203, "must hold integers"},
                      BadData{"mask_len", "{\"input_ids\": [1, 2], \"attention_mask\": [1]}\n", 203,
                              "attention_mask has 1"},
                      BadData{"ragged", "{\"features\": [[1, 2], [3]]}\n", 203, "not rectangular"},
                      BadData{"bad_label", "{\"input_ids\": [1], \"label\": [1]}\n", 203, "\"label\" must be"},
                      BadData{"bad_utf8", "{\"input_ids\": [1], \"label\": \"\xff\xfe\"}\n", 202, "malformed JSON"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ReadRows, CsvWithQuotingEmbeddedNewlinesAndPairs) {
  std::string dir = test::TempDir("csv_ok");
  test::WriteFile(dir + "/d.csv",
                  "id,text,label,other\r\n"
                  "1,\"Hello, \"\"world\"\"\nsecond line\",spam,x\r\n"
                  "2,plain text,1,\"\"\n"
                  "\n"
                  "3,\"\",ham,y");
  ReadResult r = ReadRows(dir + "/d.csv", ReadOptions().text_pair_column("other"));
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_EQ(*r.rows[0].text, "Hello, \"world\"\nsecond line");
  EXPECT_EQ(*r.rows[0].text_pair, "x");
  EXPECT_EQ(r.rows[0].label_json, "\"spam\"");
  EXPECT_EQ(r.rows[1].line, 4);  // the first record spans lines 2-3
  EXPECT_EQ(r.rows[1].label_index, 1);
  EXPECT_EQ(*r.rows[2].text, "");
  EXPECT_EQ(r.rows[2].line, 6);
}

// A class index with a leading zero ("09", found by csv_reader_fuzzer) is class 9, and its
// label_json stays valid JSON for ResolveLabels and the reports.
TEST(ReadRows, CsvIndexLabelsWithLeadingZeros) {
  std::string dir = test::TempDir("csv_zero");
  test::WriteFile(dir + "/d.csv", "text,label\na,09\nb,00\n");
  ReadResult r = ReadRows(dir + "/d.csv", ReadOptions());
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.rows[0].label_index, 9);
  EXPECT_EQ(r.rows[0].label_json, "9");
  EXPECT_EQ(r.rows[1].label_json, "0");
  try {
    ResolveLabels(dir + "/d.csv", {"ham", "spam"}, &r.rows);
    FAIL() << "class 9 of 2 was accepted";
  } catch (const DataError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("d.csv:2: label 9 is not a class index (0..1)"));
  }
}

TEST(ReadRows, TsvAndCustomColumns) {
  std::string dir = test::TempDir("tsv_ok");
  test::WriteFile(dir + "/d.tsv", "body\tclass\nbuy now\tspam\nsee you\tham\n");
  ReadResult r = ReadRows(dir + "/d.tsv", ReadOptions().text_column("body").label_column("class"));
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(*r.rows[1].text, "see you");
  EXPECT_EQ(r.rows[1].label_json, "\"ham\"");
}

TEST(ReadRows, CsvErrorsNameTheLine) {
  std::string dir = test::TempDir("csv_bad");
  test::WriteFile(dir + "/fields.csv", "text,label\na,1\nb,2,3\n");
  test::WriteFile(dir + "/quote.csv", "text,label\na,1\n\"open,2\n");
  test::WriteFile(dir + "/column.csv", "body,label\na,1\n");
  auto expect = [](const std::string& path, const ReadOptions& o, int id, const std::string& message) {
    try {
      ReadRows(path, o);
      ADD_FAILURE() << path;
    } catch (const DataError& e) {
      EXPECT_EQ(e.id(), id) << e.what();
      EXPECT_THAT(e.what(), HasSubstr(message));
    }
  };
  expect(dir + "/fields.csv", ReadOptions(), 203, "fields.csv:3: 3 fields, the header has 2");
  expect(dir + "/quote.csv", ReadOptions(), 202, "quote.csv:3: unterminated quoted field");
  expect(dir + "/column.csv", ReadOptions(), 203, "column.csv:1: no column \"text\" (columns: \"body\", \"label\")");
}

// Found by fuzz/csv_reader_fuzzer and fuzz/jsonl_reader_fuzzer: a header cell with a newline
// made a two-line message, and a number too large for a double escaped as a raw
// nlohmann::json exception, as did a CSV label of invalid UTF-8.
TEST(ReadRows, FuzzFindingsGiveOneLineErrors) {
  std::string dir = test::TempDir("fuzz_findings");
  test::WriteFile(dir + "/header.csv", "\"bo\ndy\",label\na,1\n");
  test::WriteFile(dir + "/number.jsonl", "{\"input_ids\": [2, 5, 28888888888888888888888888e88888888888]}\n");
  test::ExpectError<DataError>([&] { ReadRows(dir + "/header.csv"); }, 203,
                               "no column \"text\" (columns: \"bo\\ndy\", \"label\")");
  test::ExpectError<DataError>([&] { ReadRows(dir + "/number.jsonl"); }, 202,
                               "number.jsonl:1: malformed JSON: number overflow");
  test::WriteFile(dir + "/label.csv",
                  "text,label\nhello,sp\xff"
                  "am\n");
  test::ExpectError<DataError>([&] { ReadRows(dir + "/label.csv"); }, 203, "label.csv:2: the label is not valid UTF-8");
}

TEST(ReadRows, SkipBadRowsCountsWhatItSkips) {
  std::string dir = test::TempDir("skip_bad");
  test::WriteFile(dir + "/d.jsonl", "{\"text\": \"a\"}\n{bad\n{\"text\": 3}\n{\"text\": \"b\"}\n");
  EXPECT_THROW(ReadRows(dir + "/d.jsonl"), DataError);
  ReadResult r = ReadRows(dir + "/d.jsonl", ReadOptions().skip_bad_rows(true));
  EXPECT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.skipped, 2);
  EXPECT_THAT(r.first_skipped, HasSubstr("d.jsonl:2: malformed JSON"));
}

TEST(SampleStratified, KeepsClassProportionsAndIsSeeded) {
  std::vector<DataRow> rows;
  for (int i = 0; i < 100; ++i) {
    DataRow r;
    r.line = i + 1;
    r.label_json = i < 70 ? "\"ham\"" : i < 95 ? "\"spam\"" : "\"hard_ham\"";
    rows.push_back(r);
  }
  auto a = SampleStratified(rows, 20, 1);
  auto counts = CountLabels(a);
  EXPECT_EQ(counts["\"ham\""], 14);
  EXPECT_EQ(counts["\"spam\""], 5);
  EXPECT_EQ(counts["\"hard_ham\""], 1);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end(), [](const auto& x, const auto& y) { return x.line < y.line; }));
  auto b = SampleStratified(rows, 20, 1);
  auto c = SampleStratified(rows, 20, 2);
  auto lines = [](const std::vector<DataRow>& v) {
    std::vector<int64_t> out;
    for (const auto& r : v) out.push_back(r.line);
    return out;
  };
  EXPECT_EQ(lines(a), lines(b));
  EXPECT_NE(lines(a), lines(c));
  EXPECT_EQ(SampleStratified(rows, 0, 1).size(), 100u);
}

TEST(ReadJsonlRows, MissingFile) {
  test::ExpectError<DataError>([] { ReadJsonlRows("/nonexistent/x.jsonl"); }, 201, "/nonexistent/x.jsonl: cannot open");
}

}  // namespace
}  // namespace synapse
