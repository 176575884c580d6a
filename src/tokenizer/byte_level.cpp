// bytes_to_unicode (GPT-2): printable Latin-1 bytes stand for themselves, the others are
// shifted to U+0100 onwards in byte order.
#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/bert_text.h"

namespace synapse {
namespace {

std::array<std::string, 256> MakeTable() {
  std::array<std::string, 256> table;
  int shifted = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    AppendUtf8(printable ? b : 256 + shifted++, &table[static_cast<size_t>(b)]);
  }
  return table;
}

}  // namespace

std::string ToByteLevel(const std::string& text) {
  static const std::array<std::string, 256> table = MakeTable();
  std::string out;
  out.reserve(text.size() * 2);
  for (char c : text) out += table[static_cast<unsigned char>(c)];
  return out;
}

}  // namespace synapse
