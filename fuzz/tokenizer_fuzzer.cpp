// Tokenizer::Load on a tokenizer.json (or vocab.txt), then Encode on texts and pairs. The
// input is FILE \0 TEXT [\0 PAIR]: the loader and the encoder are both fuzzed.
#include <optional>

#include "fuzz_input.h"
#include "synapse/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t cut = input.find('\0');
  const std::string file = input.substr(0, cut);
  std::string text = cut == std::string::npos ? "Win a FREE cruise now!!!" : input.substr(cut + 1);
  std::optional<std::string> pair;
  if (const size_t second = text.find('\0'); second != std::string::npos) {
    pair = text.substr(second + 1);
    text.resize(second);
  }
  const bool json = !file.empty() && file.find_first_not_of(" \t\r\n") != std::string::npos &&
                    file[file.find_first_not_of(" \t\r\n")] == '{';
  const std::string path = synapse::fuzz::WriteInput(json ? "tokenizer.json" : "vocab.txt",
                                                     reinterpret_cast<const uint8_t*>(file.data()), file.size());
  synapse::fuzz::ExpectCleanErrors([&] {
    auto tokenizer = synapse::Tokenizer::Load(path, synapse::TokenizerOptions().max_length(64));
    synapse::fuzz::ExpectCleanErrors([&] { tokenizer->Encode(text, pair); });
    synapse::fuzz::ExpectCleanErrors([&] { tokenizer->Encode(text); });
  });
  return 0;
}
