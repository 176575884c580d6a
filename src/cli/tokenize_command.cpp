// synapse tokenize: the ids a model would be fed, one JSONL row per input row.
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "args.h"
#include "commands.h"
#include "rows.h"
#include "util/atomic_file.h"

namespace synapse::cli {

int TokenizeCommand(int argc, char** argv) {
  RowSource source;
  std::string out_path;
  bool cased = false;
  ArgParser p("synapse tokenize", "Tokenize text rows exactly as Hugging Face tokenizers would.");
  p.Option("--tokenizer", "T", "tokenizer.json or vocab.txt", &source.tokenizer, true);
  p.Option("--data", "D", "JSONL rows with \"text\" (and optional \"text_pair\")", &source.data, true);
  p.Option("--max-length", "N", "truncate to N tokens, special tokens included (default: the tokenizer's, else 512)",
           &source.max_length);
  p.Flag("--no-lowercase", "vocab.txt only: keep case and accents (cased models)", &cased);
  p.Option("--out", "FILE", "write JSONL here (default: stdout)", &out_path);
  int64_t seed = 0;
  AddDataOptions(&p, &source);
  p.Option("--seed", "N", "seed of --max-examples sampling (default 0)", &seed);
  p.Epilog("Output rows: {\"index\", \"input_ids\", \"attention_mask\", \"token_type_ids\"}, in input order.\n");
  if (!p.Parse(argc, argv)) {
    std::cout << p.Help();
    return 0;
  }
  source.lowercase = !cased;
  source.needs_labels = false;
  source.seed = static_cast<uint64_t>(seed);
  Dataset loaded = LoadRows(source);
  std::ostringstream out;
  for (size_t i = 0; i < loaded.rows.size(); ++i) {
    const Example& e = loaded.rows[i].example;
    nlohmann::ordered_json row;
    row["index"] = i;
    row["input_ids"] = e.input_ids;
    row["attention_mask"] = e.attention_mask.empty() ? std::vector<int64_t>(e.input_ids.size(), 1) : e.attention_mask;
    row["token_type_ids"] = e.token_type_ids.empty() ? std::vector<int64_t>(e.input_ids.size(), 0) : e.token_type_ids;
    out << row.dump() << "\n";
  }
  if (out_path.empty()) {
    std::cout << out.str();
  } else {
    WriteFileAtomically(out_path, out.str());
    std::cerr << "synapse: " << loaded.rows.size() << " rows tokenized; wrote " << out_path << "\n";
  }
  return 0;
}

}  // namespace synapse::cli
