// The synapse command line, run as a user would: output, exit codes, one-line errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"

namespace synapse {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kCli = SYNAPSE_CLI;
const std::string kFixtures = SYNAPSE_FIXTURE_DIR;

json Oracle() { return json::parse(std::ifstream(kFixtures + "/oracle.json")); }

// The BERT fixture's inputs as pre-tokenized JSONL, with integer labels.
std::string WriteBertRows(const std::string& dir) {
  json entry = Oracle()["models"]["bert_traced"];
  std::ostringstream out;
  for (size_t i = 0; i < entry["inputs"]["input_ids"].size(); ++i) {
    auto ids = entry["inputs"]["input_ids"][i].get<std::vector<int64_t>>();
    auto mask = entry["inputs"]["attention_mask"][i].get<std::vector<int64_t>>();
    size_t n = 0;
    while (n < mask.size() && mask[n]) ++n;
    ids.resize(n);
    out << json{{"input_ids", ids}, {"label", static_cast<int>(i % 3)}}.dump() << "\n";
  }
  test::WriteFile(dir + "/rows.jsonl", out.str());
  return dir + "/rows.jsonl";
}

std::vector<json> Lines(const std::string& text) {
  std::vector<json> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) rows.push_back(json::parse(line));
  return rows;
}

void ExpectLogits(const std::vector<json>& rows, const json& expected) {
  ASSERT_EQ(rows.size(), expected.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i]["index"], i);
    for (size_t c = 0; c < expected[i].size(); ++c) {
      EXPECT_NEAR(rows[i]["logits"][c].get<double>(), expected[i][c].get<double>(), 1e-5);
    }
  }
}

TEST(Cli, InspectJsonDescribesTheModel) {
  std::string dir = test::TempDir("cli_inspect");
  auto r = test::RunCommand(kCli + " inspect " + kFixtures + "/gpt_traced.pt --json", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["num_classes"], 3);
  EXPECT_EQ(j["layers"].size(), 2u);
  EXPECT_EQ(j["layers"][1]["name"], "transformer.h.1");
  EXPECT_EQ(j["layers"][1]["hidden_size"], 32);
  EXPECT_EQ(j["inputs"]["arguments"], json({"input_ids", "attention_mask"}));
  EXPECT_GE(j["runtime"]["threads"].get<int>(), 1);
}

TEST(Cli, InspectTextListsLayers) {
  std::string dir = test::TempDir("cli_inspect_text");
  auto r = test::RunCommand(kCli + " inspect " + kFixtures + "/torch_encoder_scripted.pt --threads 1", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("encoder.layers.1"));
  EXPECT_THAT(r.out, HasSubstr("nested"));
  EXPECT_THAT(r.out, HasSubstr("runtime     1 threads"));
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("prototype")));
}

TEST(Cli, PredictMatchesPyTorchWithAndWithoutInterventions) {
  std::string dir = test::TempDir("cli_predict");
  std::string rows = WriteBertRows(dir);
  json entry = Oracle()["models"]["bert_traced"];
  auto base = test::RunCommand(
      kCli + " predict --model " + kFixtures + "/bert_traced.pt --data " + rows + " --batch-size 3", dir);
  ASSERT_EQ(base.exit_code, 0) << base.err;
  ExpectLogits(Lines(base.out), entry["cases"][0]["logits"]);
  EXPECT_THAT(base.err, HasSubstr("accuracy"));

  // "composed": 0:zero:1,2  -1:scale=0.5:all  logits:shift:1,0,0
  ASSERT_EQ(entry["cases"][8]["name"], "composed");
  auto hit = test::RunCommand(kCli + " predict --model " + kFixtures + "/bert_traced.pt --data " + rows +
                                  " -i 0:zero:1,2 --intervene=-1:scale=0.5:all -i logits:shift:1,0,0 --out " + dir +
                                  "/preds.jsonl",
                              dir);
  ASSERT_EQ(hit.exit_code, 0) << hit.err;
  EXPECT_EQ(hit.out, "");
  std::vector<json> preds = Lines(test::ReadFile(dir + "/preds.jsonl"));
  ExpectLogits(preds, entry["cases"][8]["logits"]);
  EXPECT_EQ(preds[1]["label"], 1);
}

TEST(Cli, NoiseIsReproducibleFromTheSeed) {
  std::string dir = test::TempDir("cli_seed");
  std::string rows = WriteBertRows(dir);
  std::string cmd = kCli + " predict --model " + kFixtures + "/bert_traced.pt --data " + rows + " -i 1:noise=1:all";
  auto a = test::RunCommand(cmd + " --seed 5", dir);
  auto b = test::RunCommand(cmd + " --seed 5 --batch-size 1", dir);
  auto c = test::RunCommand(cmd + " --seed 6", dir);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  auto ra = Lines(a.out), rb = Lines(b.out), rc = Lines(c.out);
  for (size_t i = 0; i < ra.size(); ++i) {
    for (size_t k = 0; k < 3; ++k)
      EXPECT_NEAR(ra[i]["logits"][k].get<double>(), rb[i]["logits"][k].get<double>(), 1e-5);
  }
  EXPECT_NE(a.out, c.out);
}

struct BadInvocation {
  const char* name;
  std::string args;
  const char* message;
};

void PrintTo(const BadInvocation& p, std::ostream* os) { *os << "\"" << p.name << "\""; }

class CliErrors : public ::testing::TestWithParam<BadInvocation> {};

TEST_P(CliErrors, ExitTwoWithOneLine) {
  std::string dir = test::TempDir(std::string("cli_err_") + GetParam().name);
  test::WriteFile(dir + "/empty.pt", "");
  test::WriteFile(dir + "/rows.jsonl", "{\"input_ids\": [2, 5]}\n{\"input_ids\": [2,\n");
  test::WriteFile(dir + "/ok.jsonl", "{\"input_ids\": [2, 5]}\n");
  std::string args = GetParam().args;
  for (auto [from, to] : {std::pair<std::string, std::string>{"$FX", kFixtures}, {"$DIR", dir}}) {
    for (size_t at; (at = args.find(from)) != std::string::npos;) args.replace(at, from.size(), to);
  }
  auto r = test::RunCommand(kCli + " " + args, dir);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, StartsWith("synapse: "));
  EXPECT_THAT(r.err, HasSubstr(GetParam().message));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.out, "");
}

INSTANTIATE_TEST_SUITE_P(
    Usage, CliErrors,
    ::testing::Values(
        BadInvocation{"no_command", "frobnicate",
                      "[synapse.usage.402] unknown command \"frobnicate\" (commands: analyze, compare, gate, "
                      "inspect, merge, predict, tokenize, train, help)"},
        // No --model: the embedded default model, so the missing file is the data.
        BadInvocation{"missing_data_file", "predict --data x", "[synapse.data.201] x: cannot open for reading"},
        BadInvocation{"unknown_option", "inspect $FX/bert_traced.pt --colour", "unknown option --colour"},
        BadInvocation{"bad_int", "predict --model m --data d --seed x", "--seed: expected an integer"},
        BadInvocation{"zero_byte_model", "inspect $DIR/empty.pt", "[synapse.model.102]"},
        BadInvocation{"missing_model_file", "inspect $DIR/nope.pt", "[synapse.model.101]"},
        BadInvocation{"no_layers", "inspect $FX/no_layers.pt", "[synapse.model.104]"},
        // Hostile model files (docs/security.md), through the command a CI job runs.
        BadInvocation{"random_zip", "analyze --model $FX/not_torchscript.zip --data $DIR/ok.jsonl --out $DIR/r",
                      "[synapse.model.102]"},
        BadInvocation{"string_forward", "analyze --model $FX/string_input.pt --data $DIR/ok.jsonl --out $DIR/r",
                      "[synapse.model.103]"},
        BadInvocation{"list_layers", "analyze --model $FX/list_layers.pt --data $DIR/ok.jsonl --out $DIR/r",
                      "[synapse.model.105]"},
        BadInvocation{"reads_files", "predict --model $FX/reads_files.pt --data $DIR/ok.jsonl", "[synapse.model.109]"},
        BadInvocation{"forged_storage_size", "predict --model $FX/forged_storage_size.pt --data $DIR/ok.jsonl",
                      "its storage claims 8589934588 bytes"},
        // Refused by Synapse on LibTorch 1.13, by LibTorch's own unpickler on 2.x.
        BadInvocation{"forged_tensor_offset", "analyze --model $FX/forged_tensor_offset.pt --data $DIR/ok.jsonl",
                      "forged_tensor_offset.pt: "},
        BadInvocation{"bad_spec", "predict --model $FX/bert_traced.pt --data $DIR/ok.jsonl -i 1:melt:3",
                      "[synapse.spec.302] intervention \"1:melt:3\": unknown operation"},
        BadInvocation{"neuron_range", "predict --model $FX/bert_traced.pt --data $DIR/ok.jsonl -i 1:zero:32",
                      "[synapse.spec.305] neuron 32 is out of range"},
        BadInvocation{"malformed_row", "predict --model $FX/bert_traced.pt --data $DIR/rows.jsonl",
                      "[synapse.data.202] "},
        BadInvocation{"bad_pool", "predict --model $FX/bert_traced.pt --data $DIR/ok.jsonl --pool mean",
                      "--pool: expected first or last"}),
    [](const auto& info) { return std::string(info.param.name); });

// A 100-token BERT vocabulary (the fixture model's size) and text rows with names.
std::string WriteTextData(const std::string& dir) {
  std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  for (const char* w :
       {"win",   "a",    "free",  "cruise", "now",   "meeting", "at", "noon", "the",   "report", "is",    "attached",
        "click", "here", "money", "##s",    "##ing", "!",       ".",  ",",    "hello", "team",   "cheap", "pills"}) {
    vocab += std::string(w) + "\n";
  }
  test::WriteFile(dir + "/vocab.txt", vocab);
  test::WriteFile(dir + "/labels.json", R"(["ham", "hard_ham", "spam"])");
  test::WriteFile(
      dir + "/text.jsonl",
      "{\"text\": \"Win a FREE cruise now!!! Click here.\", \"label\": \"spam\"}\n"
      "{\"text\": \"Meeting at noon.\", \"label\": \"ham\"}\n"
      "{\"text\": \"Hello team, the report is attached. Cheap pills? No: money meetings\", \"label\": \"hard_ham\"}\n"
      "{\"text\": \"free money\", \"text_pair\": \"click here\", \"label\": 2}\n");
  return dir + "/text.jsonl";
}

TEST(Cli, PredictOnTextEqualsPredictOnItsTokens) {
  std::string dir = test::TempDir("cli_text");
  std::string text = WriteTextData(dir);
  std::string model = kFixtures + "/bert_traced.pt";
  auto tok = test::RunCommand(
      kCli + " tokenize --tokenizer " + dir + "/vocab.txt --data " + text + " --out " + dir + "/ids.jsonl", dir);
  ASSERT_EQ(tok.exit_code, 0) << tok.err;
  std::vector<json> ids = Lines(test::ReadFile(dir + "/ids.jsonl"));
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(ids[1]["input_ids"], json({2, 10, 11, 12, 23, 3}));  // [CLS] meeting at noon . [SEP]
  EXPECT_EQ(ids[3]["token_type_ids"], json({0, 0, 0, 0, 1, 1, 1}));

  auto from_text = test::RunCommand(kCli + " predict --model " + model + " --tokenizer " + dir + "/vocab.txt --data " +
                                        text + " --labels " + dir + "/labels.json --batch-size 3",
                                    dir);
  ASSERT_EQ(from_text.exit_code, 0) << from_text.err;
  auto from_ids =
      test::RunCommand(kCli + " predict --model " + model + " --data " + dir + "/ids.jsonl --batch-size 1", dir);
  ASSERT_EQ(from_ids.exit_code, 0) << from_ids.err;
  std::vector<json> a = Lines(from_text.out), b = Lines(from_ids.out);
  ASSERT_EQ(a.size(), 4u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["index"], i);
    EXPECT_EQ(a[i]["pred"], b[i]["pred"]);
    for (size_t c = 0; c < 3; ++c) EXPECT_NEAR(a[i]["logits"][c].get<double>(), b[i]["logits"][c].get<double>(), 1e-5);
    EXPECT_TRUE(a[i].contains("pred_label"));
  }
  EXPECT_EQ(a[0]["label"], "spam");
  EXPECT_THAT(from_text.err, HasSubstr("accuracy"));
}

TEST(Cli, TokenizeMatchesHuggingFaceOnEdgeCases) {
  std::string dir = test::TempDir("cli_tokenize_hf");
  const std::string ref_dir = SYNAPSE_TOKENIZER_REF_DIR;
  json texts = json::parse(std::ifstream(ref_dir + "/texts.json"))["texts"];
  std::map<size_t, std::vector<int64_t>> expected;
  std::ifstream in(ref_dir + "/reference.jsonl");
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    json r = json::parse(line);
    if (r["tokenizer"] == "uncased.json" && r["max_length"] == 512 && r.contains("text") &&
        r["text"].get<size_t>() + 20 >= texts.size()) {
      expected[r["text"].get<size_t>()] = r["ids"].get<std::vector<int64_t>>();
    }
  }
  ASSERT_EQ(expected.size(), 20u);
  std::ostringstream rows;
  for (const auto& [index, ids] : expected) rows << json{{"text", texts[index]}}.dump() << "\n";
  test::WriteFile(dir + "/rows.jsonl", rows.str());
  auto r =
      test::RunCommand(kCli + " tokenize --tokenizer " + ref_dir + "/uncased.json --data " + dir + "/rows.jsonl", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> got = Lines(r.out);
  size_t k = 0;
  for (const auto& [index, ids] : expected) EXPECT_EQ(got[k++]["input_ids"].get<std::vector<int64_t>>(), ids) << index;
}

TEST(Cli, TextErrors) {
  std::string dir = test::TempDir("cli_text_errors");
  std::string text = WriteTextData(dir);
  std::string model = kFixtures + "/bert_traced.pt";
  auto no_tok = test::RunCommand(kCli + " predict --model " + model + " --data " + text, dir);
  EXPECT_EQ(no_tok.exit_code, 2);
  EXPECT_THAT(no_tok.err, HasSubstr("has text rows: give the model's tokenizer with --tokenizer"));
  test::WriteFile(dir + "/bad.jsonl",
                  "{\"text\": \"a\", \"label\": \"ham\"}\n{\"text\": \"b\", \"label\": \"spma\"}\n");
  auto bad = test::RunCommand(kCli + " predict --model " + model + " --tokenizer " + dir + "/vocab.txt --data " + dir +
                                  "/bad.jsonl --labels " + dir + "/labels.json",
                              dir);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("[synapse.data.204] " + dir +
                                 "/bad.jsonl:2: label \"spma\" is not one of ham, hard_ham, spam"));
  auto names = test::RunCommand(
      kCli + " predict --model " + model + " --tokenizer " + dir + "/vocab.txt --data " + dir + "/bad.jsonl", dir);
  EXPECT_EQ(names.exit_code, 2);
  EXPECT_THAT(names.err, HasSubstr("give the class names with --labels"));
  test::WriteFile(dir + "/latin1.csv", "text,label\nok,0\ncaf\xe9,1\n");
  auto latin1 =
      test::RunCommand(kCli + " tokenize --tokenizer " + dir + "/vocab.txt --data " + dir + "/latin1.csv", dir);
  EXPECT_EQ(latin1.exit_code, 2);
  EXPECT_THAT(latin1.err, HasSubstr("[synapse.tokenizer.503] " + dir + "/latin1.csv:3: invalid UTF-8 at byte 3"));
  auto skipped = test::RunCommand(
      kCli + " tokenize --tokenizer " + dir + "/vocab.txt --data " + dir + "/latin1.csv --skip-bad-rows", dir);
  EXPECT_EQ(skipped.exit_code, 0) << skipped.err;
  EXPECT_EQ(Lines(skipped.out).size(), 1u);
  EXPECT_THAT(skipped.err, HasSubstr("skipped 1 more row(s)"));
  test::WriteFile(dir + "/bpe.json", R"({"model": {"type": "BPE", "vocab": {}, "merges": []},
                                         "pre_tokenizer": {"type": "UnicodeScripts"}})");
  auto bpe = test::RunCommand(kCli + " tokenize --tokenizer " + dir + "/bpe.json --data " + text, dir);
  EXPECT_EQ(bpe.exit_code, 2);
  EXPECT_THAT(bpe.err, HasSubstr("[synapse.tokenizer.502]"));
  EXPECT_THAT(bpe.err, HasSubstr("pre_tokenizer.type \"UnicodeScripts\" is not supported"));
}

TEST(Cli, TenMegabyteLines) {
  std::string dir = test::TempDir("cli_10mb");
  WriteTextData(dir);
  std::string big(10 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 7) big[i] = ' ';
  test::WriteFile(dir + "/big.jsonl", "{\"text\": \"" + big + "\", \"label\": \"spam\"}\n{\"text\": \"free money\"}\n");
  auto ok = test::RunCommand(kCli + " predict --model " + kFixtures + "/bert_traced.pt --tokenizer " + dir +
                                 "/vocab.txt --labels " + dir + "/labels.json --data " + dir + "/big.jsonl",
                             dir);
  ASSERT_EQ(ok.exit_code, 0) << ok.err.substr(0, 500);
  EXPECT_EQ(Lines(ok.out).size(), 2u);
  test::WriteFile(dir + "/bad.jsonl", "{\"text\": \"a\"}\n{\"text\": \"" + big + "\n");
  auto bad = test::RunCommand(kCli + " predict --model " + kFixtures + "/bert_traced.pt --tokenizer " + dir +
                                  "/vocab.txt --data " + dir + "/bad.jsonl",
                              dir);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("bad.jsonl:2: malformed JSON"));
  EXPECT_LT(bad.err.size(), 400u);
}

TEST(Cli, SkipBadRowsSkipsAndCounts) {
  std::string dir = test::TempDir("cli_skip");
  WriteTextData(dir);
  test::WriteFile(dir + "/mixed.jsonl",
                  "{\"text\": \"free money\", \"label\": \"spam\"}\n{oops\n"
                  "{\"text\": \"noon\", \"label\": \"spma\"}\n{\"text\": \"hello team\", \"label\": \"ham\"}\n");
  std::string cmd = kCli + " predict --model " + kFixtures + "/bert_traced.pt --tokenizer " + dir +
                    "/vocab.txt --labels " + dir + "/labels.json --data " + dir + "/mixed.jsonl";
  auto strict = test::RunCommand(cmd, dir);
  EXPECT_EQ(strict.exit_code, 2);
  auto lenient = test::RunCommand(cmd + " --skip-bad-rows", dir);
  ASSERT_EQ(lenient.exit_code, 0) << lenient.err;
  EXPECT_EQ(Lines(lenient.out).size(), 2u);
  EXPECT_THAT(lenient.err, HasSubstr("skipped 1 malformed row(s)"));
  EXPECT_THAT(lenient.err, HasSubstr("mixed.jsonl:2: malformed JSON"));
  EXPECT_THAT(lenient.err, HasSubstr("skipped 1 more row(s) with unknown labels"));
  EXPECT_THAT(lenient.err, HasSubstr("2 rows [ham: 1, spam: 1]"));
}

TEST(Cli, FloatRowOfTheWrongShapeNamesItsLine) {
  std::string dir = test::TempDir("cli_float_shape");
  std::string good = "[" + std::string("0.5,") + "0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]";
  test::WriteFile(dir + "/rows.jsonl", "{\"features\": " + good + "}\n\n{\"features\": [1, 2, 3, 4, 5]}\n");
  auto r = test::RunCommand(
      kCli + " predict --model " + kFixtures + "/tabular_traced.pt --input-shape 16 --data " + dir + "/rows.jsonl",
      dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err,
              HasSubstr("[synapse.data.206] " + dir + "/rows.jsonl:3: features of shape [5], the model expects [16]"));
  test::WriteFile(dir + "/good.jsonl", "{\"features\": " + good + "}\n{\"features\": " + good + "}\n");
  auto ok = test::RunCommand(
      kCli + " predict --model " + kFixtures + "/tabular_traced.pt --input-shape 16 --data " + dir + "/good.jsonl",
      dir);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(Lines(ok.out).size(), 2u);
}

TEST(Cli, HelpExitsZeroAndDocumentsTheGrammar) {
  std::string dir = test::TempDir("cli_help");
  auto r = test::RunCommand(kCli + " predict --help", dir);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("SITE:OP[=ARG]:NEURONS[:POSITIONS]"));
  EXPECT_THAT(r.out, HasSubstr("-i, --intervene SPEC"));
}

}  // namespace
}  // namespace synapse
