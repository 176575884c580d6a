// Tokenization throughput on the SpamAssassin corpus (every raw message), with the
// tokenizer.json that tests/tokenizer_parity/make_reference.js trained. Reports bytes/s.
// bench/tokenizer_throughput.sh runs this next to Hugging Face's Rust tokenizer (Node
// binding) on the same texts and prints the ratio.
#include <benchmark/benchmark.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "synapse/tokenizer.h"

namespace {

const std::vector<std::string>& Texts() {
  static const std::vector<std::string> texts = [] {
    auto j = nlohmann::json::parse(std::ifstream(std::string(SYNAPSE_TOKENIZER_REF_DIR) + "/texts.json"));
    return j["texts"].get<std::vector<std::string>>();
  }();
  return texts;
}

void BM_EncodeCorpus(benchmark::State& state) {
  auto tok = synapse::Tokenizer::Load(std::string(SYNAPSE_TOKENIZER_REF_DIR) + "/uncased.json",
                                      synapse::TokenizerOptions().max_length(1 << 30));
  int64_t bytes = 0, tokens = 0;
  for (const auto& t : Texts()) bytes += static_cast<int64_t>(t.size());
  for (auto _ : state) {
    for (const auto& t : Texts()) tokens += static_cast<int64_t>(tok->Encode(t).input_ids.size());
  }
  state.SetBytesProcessed(bytes * state.iterations());
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_EncodeCorpus)->Unit(benchmark::kMillisecond)->MinTime(5);

// The other tokenizer.json kinds (tests/tokenizer_parity/make_reference_more.js), on the
// same messages, untruncated.
const std::vector<std::string>& KindTexts() {
  static const std::vector<std::string> texts = [] {
    auto j = nlohmann::json::parse(std::ifstream(std::string(SYNAPSE_TOKENIZER_REF_DIR) + "/kinds/texts.json"));
    return j["texts"].get<std::vector<std::string>>();
  }();
  return texts;
}

void BM_EncodeKind(benchmark::State& state, const std::string& file) {
  auto tok = synapse::Tokenizer::Load(std::string(SYNAPSE_TOKENIZER_REF_DIR) + "/kinds/" + file,
                                      synapse::TokenizerOptions().max_length(1 << 30));
  int64_t bytes = 0, tokens = 0;
  for (const auto& t : KindTexts()) bytes += static_cast<int64_t>(t.size());
  for (auto _ : state) {
    for (const auto& t : KindTexts()) tokens += static_cast<int64_t>(tok->Encode(t).input_ids.size());
  }
  state.SetBytesProcessed(bytes * state.iterations());
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}

BENCHMARK_CAPTURE(BM_EncodeKind, roberta_bpe, std::string("roberta_bpe.json"))
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3);
BENCHMARK_CAPTURE(BM_EncodeKind, metaspace_bpe, std::string("metaspace_bpe.json"))
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3);
BENCHMARK_CAPTURE(BM_EncodeKind, unigram_precompiled, std::string("unigram_precompiled.json"))
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3);
BENCHMARK_CAPTURE(BM_EncodeKind, wordlevel, std::string("wordlevel.json"))->Unit(benchmark::kMillisecond)->MinTime(3);

}  // namespace

BENCHMARK_MAIN();
