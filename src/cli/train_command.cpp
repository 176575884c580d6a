// synapse train: a WordPiece vocabulary and a BERT-style classifier trained from scratch on
// labelled text, written as a model directory that every other command reads.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "args.h"
#include "data/batching.h"
#include "commands.h"
#include "util/number_text.h"
#include "util/atomic_file.h"
#include "synapse/classification_metrics.h"
#include "synapse/dataset.h"
#include "synapse/error.h"
#include "synapse/model.h"
#include "synapse/tokenizer.h"
#include "synapse/training.h"
#include "synapse/wordpiece_trainer.h"

namespace synapse::cli {
namespace {

using json = nlohmann::ordered_json;

constexpr const char* kEpilog =
    "Rows are JSONL {\"text\": \"...\", \"label\": \"spam\"} (or CSV/TSV with --text-column/--label-column).\n"
    "Trains a WordPiece vocabulary on the training texts, then the encoder (AdamW, warm-up and\n"
    "linear decay, early stopping on the validation loss), and scores the saved model on --test\n"
    "with Synapse's own engine. Writes into DIR:\n"
    "  model.pt        TorchScript; forward(input_ids, attention_mask) -> logits\n"
    "  tokenizer.json  Hugging Face format (max length --max-length)\n"
    "  labels.json     class names, index = class id\n"
    "  eval.jsonl      the --test rows (text and label), the model's default evaluation set\n"
    "  training.json   configuration, per-epoch log, test metrics, command line\n"
    "  MODEL_CARD.md   what the model is, its data, per-class precision/recall/F1 with intervals\n"
    "Seeded: the same data, options and thread count give the same model.\n"
    "Exit 0 on success, 2 on bad input, 3 on an internal error.\n";

struct Split {
  std::string path;
  std::vector<DataRow> rows;
  std::vector<std::string> names;
  LabelledExamples set;
};

// A training split: raw text rows, every one labelled with one of `names` (empty: the
// names come from --labels, a file or a list "ham,spam", else from the rows' name labels).
Split LoadSplit(const std::string& path, const ReadOptions& read, const std::string& labels_option,
                const std::vector<std::string>& names) {
  DatasetSpec spec = DatasetSpec()
                         .data(path)
                         .read(read)
                         .keep_text(true)
                         .label_use(LabelUse::kRequired)
                         .class_names(names)
                         .class_names_from_rows(true)
                         .labels_hint("--labels ham,spam");
  if (names.empty() && !labels_option.empty()) {
    if (labels_option.find(',') != std::string::npos || access(labels_option.c_str(), R_OK) != 0) {
      std::vector<std::string> listed;
      std::stringstream s(labels_option);
      for (std::string name; std::getline(s, name, ',');) {
        if (name.empty()) throw UsageError(401, "--labels: empty class name in \"" + labels_option + "\"");
        listed.push_back(name);
      }
      spec.class_names(listed);
    } else {
      spec.labels(labels_option);
    }
  }
  Split s;
  s.path = path;
  Dataset d = LoadDataset(spec);
  s.rows = std::move(d.rows);
  s.names = std::move(d.class_names);
  return s;
}

void Encode(const Tokenizer& tokenizer, Split* split) {
  TokenizeRows(split->path, tokenizer, &split->rows);
  for (const DataRow& r : split->rows) {
    split->set.examples.push_back(r.example);
    split->set.labels.push_back(r.label_index);
  }
}

json IntervalJson(const Interval& i) { return json::array({i.low, i.high}); }

json MetricsJson(const ClassificationMetrics& m, const std::vector<std::string>& names) {
  json classes = json::object();
  for (size_t c = 0; c < m.classes.size(); ++c) {
    const ClassMetrics& cm = m.classes[c];
    auto number = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
    classes[names[c]] = {{"support", cm.support},
                         {"predicted", cm.predicted},
                         {"precision", number(cm.precision)},
                         {"precision_interval", IntervalJson(cm.precision_interval)},
                         {"recall", number(cm.recall)},
                         {"recall_interval", IntervalJson(cm.recall_interval)},
                         {"f1", number(cm.f1)},
                         {"f1_interval", IntervalJson(cm.f1_interval)}};
  }
  return {{"n", m.n},
          {"accuracy", m.accuracy},
          {"accuracy_interval", IntervalJson(m.accuracy_interval)},
          {"macro_f1", m.macro_f1},
          {"classes", classes},
          {"confusion", m.confusion}};
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(201, path + ": cannot open the model card introduction");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Interval3(const Interval& i) { return "[" + Fixed(i.low) + ", " + Fixed(i.high) + "]"; }

// "0.950 [0.921, 0.969]", or "n/a" alone where the value is undefined (a class never predicted).
std::string ValueAndInterval(double v, const Interval& i) {
  return std::isfinite(v) ? Fixed(v) + " " + Interval3(i) : "n/a";
}

std::string ModelCard(const std::string& intro, const json& record, const ClassificationMetrics& test,
                      const std::vector<std::string>& names) {
  std::ostringstream md;
  md << intro;
  if (!intro.empty() && intro.back() != '\n') md << "\n";
  const json& model = record["model"];
  const json& tok = record["tokenizer"];
  const json& tr = record["training"];
  md << "\n## Model\n\n"
     << "A BERT-style encoder classifier trained from scratch by `synapse train` (C++/LibTorch "
     << record["runtime"]["libtorch_version"].get<std::string>() << "), saved as a scripted TorchScript module.\n\n"
     << "| | |\n|---|---|\n"
     << "| layers | " << model["layers"] << " (`encoder.layer.0` … `encoder.layer."
     << model["layers"].get<int64_t>() - 1 << "`) |\n"
     << "| hidden size, heads, feed-forward | " << model["hidden"] << ", " << model["heads"] << ", "
     << model["intermediate"] << " |\n"
     << "| parameters | " << record["result"]["parameter_count"] << " |\n"
     << "| input | `forward(input_ids, attention_mask)`, at most " << model["max_positions"] << " tokens |\n"
     << "| output | logits over " << names.size() << " classes (`labels.json`): ";
  for (size_t c = 0; c < names.size(); ++c) md << (c ? ", " : "") << "`" << names[c] << "`";
  md << " |\n"
     << "| tokenizer | WordPiece, " << tok["vocab_size"] << " tokens, uncased, trained on the training split "
     << "(`tokenizer.json`, Hugging Face format) |\n"
     << "\n## Training\n\n"
     << "AdamW (learning rate " << tr["learning_rate"] << ", weight decay " << tr["weight_decay"]
     << " on weight matrices), " << tr["warmup_fraction"] << " of the steps warm-up then linear decay, batches of "
     << tr["batch_size"] << ", dropout " << model["dropout"] << ", gradient norm clipped at 1, seed " << tr["seed"]
     << ", " << record["runtime"]["threads"] << " thread(s). Early stopping on the validation loss (patience "
     << tr["patience"] << "): epoch " << record["result"]["best_epoch"] << " of " << record["result"]["epochs"].size()
     << " run was kept. Training took " << Fixed(record["result"]["seconds"].get<double>() / 60.0, 1) << " min.\n\n"
     << "| epoch | train loss | validation loss | validation accuracy | seconds |\n|---|---|---|---|---|\n";
  for (const json& e : record["result"]["epochs"]) {
    md << "| " << e["epoch"] << " | " << Fixed(e["train_loss"].get<double>(), 4) << " | "
       << Fixed(e["validation_loss"].get<double>(), 4) << " | " << Fixed(e["validation_accuracy"].get<double>())
       << " | " << Fixed(e["seconds"].get<double>(), 0) << " |\n";
  }
  md << "\n## Data\n\n| split | rows | ";
  for (const std::string& n : names) md << n << " | ";
  md << "\n|---|---|";
  for (size_t c = 0; c < names.size(); ++c) md << "---|";
  md << "\n";
  for (const char* split : {"train", "validation", "test"}) {
    if (!record["data"].contains(split)) continue;
    const json& d = record["data"][split];
    md << "| " << split << " | " << d["rows"] << " | ";
    for (const std::string& n : names) md << d["classes"].value(n, 0) << " | ";
    md << "\n";
  }
  md << "\n## Test results\n\n"
     << "On the " << test.n << " test messages (`eval.jsonl`), scored by Synapse's engine on the saved `model.pt`: "
     << "accuracy **" << Fixed(test.accuracy) << "** " << Interval3(test.accuracy_interval) << ", macro-F1 "
     << Fixed(test.macro_f1) << ". Intervals are 95%: Wilson for precision and recall, "
     << "a percentile bootstrap (2,000 resamples) for F1.\n\n"
     << "| class | support | precision | recall | F1 |\n|---|---|---|---|---|\n";
  for (size_t c = 0; c < names.size(); ++c) {
    const ClassMetrics& cm = test.classes[c];
    md << "| " << names[c] << " | " << cm.support << " | " << ValueAndInterval(cm.precision, cm.precision_interval)
       << " | " << ValueAndInterval(cm.recall, cm.recall_interval) << " | " << ValueAndInterval(cm.f1, cm.f1_interval)
       << " |\n";
  }
  md << "\nConfusion matrix (rows: true class, columns: predicted):\n\n| | ";
  for (const std::string& n : names) md << n << " | ";
  md << "\n|---|";
  for (size_t c = 0; c < names.size(); ++c) md << "---|";
  md << "\n";
  for (size_t c = 0; c < names.size(); ++c) {
    md << "| " << names[c] << " | ";
    for (int64_t v : test.confusion[c]) md << v << " | ";
    md << "\n";
  }
  md << "\n## Reproducing\n\nThe exact command (also in `training.json`):\n\n```\n"
     << record["command"].get<std::string>() << "\n```\n";
  return md.str();
}

// The command line of `synapse train`.
struct TrainParams {
  std::string train_path, validation_path, test_path, out_dir, labels_option, card_intro;
  std::string text_column = "text", label_column = "label";
  int64_t vocab_size = 4096, min_frequency = 2, max_length = 128, threads = 0;
  int64_t layers = 4, hidden = 128, heads = 4, intermediate = 256, epochs = 12, patience = 3, batch_size = 32,
          seed = 2026;
  std::string dropout = "0.1", learning_rate = "1e-3", warmup = "0.1", weight_decay = "0.01";
  std::string command;  // as typed, for training.json and the model card
};

// False for --help (printed).
bool ParseTrainFlags(int argc, char** argv, TrainParams* t) {
  ArgParser p("synapse train", "Train a WordPiece tokenizer and a BERT-style classifier from labelled text.");
  p.Option("--train", "F", "training rows", &t->train_path, true);
  p.Option("--validation", "F", "validation rows (early stopping)", &t->validation_path, true);
  p.Option("--test", "F", "held-out rows: scored, and copied to DIR/eval.jsonl", &t->test_path);
  p.Option("--out", "DIR", "the model directory to write", &t->out_dir, true);
  p.Option("--labels", "L", "class names: a labels.json or a list ham,spam (default: the training labels, sorted)",
           &t->labels_option);
  p.Option("--text-column", "NAME", "CSV/TSV: column with the text (default text)", &t->text_column);
  p.Option("--label-column", "NAME", "CSV/TSV: column with the label (default label)", &t->label_column);
  p.Option("--vocab-size", "N", "WordPiece vocabulary size, special tokens included (default 4096)", &t->vocab_size);
  p.Option("--min-frequency", "N", "a merge needs a pair seen N times (default 2)", &t->min_frequency);
  p.Option("--max-length", "N", "tokens per text, [CLS] and [SEP] included (default 128)", &t->max_length);
  p.Option("--layers", "N", "encoder layers (default 4)", &t->layers);
  p.Option("--hidden", "N", "hidden size (default 128)", &t->hidden);
  p.Option("--heads", "N", "attention heads (default 4)", &t->heads);
  p.Option("--intermediate", "N", "feed-forward width (default 256)", &t->intermediate);
  p.Option("--dropout", "P", "dropout probability (default 0.1)", &t->dropout);
  p.Option("--epochs", "N", "most epochs (default 12)", &t->epochs);
  p.Option("--patience", "N", "stop after N epochs without a better validation loss (default 3)", &t->patience);
  p.Option("--batch-size", "N", "training batch size (default 32)", &t->batch_size);
  p.Option("--lr", "R", "peak learning rate (default 1e-3)", &t->learning_rate);
  p.Option("--warmup", "F", "fraction of steps spent warming up (default 0.1)", &t->warmup);
  p.Option("--weight-decay", "W", "AdamW weight decay on matrices (default 0.01)", &t->weight_decay);
  p.Option("--seed", "S", "seeds weights, dropout and batch order (default 2026)", &t->seed);
  p.Option("--threads", "N", "threads (default: all cores)", &t->threads);
  p.Option("--card-intro", "F", "Markdown placed at the top of MODEL_CARD.md (what the data is, its licence)",
           &t->card_intro);
  p.Epilog(kEpilog);
  if (!p.Parse(argc, argv)) {
    std::cout << p.Help();
    return false;
  }
  t->command = "synapse";
  for (int i = 1; i < argc; ++i) t->command += std::string(" ") + argv[i];
  return true;
}

// training.json without the test metrics: the command, runtime, configuration, epochs and data.
json TrainingRecord(const TrainParams& t, const RuntimeInfo& runtime, const EncoderConfig& config,
                    const TrainingOptions& options, size_t vocab_size, const TrainingResult& result,
                    const std::vector<const Split*>& splits, const std::vector<std::string>& names) {
  json record;
  record["command"] = t.command;
  record["runtime"] = {{"threads", runtime.threads}, {"libtorch_version", runtime.libtorch_version}};
  record["model"] = {{"layers", t.layers},
                     {"hidden", t.hidden},
                     {"heads", t.heads},
                     {"intermediate", t.intermediate},
                     {"max_positions", t.max_length},
                     {"dropout", config.dropout()}};
  record["tokenizer"] = {{"vocab_size", vocab_size}, {"min_frequency", t.min_frequency}, {"max_length", t.max_length}};
  record["training"] = {{"epochs", t.epochs},
                        {"patience", t.patience},
                        {"batch_size", t.batch_size},
                        {"learning_rate", options.learning_rate()},
                        {"warmup_fraction", options.warmup_fraction()},
                        {"weight_decay", options.weight_decay()},
                        {"seed", t.seed}};
  json epochs_json = json::array();
  for (const EpochRecord& e : result.epochs) {
    epochs_json.push_back({{"epoch", e.epoch},
                           {"train_loss", e.train_loss},
                           {"validation_loss", e.validation_loss},
                           {"validation_accuracy", e.validation_accuracy},
                           {"seconds", e.seconds}});
  }
  record["result"] = {{"best_epoch", result.best_epoch},
                      {"parameter_count", result.parameter_count},
                      {"seconds", result.seconds},
                      {"epochs", epochs_json}};
  json data = json::object();
  const char* split_names[] = {"train", "validation", "test"};
  for (size_t i = 0; i < splits.size(); ++i) {
    const Split* s = splits[i];
    if (s->path.empty()) continue;
    json classes = json::object();
    for (const std::string& n : names) classes[n] = 0;
    for (int64_t y : s->set.labels) {
      json& count = classes[names[static_cast<size_t>(y)]];
      count = count.get<int64_t>() + 1;
    }
    data[split_names[i]] = {{"path", s->path}, {"rows", s->rows.size()}, {"classes", classes}};
  }
  record["data"] = data;
  return record;
}

// The saved model's predictions on `set`, by the engine every other command uses.
std::vector<int64_t> PredictSaved(const std::string& model_path, const LabelledExamples& set, int64_t pad_id) {
  Model model = Model::Load(model_path);
  std::vector<int64_t> predictions(set.examples.size());
  for (const std::vector<int64_t>& batch : LengthSortedBatches(set.examples, 64)) {
    const RunResult run = model.Run(Gather(set.examples, batch), {}, RunOptions().pad_id(pad_id));
    const auto& logits = run.logits;
    for (size_t i = 0; i < batch.size(); ++i) {
      int64_t best = 0;
      for (int64_t c = 1; c < logits.cols(); ++c) {
        if (logits(static_cast<int64_t>(i), c) > logits(static_cast<int64_t>(i), best)) best = c;
      }
      predictions[static_cast<size_t>(batch[i])] = best;
    }
  }
  return predictions;
}

// Scores the saved model on the test split, writes eval.jsonl and MODEL_CARD.md, adds the
// metrics to `record` and prints them.
void ScoreTestSplit(const TrainParams& t, const Split& test, const std::vector<std::string>& names, int64_t pad_id,
                    json* record) {
  const std::vector<int64_t> predictions = PredictSaved(t.out_dir + "/model.pt", test.set, pad_id);
  const ClassificationMetrics metrics =
      MeasureClassification(test.set.labels, predictions, static_cast<int64_t>(names.size()),
                            ClassificationMetricsOptions().seed(static_cast<uint64_t>(t.seed)));
  (*record)["test"] = MetricsJson(metrics, names);
  std::ostringstream eval;
  for (const DataRow& r : test.rows) {
    eval << json({{"text", *r.text}, {"label", names[static_cast<size_t>(r.label_index)]}}).dump() << "\n";
  }
  WriteFileAtomically(t.out_dir + "/eval.jsonl", eval.str());
  const std::string intro = t.card_intro.empty() ? std::string() : ReadText(t.card_intro);
  WriteFileAtomically(t.out_dir + "/MODEL_CARD.md", ModelCard(intro, *record, metrics, names));
  std::cout << "test accuracy " << Fixed(metrics.accuracy) << " " << Interval3(metrics.accuracy_interval) << " on "
            << metrics.n << " rows;";
  for (size_t c = 0; c < names.size(); ++c) {
    std::cout << " " << names[c] << " recall " << Fixed(metrics.classes[c].recall);
  }
  std::cout << "\n";
}

}  // namespace

int TrainCommand(int argc, char** argv) {
  TrainParams t;
  if (!ParseTrainFlags(argc, argv, &t)) return 0;
  const EncoderConfig config = EncoderConfig()
                                   .layers(t.layers)
                                   .hidden(t.hidden)
                                   .heads(t.heads)
                                   .intermediate(t.intermediate)
                                   .max_positions(t.max_length)
                                   .dropout(ParseNumber(t.dropout, "--dropout"));
  const TrainingOptions options = TrainingOptions()
                                      .epochs(t.epochs)
                                      .patience(t.patience)
                                      .batch_size(t.batch_size)
                                      .learning_rate(ParseNumber(t.learning_rate, "--lr"))
                                      .warmup_fraction(ParseNumber(t.warmup, "--warmup"))
                                      .weight_decay(ParseNumber(t.weight_decay, "--weight-decay"))
                                      .seed(static_cast<uint64_t>(t.seed));
  if (!t.card_intro.empty()) ReadText(t.card_intro);  // a missing file fails before hours of training
  const RuntimeInfo runtime = SetUpRuntime(t.threads);
  const auto started = std::chrono::steady_clock::now();

  const ReadOptions read = ReadOptions().text_column(t.text_column).label_column(t.label_column);
  Split train = LoadSplit(t.train_path, read, t.labels_option, {});
  const std::vector<std::string> names = train.names;
  if (names.size() < 2) {
    throw UsageError(401, t.train_path + ": needs at least 2 classes, found " + std::to_string(names.size()));
  }
  Split validation = LoadSplit(t.validation_path, read, t.labels_option, names);
  Split test;
  if (!t.test_path.empty()) test = LoadSplit(t.test_path, read, t.labels_option, names);
  MakeDirectories(t.out_dir);
  std::cerr << "synapse train: " << train.rows.size() << " training, " << validation.rows.size() << " validation"
            << (t.test_path.empty() ? "" : ", " + std::to_string(test.rows.size()) + " test") << " rows; classes";
  for (const std::string& n : names) std::cerr << " " << n;
  std::cerr << "\n";

  std::vector<std::string> texts;
  for (const DataRow& r : train.rows) texts.push_back(*r.text);
  const WordPieceVocabulary vocabulary = TrainWordPiece(
      texts,
      WordPieceTrainerOptions().vocab_size(t.vocab_size).min_frequency(t.min_frequency).max_length(t.max_length));
  const std::string tokenizer_path = t.out_dir + "/tokenizer.json";
  SaveTokenizerJson(vocabulary, tokenizer_path);
  const auto tokenizer = Tokenizer::Load(tokenizer_path);
  std::cerr << "synapse train: WordPiece vocabulary of " << vocabulary.tokens.size() << " tokens ("
            << Fixed(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), 1) << " s)\n";
  for (Split* s : {&train, &validation, &test}) {
    if (!s->path.empty()) Encode(*tokenizer, s);
  }

  const TrainingResult result = TrainEncoderClassifier(
      config, static_cast<int64_t>(vocabulary.tokens.size()), static_cast<int64_t>(names.size()), train.set,
      validation.set, options, t.out_dir + "/model.pt", [&](const EpochRecord& e) {
        std::cerr << "epoch " << std::setw(2) << e.epoch << ": train loss " << Fixed(e.train_loss, 4)
                  << ", validation loss " << Fixed(e.validation_loss, 4) << ", accuracy "
                  << Fixed(e.validation_accuracy) << " (" << Fixed(e.seconds, 0) << " s)\n";
      });
  json record = TrainingRecord(t, runtime, config, options, vocabulary.tokens.size(), result,
                               {&train, &validation, &test}, names);
  WriteFileAtomically(t.out_dir + "/labels.json", json(names).dump() + "\n");
  if (!t.test_path.empty()) ScoreTestSplit(t, test, names, tokenizer->pad_id(), &record);
  WriteFileAtomically(t.out_dir + "/training.json", record.dump(2) + "\n");
  std::cout << "wrote " << t.out_dir << " (best epoch " << result.best_epoch << " of " << result.epochs.size() << ", "
            << Fixed(result.seconds / 60.0, 1) << " min)\n";
  return 0;
}

}  // namespace synapse::cli
